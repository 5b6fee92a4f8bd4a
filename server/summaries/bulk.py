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
from server.summaries.store import BY_COUNTY, ROLLUP_LEVELS, Rows, own_keys

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
        db.execute(f"DELETE FROM summary_items WHERE {BY_COUNTY}", [county, year])
    written = [
        (year, key, figure, item, month, n, k, county)
        for (key, figure, item, month), (n, k) in new.items.items()
        if n
    ]
    # In key order: the table is clustered by its key, so each row lands beside the last
    # (and an item's months come together, first month first).
    written.sort()
    db.conn.executemany("INSERT INTO summary_items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", written)
    firsts: defaultdict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    last: tuple[Any, ...] = ()
    waiting = False  # for the item's first month with a source not under question
    for _year, key, figure, item, month, _n, k, _county in written:
        if (key, figure, item) != last:
            last = (key, figure, item)
            firsts[(key, figure, month)][0] += 1
            waiting = True
        if waiting and k:
            firsts[(key, figure, month)][1] += 1
            waiting = False
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
        "DELETE FROM summary_items WHERE year = ? AND scope_key = ?", stale.fetchall()
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
    for _province, group in groupby(counties, key=lambda county: county[:2]):
        codes = list(group)
        marks = ",".join("?" * len(codes))
        for level in (2, 4):
            db.execute(
                f"INSERT INTO summary_items SELECT year, substr(scope_key, 1, {level}), figure, "
                "item, month, sum(n), sum(k), '' FROM summary_items WHERE year = ? "
                f"AND scope_key IN ({marks}) GROUP BY year, substr(scope_key, 1, {level}), "
                "figure, item, month",
                [year, *codes],
            )
    envoy = "substr(scope_key, 1, length(scope_key) - 7)"
    db.execute(
        f"INSERT INTO summary_items SELECT year, {envoy}, figure, item, month, sum(n), sum(k), "
        f"'' FROM summary_items WHERE year = ? AND {_ENVOY_KEYS} AND county != '' "
        f"GROUP BY year, {envoy}, figure, item, month",
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
        for key, figure, first, first_kept in db.execute(
            "SELECT scope_key, figure, min(month), min(CASE WHEN k > 0 THEN month END) "
            f"FROM summary_items WHERE year = ? AND {which} GROUP BY scope_key, figure, item",
            [year, *params],
        ):
            firsts[(key, figure, first)][0] += 1
            if first_kept is not None:
                firsts[(key, figure, first_kept)][1] += 1
    _insert_firsts(db, year, firsts)


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
