"""Rebuilding every county at once: each county's own rows written as its records give them,
then everything above counties summed from those rows in a few statements at the end.

Passing each county's difference up to the city, province and envoy keys, as a county marked
to recompute does (store.replace_county), reads and rewrites the province's rows a county's
share at a time at scattered places; summed once at the end they are written in key order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import groupby

from sqlite_utils import Database

from server.figures.counted import code_range
from server.summaries.store import (
    BY_COUNTY,
    MONTH_COLUMNS,
    ROLLUP_LEVELS,
    Months,
    Rows,
    own_keys,
    packed,
    unpacked,
)

# The keys above counties (a province's or city's code, an envoy's '@envoy'); an envoy's key in
# a county is '@envoy/county' (its last 7 characters '/' and the county). Envoy keys, with and
# without a county, sort between '@' and 'A'.
_ABOVE_KEY = "length(scope_key) < 6 OR (scope_key LIKE '@%' AND scope_key NOT LIKE '%/%')"
_ENVOY_KEYS = "scope_key >= '@' AND scope_key < 'A'"


def write_county(db: Database, new: Rows, county: str) -> None:
    """A rebuild's step: the rows of `county`'s own keys in new.year as its records give them
    (replacing any a push wrote since the rebuild began), with their first-month counters.
    The keys above counties and the county, city and province sums are left to sum_up."""
    year = new.year
    lo, hi = code_range(county)
    db.execute(
        "DELETE FROM summary_figures WHERE year = ? AND unit_code >= ? AND unit_code < ?",
        [year, lo, hi],
    )
    db.conn.executemany(
        "INSERT INTO summary_figures VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(*key, value) for key, value in new.figures.items() if abs(value) >= 1e-9],
    )
    pushed = own_keys(db, year, county)
    if pushed:
        _delete_firsts(db, year, pushed)
        db.execute(f"DELETE FROM summary_item_months WHERE {BY_COUNTY}", [county, year])
    by_item: defaultdict[tuple[str, str, str], Months] = defaultdict(dict)
    for (key, figure, item, month), counts in new.items.items():
        if counts[0]:
            by_item[(key, figure, item)][month] = counts
    # In key order: the table is clustered by its key, so each row lands beside the last.
    written = [(year, *item, *packed(months), county) for item, months in sorted(by_item.items())]
    if written:
        marks = ", ".join("?" * len(written[0]))
        db.conn.executemany(f"INSERT INTO summary_item_months VALUES ({marks})", written)
    firsts: defaultdict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    for (key, figure, _item), months in by_item.items():
        _count_firsts(firsts, key, figure, months)
    _insert_firsts(db, year, firsts)
    db.execute("DELETE FROM summary_dirty WHERE year = ? AND county = ?", [year, county])


def sum_up(db: Database) -> None:
    """The end of a rebuild: the county, city and province sums, and the rows of the keys
    above counties with their first-month counters, from the rows write_county wrote."""
    db.execute("DELETE FROM summary_rollup")
    for level in ROLLUP_LEVELS:
        db.execute(
            f"INSERT INTO summary_rollup SELECT year, substr(unit_code, 1, {level}), kind, "
            "month, figure, q, sum(value) FROM summary_figures GROUP BY year, "
            f"substr(unit_code, 1, {level}), kind, month, figure, q "
            "HAVING abs(sum(value)) >= 1e-9"
        )
    # Keys above counties hold rows here only where a push wrote while the rebuild ran, and
    # every key holding an item counts its first month: found in the small table, not by
    # reading every row of the big one.
    stale = db.execute(f"SELECT DISTINCT year, scope_key FROM summary_firsts WHERE {_ABOVE_KEY}")
    db.conn.executemany(
        "DELETE FROM summary_item_months WHERE year = ? AND scope_key = ?", stale.fetchall()
    )
    db.execute(f"DELETE FROM summary_firsts WHERE {_ABOVE_KEY}")
    # Every key holding an item counts its first month, so the small table says which years
    # and counties hold items.
    years = [row[0] for row in db.execute("SELECT DISTINCT year FROM summary_firsts")]
    for year in sorted(years):
        counties = [
            row[0]
            for row in db.execute(
                "SELECT DISTINCT scope_key FROM summary_firsts WHERE year = ? "
                "AND length(scope_key) = 6 AND scope_key NOT LIKE '@%' ORDER BY scope_key",
                [year],
            )
        ]
        _sum_above(db, year, counties)
        _firsts_above(db, year, counties)


def _sum_above(db: Database, year: int, counties: list[str]) -> None:
    """The rows of the keys above counties: a province's and its cities' summed from their
    counties' keys, an envoy's from their keys in each county; grouped in key order, so
    inserted in key order."""
    sums = ", ".join(f"sum({name})" for name in MONTH_COLUMNS.split(", "))
    for _province, group in groupby(counties, key=lambda county: county[:2]):
        codes = list(group)
        marks = ",".join("?" * len(codes))
        for level in (2, 4):
            db.execute(
                "INSERT INTO summary_item_months SELECT year, substr(scope_key, 1, "
                f"{level}), figure, item, {sums}, '' FROM summary_item_months WHERE year = ? "
                f"AND scope_key IN ({marks}) GROUP BY year, substr(scope_key, 1, {level}), "
                "figure, item",
                [year, *codes],
            )
    envoy = "substr(scope_key, 1, length(scope_key) - 7)"
    db.execute(
        f"INSERT INTO summary_item_months SELECT year, {envoy}, figure, item, {sums}, '' "
        f"FROM summary_item_months WHERE year = ? AND {_ENVOY_KEYS} AND county != '' "
        f"GROUP BY year, {envoy}, figure, item",
        [year],
    )


def _firsts_above(db: Database, year: int, counties: list[str]) -> None:
    """The first-month counters of the keys above counties, from their rows."""
    firsts: defaultdict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    codes = sorted({county[:2] for county in counties} | {county[:4] for county in counties})
    marks = ",".join("?" * len(codes))
    for which, params in (
        (f"scope_key IN ({marks})" if codes else "1 = 0", codes),
        (f"{_ENVOY_KEYS} AND county = ''", []),
    ):
        for key, figure, *columns in db.execute(
            f"SELECT scope_key, figure, {MONTH_COLUMNS} FROM summary_item_months "
            f"WHERE year = ? AND {which}",
            [year, *params],
        ):
            _count_firsts(firsts, key, figure, unpacked(columns))
    _insert_firsts(db, year, firsts)


def _count_firsts(
    firsts: defaultdict[tuple[str, str, int], list[int]], key: str, figure: str, months: Months
) -> None:
    """Count an item in its key's first month, and in its first month not under question."""
    if not months:
        return
    firsts[(key, figure, min(months))][0] += 1
    kept = [month for month, counts in months.items() if counts[1] > 0]
    if kept:
        firsts[(key, figure, min(kept))][1] += 1


def _insert_firsts(db: Database, year: int, firsts: dict[tuple[str, str, int], list[int]]) -> None:
    db.conn.executemany(
        "INSERT INTO summary_firsts VALUES (?, ?, ?, ?, ?, ?)",
        [(year, *key, n, k) for key, (n, k) in sorted(firsts.items())],
    )


def _delete_firsts(db: Database, year: int, keys: Iterable[str]) -> None:
    db.conn.executemany(
        "DELETE FROM summary_firsts WHERE year = ? AND scope_key = ?",
        [(year, key) for key in keys],
    )
