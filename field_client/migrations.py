"""The device database's numbered migrations (sqlite-utils Migrations), and the schema version
a current file carries, so opening one skips them."""

from __future__ import annotations

import functools
import json

import sqlite_utils
from sqlite_utils.migrations import Migrations

from field_client.outbox import PENDING, dumps
from field_client.phones import PHONE_KEY, checkin_phone, new_key
from shared import protocol as p
from shared.merge import STAMPS

migrations = Migrations("tianjian-field")

# What a pulled review carries (protocol kind REVIEW), in the order of the table's columns.
REVIEW_COLUMNS = ("id", "record_kind", "record_id", "status", "note", "reviewed_at")


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


@migrations()
def m003_reviews(db: sqlite_utils.Database) -> None:
    """The bureau's present review of each of this envoy's records, pulled from the server.

    One row per record (a newer review of it replaces the old). A client before this one kept
    pulled reviews among its reference rows, where nothing read them: they move here."""
    db.table("reviews").create(
        {
            "id": str,
            "record_kind": str,
            "record_id": str,
            "status": str,
            "note": str,
            "reviewed_at": str,
        },
        pk="id",
    )
    db.table("reviews").create_index(["record_kind", "record_id"], unique=True)
    db.table("reviews").create_index(["status"])
    for (data,) in db.execute("SELECT data FROM reference WHERE kind = 'review'").fetchall():
        review = json.loads(data)
        db.execute(
            "INSERT OR REPLACE INTO reviews (id, record_kind, record_id, status, note, "
            "reviewed_at) VALUES (?, ?, ?, ?, ?, ?)",
            [review.get(name) for name in REVIEW_COLUMNS],
        )
    db.execute("DELETE FROM reference WHERE kind = 'review'")


@migrations()
def m004_records_envoy(db: sqlite_utils.Database) -> None:
    """Each record's envoy as a column, indexed with its kind and tombstone: the report sent
    with every sync counts the live records of the device's own envoy from the index alone
    (field_client/holdings.py), where reading them took most of a second on 100,000 records."""
    db.execute("ALTER TABLE records ADD COLUMN envoy_id TEXT")
    db.execute("UPDATE records SET envoy_id = json_extract(data, '$.envoy_id')")
    db.execute("CREATE INDEX idx_records_envoy ON records (envoy_id, kind, deleted)")


@migrations()
def m005_checkin_phone_field(db: sqlite_utils.Database) -> None:
    """Check-ins farmers made from their phones before `phone` was a synced field: those not
    sent yet take their phone's hash up with them (their create in the outbox gains it, stamped
    as the create). Those already sent keep it on this device only (checkin_phones)."""
    if not db["checkin_phones"].exists():
        return
    row = db.execute("SELECT value FROM meta WHERE key = ?", [PHONE_KEY]).fetchone()
    key = row[0] if row else new_key()
    if not row:
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [PHONE_KEY, key])
    waiting = db.execute(
        "SELECT o.seq, o.fields, o.stamp, r.data, c.phone_hash FROM checkin_phones c "
        "JOIN outbox o ON o.kind = ? AND o.id = c.attendance_id AND o.is_create = 1 "
        "AND o.state = ? JOIN records r ON r.kind = o.kind AND r.id = o.id",
        [p.ATTENDANCE, PENDING],
    ).fetchall()
    for seq, fields, stamp, data, kept in waiting:
        phone = checkin_phone(key, kept)
        values, state = json.loads(fields), json.loads(data)
        if "phone" in values or "phone" in state:
            continue
        values["phone"] = state["phone"] = phone
        state.setdefault(STAMPS, {})["phone"] = stamp
        db.execute("UPDATE outbox SET fields = ? WHERE seq = ?", [dumps(values), seq])
        db.execute(
            "UPDATE records SET data = ? WHERE kind = ? AND id = ?",
            [dumps(state), p.ATTENDANCE, state["id"]],
        )


@migrations()
def m007_web_sign_in(db: sqlite_utils.Database) -> None:
    """The envoy's PIN sign-in, kept on the device and never synced (issue 18): wrong PINs
    counted per client address (`pin_failures`), so one phone on the hotspot cannot lock the
    laptop's own screen out, and each open page session by the hash of its token
    (`web_sessions`), so signing out or changing the PIN ends it even if its cookie was kept."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS pin_failures (address TEXT PRIMARY KEY, "
        "failures INTEGER NOT NULL, wait_until REAL NOT NULL DEFAULT 0)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS web_sessions (token_hash TEXT PRIMARY KEY, "
        "created_at REAL NOT NULL)"
    )


@migrations()
def m008_photos(db: sqlite_utils.Database) -> None:
    """Photos taken on this device (issue 21). The photo record itself syncs like any record
    (kind `photo` in `records`, with its outbox entry); `photos` ties each one made here to
    its subject and its bytes, kept in the media folder beside this database by SHA-256, and
    `photo_uploads` says how much of each file the server holds: the upload resumes from there
    after a cut and stops for good once `complete`."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS photos (id TEXT PRIMARY KEY, subject_kind TEXT NOT NULL, "
        "subject_id TEXT NOT NULL, sha256 TEXT NOT NULL, added_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_photos_subject ON photos (subject_kind, subject_id)")
    db.execute("CREATE INDEX IF NOT EXISTS idx_photos_sha256 ON photos (sha256)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS photo_uploads (sha256 TEXT PRIMARY KEY, "
        "size_bytes INTEGER NOT NULL, sent INTEGER NOT NULL DEFAULT 0, "
        "complete INTEGER NOT NULL DEFAULT 0, error TEXT, updated_at TEXT)"
    )


@functools.cache
def schema_version() -> int:
    """PRAGMA user_version of a file whose schema is current: the number of migrations, so
    adding one makes every older file run its migrations once, on its next open."""
    return len(migrations.pending(sqlite_utils.Database(memory=True)))
