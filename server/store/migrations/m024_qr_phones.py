"""m024: farmers checking in on the server from the QR the phone app shows."""

from sqlite_utils import Database

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
    db.execute(
        "INSERT OR IGNORE INTO server_state (key, value) "
        "VALUES ('qr_phone_key', lower(hex(randomblob(32))))"
    )
