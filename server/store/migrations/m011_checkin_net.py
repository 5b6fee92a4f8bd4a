"""m011: a self check-in's `net` and `typed_code` (issue 18), beside its `phone` (m010)."""

from __future__ import annotations

from sqlite_utils import Database

from server.store.migrations.registry import migrations


@migrations()
def m011_checkin_net(db: Database) -> None:
    """The client address a self check-in came from, as a short keyed hash the field web app
    records (never the address), and whether the farmer typed the session code instead of
    scanning the QR (1, or NULL), so the flags can judge check-ins without any cookie.

    The index holds only check-ins that carry a `net`, by session: the flags of
    server/quality/checkin_flags.py read just those.
    """
    db.table("attendances").add_column("net", str)
    db.table("attendances").add_column("typed_code", int)
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_attendances_session_net "
        "ON attendances (session_id, net) WHERE net IS NOT NULL"
    )
