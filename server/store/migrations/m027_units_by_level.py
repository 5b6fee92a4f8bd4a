"""m027: units by level, for the unit a reader with no area sees."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations


@migrations()
def m027_units_by_level(db: Database) -> None:
    """An index of units by level and code: the first and last county in code order
    (server/reference/lookups.py `home_unit`, asked on every report with no unit) are a seek
    from each end, where a nation's 700,000 villages were read to find them (24 ms a report)."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_units_level ON units (level, code)")
