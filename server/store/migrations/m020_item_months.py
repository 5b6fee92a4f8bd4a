"""m020: summaries' distinct items, one row per item with its twelve months side by side."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations

# Literal here, as a migration carries them: months 1 to 12.
_N = [f"n{month}" for month in range(1, 13)]
_K = [f"k{month}" for month in range(1, 13)]


@migrations()
def m020_item_months(db: Database) -> None:
    """`summary_item_months` replaces m015's `summary_items`: the same reference counts of
    distinct items per (year, key, figure, item), with each month's counts (`n1`..`n12`: every
    source; `k1`..`k12`: those not under question) in columns of one row instead of a row per
    month. A push of many check-ins by people who come in several months wrote a row per month
    for each of an item's seven keys; it now writes one. The rows move over as they are."""
    months = ", ".join(f"{name} INTEGER NOT NULL" for name in (*_N, *_K))
    db.execute(
        "CREATE TABLE summary_item_months (year INTEGER NOT NULL, scope_key TEXT NOT NULL, "
        f"figure TEXT NOT NULL, item TEXT NOT NULL, {months}, county TEXT NOT NULL, "
        "PRIMARY KEY (year, scope_key, figure, item)) WITHOUT ROWID"
    )
    pivot = ", ".join(
        f"sum(CASE WHEN month = {month} THEN {side} ELSE 0 END)"
        for side in ("n", "k")
        for month in range(1, 13)
    )
    db.execute(
        f"INSERT INTO summary_item_months SELECT year, scope_key, figure, item, {pivot}, "
        "max(county) FROM summary_items GROUP BY year, scope_key, figure, item"
    )
    db.execute("DROP TABLE summary_items")
    db.execute(
        "CREATE INDEX idx_summary_item_months_county ON summary_item_months (county, year) "
        "WHERE county != ''"
    )
