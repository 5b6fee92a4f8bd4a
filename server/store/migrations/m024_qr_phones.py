"""m024: farmers checking in on the server from the QR the phone app shows."""

import secrets

from sqlite_utils import Database

from server.store import dialect
from server.store.migrations.registry import migrations


@migrations()
def m024_qr_phones(db: Database) -> None:
    """`qr_phones`: the phones (a hash of their cookie) that checked farmers in on the server's
    farmer page, so a returning phone is offered its own farmers' names and nobody else's
    (server/sync/qr_checkin.py). `qr_phone_key` (server_state): the key of the `phone` and
    `net` hashes those check-ins carry, never sent."""
    db.execute(
        "CREATE TABLE qr_phones (phone_hash TEXT NOT NULL, farmer_id TEXT NOT NULL, "
        "first_at TEXT NOT NULL, PRIMARY KEY (phone_hash, farmer_id)) WITHOUT ROWID"
    )
    if dialect.is_postgresql(db):
        # PostgreSQL has no randomblob: the same 32 random bytes as hex, made here.
        db.execute(
            "INSERT OR IGNORE INTO server_state (key, value) VALUES ('qr_phone_key', ?)",
            [secrets.token_hex(32)],
        )
        return
    db.execute(
        "INSERT OR IGNORE INTO server_state (key, value) "
        "VALUES ('qr_phone_key', lower(hex(randomblob(32))))"
    )
