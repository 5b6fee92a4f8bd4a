"""m014: check-ins by session, for the farmers a session brings to those who run it."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations


@migrations()
def m014_attendances_by_session(db: Database) -> None:
    """An index of check-ins by session and farmer: a pull finds the farmers checked in to the
    sessions its envoy runs (server/sync/session_reach.py) without reading every check-in."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_attendances_session_farmer "
        "ON attendances (session_id, farmer_id)"
    )
