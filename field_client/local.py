"""What the device keeps for itself and never syncs: sign-in, check-in keys, cards, phones, form tokens."""

from __future__ import annotations

import secrets
import time
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from field_client.phones import cookie_hash
from field_client.store import FieldStore

# Its own migration set, beside the store's: none of these tables travels in a sync.
migrations = Migrations("tianjian-field-local")


@migrations()
def m001_local(db: sqlite_utils.Database) -> None:
    # One row per session the envoy prints a poster for: its typed code and its margin.
    db.table("checkin_sessions").create(
        {"session_id": str, "code": str, "margin_minutes": int, "created_at": str},
        pk="session_id",
    )
    db.table("checkin_sessions").create_index(["code"])
    # Printed farmer cards: a short random code, never the farmer's name or number.
    db.table("cards").create(
        {"code": str, "farmer_id": str, "issued_at": str, "revoked": int}, pk="code"
    )
    db.table("cards").create_index(["farmer_id"])
    # Phones that checked farmers in, by a hash of the cookie they carry (the cookie itself
    # is never stored): a returning phone is offered the farmers it checked in before.
    db.table("phone_farmers").create(
        {"phone_hash": str, "farmer_id": str, "first_at": str}, pk=("phone_hash", "farmer_id")
    )
    # One-time form tokens already used: a replayed form is recognised and does nothing.
    db.table("used_form_tokens").create({"token": str, "used_at": float}, pk="token")


@migrations()
def m002_farmer_mobile_index(db: sqlite_utils.Database) -> None:
    # Farmers checking in by typing their number (and the check that a new one is not already
    # registered) look a farmer up by mobile (FieldStore.farmers_with_mobile); without this
    # every look-up reads every farmer. Kind as a column too: then SQLite prefers this index
    # to the primary key's (kind, id) even with the kind bound as a parameter.
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_local_farmer_mobile "
        "ON records (json_extract(data, '$.mobile'), kind) WHERE kind = 'farmer'"
    )


@migrations()
def m003_checkin_phones(db: sqlite_utils.Database) -> None:
    # Which phone (by the hash of its cookie) made each qr_self check-in. Since the store's
    # migration m005 check-ins carry their own synced hash of it (`phone`, field_client/phones.py).
    db.table("checkin_phones").create(
        {"attendance_id": str, "session_id": str, "phone_hash": str, "at": str},
        pk="attendance_id",
    )
    db.table("checkin_phones").create_index(["session_id", "phone_hash"])


def prepare(store: FieldStore) -> None:
    """Create or update the local tables (once at start-up; not per request)."""
    migrations.apply(store.db)


def phone_hash(cookie: str) -> str:
    """What is stored and recorded of a phone's cookie: enough to match, not to replay."""
    return cookie_hash(cookie)


def secret(store: FieldStore, key: str, nbytes: int = 32) -> str:
    """A random secret kept in the store's meta table, made the first time it is asked for."""
    value = store.get(key)
    if value is None:
        with store.transaction():
            value = store.get(key)
            if value is None:
                value = secrets.token_urlsafe(nbytes)
                store.set(key, value)
    return value


def use_form_token(store: FieldStore, token: str) -> bool:
    """Mark a one-time form token used; False when it was used already (a replayed form)."""
    now = time.time()
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM used_form_tokens WHERE token = ?", [token]).fetchone():
            return False
        db.execute("INSERT INTO used_form_tokens (token, used_at) VALUES (?, ?)", [token, now])
        # Tokens expire after a day (their signature says so), so older entries can go.
        db.execute("DELETE FROM used_form_tokens WHERE used_at < ?", [now - 2 * 86400])
    return True


def rows(store: FieldStore, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return list(store.db.query(sql, params))
