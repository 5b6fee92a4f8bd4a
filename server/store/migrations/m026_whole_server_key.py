"""m026: the summaries' whole-server key (''), so the nation's figures are lookups too."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations

# Literal here, as a migration carries them: months 1 to 12, every source (n) and those not
# under question (k).
_N = [f"n{month}" for month in range(1, 13)]
_K = [f"k{month}" for month in range(1, 13)]


def _first(side: list[str]) -> str:
    """An item's first month with a source on one side (NULL when none)."""
    return "CASE " + " ".join(f"WHEN {name} > 0 THEN {name[1:]}" for name in side) + " END"


@migrations()
def m026_whole_server_key(db: Database) -> None:
    """The summaries keep a key for the whole server, the empty prefix '', above the provinces
    (server/summaries/store.py): its additive sums in `summary_rollup`, its distinct items in
    `summary_item_months` and their first months in `summary_firsts`. Built here from the
    provinces' rows, which hold every county's (a county marked to recompute passes its
    difference up to every key above it, this one too, so marks need nothing). A person known
    to two provinces is one item of the key, as of any key above two counties. On summaries
    that are stale nothing is read from them until a rebuild, which writes every key anew."""
    for table in ("summary_rollup", "summary_item_months", "summary_firsts"):
        db.execute(f"DELETE FROM {table} WHERE scope_key = ''")
    # Provinces: two characters, not an envoy's key ('@' and an id).
    province = "length(scope_key) = 2 AND scope_key NOT LIKE '@%'"
    db.execute(
        "INSERT INTO summary_rollup (year, scope_key, kind, month, figure, q, value) "
        "SELECT year, '', kind, month, figure, q, sum(value) FROM summary_rollup "
        f"WHERE {province} GROUP BY year, kind, month, figure, q HAVING abs(sum(value)) >= 1e-9"
    )
    months = ", ".join((*_N, *_K))
    sums = ", ".join(f"sum({name})" for name in (*_N, *_K))
    # Each year's provinces found in the small table of first months (every key holding an item
    # has one), then read by their key: a nation's rows are not scanned whole.
    found = db.execute(f"SELECT DISTINCT year, scope_key FROM summary_firsts WHERE {province}")
    provinces: dict[int, list[str]] = {}
    for year, key in found.fetchall():
        provinces.setdefault(year, []).append(key)
    for year, keys in sorted(provinces.items()):
        db.execute(
            f"INSERT INTO summary_item_months (year, scope_key, figure, item, {months}, county) "
            f"SELECT year, '', figure, item, {sums}, '' FROM summary_item_months "
            f"WHERE year = ? AND scope_key IN ({', '.join('?' * len(keys))}) "
            "GROUP BY year, figure, item",
            [year, *sorted(keys)],
        )
        firsts = (
            f"SELECT year, figure, {_first(_N)} AS month, 1 AS n, 0 AS k FROM summary_item_months "
            f"WHERE year = ? AND scope_key = '' UNION ALL SELECT year, figure, {_first(_K)}, 0, 1 "
            "FROM summary_item_months WHERE year = ? AND scope_key = ''"
        )
        db.execute(
            "INSERT INTO summary_firsts (year, scope_key, figure, month, n, k) "
            f"SELECT year, '', figure, month, sum(n), sum(k) FROM ({firsts}) AS f "
            "WHERE month IS NOT NULL GROUP BY year, figure, month",
            [year, year],
        )
