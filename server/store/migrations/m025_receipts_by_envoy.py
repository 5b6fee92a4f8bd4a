"""m025: leaflet receipts by envoy, for a unit's received copies at national scale."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations


@migrations()
def m025_receipts_by_envoy(db: Database) -> None:
    """An index of leaflet receipts by envoy: a unit's received copies are its envoys' receipts
    (server/figures/receipts.py), found through it instead of by reading and grouping every
    receipt of the server, which at a nation's 30,000 receipts took most of a county's report."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_leaflet_receipts_envoy ON leaflet_receipts (envoy_id)"
    )
