"""The device database's numbered migrations (sqlite-utils Migrations), and the schema version
a current file carries, so opening one skips them."""

from __future__ import annotations

import functools

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("tianjian-field")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("records").create(
        {"kind": str, "id": str, "data": str, "deleted": int, "hlc": str}, pk=("kind", "id")
    )
    db.table("outbox").create(
        {
            "seq": int,
            "kind": str,
            "id": str,
            "stamp": str,
            "base": str,
            "fields": str,
            "is_create": int,
            "state": str,
            "reason": str,
            "errors": str,
            "created_at": str,
        },
        pk="seq",
    )
    # No (kind, id) index: every settled batch deletes thousands of entries, and keeping a
    # randomly ordered index in step cost more than the few lookups by record it would serve.
    db.table("outbox").create_index(["state", "seq"])
    db.table("reference").create({"kind": str, "id": str, "data": str}, pk=("kind", "id"))
    db.table("aliases").create({"id": str, "canonical_id": str}, pk="id")


@migrations()
def m002_undone_checkins(db: sqlite_utils.Database) -> None:
    """Why the envoy undid a check-in, kept on the device beside the tombstone that syncs."""
    db.table("undone_checkins").create(
        {
            "seq": int,
            "attendance_id": str,
            "session_id": str,
            "farmer_id": str,
            "reason": str,
            "undone_at": str,
        },
        pk="seq",
    )
    db.table("undone_checkins").create_index(["session_id"])


@functools.cache
def schema_version() -> int:
    """PRAGMA user_version of a file whose schema is current: the number of migrations, so
    adding one makes every older file run its migrations once, on its next open."""
    return len(migrations.pending(sqlite_utils.Database(memory=True)))
