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
from typing import Any

from sqlite_utils import Database

from server.figures.counted import code_range
from server.store.sql_text import ROWS_PER_INSERT
from server.summaries.store import (
    BY_COUNTY,
    MONTH_COLUMNS,
    MONTHS,
    ROLLUP_LEVELS,
    ItemKey,
    Rows,
    own_keys,
)

# The keys above counties (the whole server's '', a province's or city's code, an envoy's
# '@envoy'); an envoy's key in a county is '@envoy/county' (its last 7 characters '/' and the
# county). Envoy keys, with and without a county, sort between '@' and 'A'.
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
    # In key order: the table is clustered by its key, so each row lands beside the last.
    # In key order: the table is clustered by its key, so each row lands beside the last.
    _insert_own_rows(db, year, county, sorted(new.items.items()))
    firsts: defaultdict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    # The county's own keys: its units' codes (a range of the key), and its envoys' in it.
    _count_firsts(db, firsts, "year = ? AND scope_key >= ? AND scope_key < ?", [year, lo, hi])
    for key in sorted({key for key, _figure, _item in new.items if key.startswith("@")}):
        _count_firsts(db, firsts, "year = ? AND scope_key = ?", [year, key])
    _insert_firsts(db, year, firsts)
    db.execute("DELETE FROM summary_dirty WHERE year = ? AND county = ?", [year, county])


def _insert_own_rows(
    db: Database, year: int, county: str, items: list[tuple[ItemKey, list[int]]]
) -> None:
    """A county's own rows as multi-row INSERTs, their values laid out flat as they are bound
    (every item of Rows has a source). A tuple per row, flattened again to bind, cost nearly
    as much as the insert itself: a row is 29 values."""
    row = "(" + ", ".join("?" * (4 + len(MONTH_COLUMNS.split(", ")) + 1)) + ")"
    for start in range(0, len(items), ROWS_PER_INSERT):
        part = items[start : start + ROWS_PER_INSERT]
        values: list[Any] = []
        for item, columns in part:
            values += (year, *item)
            values += columns
            values.append(county)
        db.conn.execute(
            f"INSERT INTO summary_item_months VALUES {', '.join([row] * len(part))}", values
        )


def sum_up(db: Database) -> None:
    """The end of a rebuild: the county, city, province and whole server's sums, and the rows
    of the keys above counties with their first-month counters, from the rows write_county
    wrote."""
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
    counties' keys, the whole server's from the provinces', an envoy's from their keys in each
    county; grouped in key order, so inserted in key order."""
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
    # The whole server's key ('') summed from the provinces' rows just written.
    provinces = sorted({county[:2] for county in counties})
    if provinces:
        db.execute(
            f"INSERT INTO summary_item_months SELECT year, '', figure, item, {sums}, '' "
            f"FROM summary_item_months WHERE year = ? AND scope_key IN "
            f"({','.join('?' * len(provinces))}) GROUP BY year, figure, item",
            [year, *provinces],
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
    codes = [""] + codes if codes else codes  # the whole server's key
    marks = ",".join("?" * len(codes))
    for which, params in (
        (f"scope_key IN ({marks})" if codes else "1 = 0", codes),
        (f"{_ENVOY_KEYS} AND county = ''", []),
    ):
        _count_firsts(db, firsts, f"year = ? AND {which}", [year, *params])
    _insert_firsts(db, year, firsts)


# An item's first month, and its first month with a source not under question (NULL if none).
_FIRST_N, _FIRST_K = (
    "CASE " + " ".join(f"WHEN {side}{month} > 0 THEN {month}" for month in MONTHS) + " END"
    for side in ("n", "k")
)


def _count_firsts(
    db: Database,
    firsts: defaultdict[tuple[str, str, int], list[int]],
    where: str,
    params: list[Any],
) -> None:
    """Count the items of the rows `where` selects in their keys' first months."""
    for key, figure, first, first_kept, items in db.execute(
        "SELECT scope_key, figure, first_n, first_k, count(*) FROM (SELECT scope_key, figure, "
        f"{_FIRST_N} AS first_n, {_FIRST_K} AS first_k FROM summary_item_months "
        f"WHERE {where}) AS f GROUP BY scope_key, figure, first_n, first_k",
        params,
    ):
        if first is None:
            continue
        firsts[(key, figure, first)][0] += items
        if first_kept is not None:
            firsts[(key, figure, first_kept)][1] += items


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
