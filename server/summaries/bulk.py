"""Rebuilding every county at once: each county's own rows written as its records give them,
then everything above counties summed from those rows in a few statements at the end.

Passing each county's difference up to the city, province and envoy keys, as a county marked
to recompute does (store.replace_county), reads and rewrites the province's rows a county's
share at a time at scattered places; summed once at the end they are written in key order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from server.figures.counted import code_range
from server.summaries.store import BY_COUNTY, ROLLUP_LEVELS, Rows, own_keys

# The keys above a county's own, each summed from one kind of its own keys: the province's
# and city's from its county key, the envoy's from '@envoy/county' (whose last 7 characters
# are '/' and the county). Envoy keys, with and without a county, sort between '@' and 'A'.
_COUNTY_KEYS = (
    "scope_key IN (SELECT DISTINCT county FROM summary_items WHERE county != '' AND year = ?)"
)
_ENVOY_KEYS = "scope_key >= '@' AND scope_key < 'A'"
_ABOVE_KEY = "length(scope_key) < 6 OR (scope_key LIKE '@%' AND scope_key NOT LIKE '%/%')"
_ABOVE = (
    ("substr(scope_key, 1, 2)", _COUNTY_KEYS),
    ("substr(scope_key, 1, 4)", _COUNTY_KEYS),
    ("substr(scope_key, 1, length(scope_key) - 7)", _ENVOY_KEYS),
)


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
    years = [row[0] for row in db.execute("SELECT DISTINCT year FROM summary_figures")]
    years += [row[0] for row in db.execute("SELECT DISTINCT year FROM summary_items")]
    for year in sorted(set(years)):
        for key, which in _ABOVE:
            params = [year, year] if which == _COUNTY_KEYS else [year]
            # Grouped in key order, so inserted in key order.
            db.execute(
                f"INSERT INTO summary_items SELECT year, {key}, figure, item, month, sum(n), "
                f"sum(k), '' FROM summary_items WHERE year = ? AND {which} AND county != '' "
                f"GROUP BY year, {key}, figure, item, month",
                params,
            )
        firsts: defaultdict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
        above = (
            "scope_key IN (SELECT DISTINCT substr(county, 1, 2) FROM summary_items "
            "WHERE county != '' AND year = ? UNION SELECT DISTINCT substr(county, 1, 4) "
            "FROM summary_items WHERE county != '' AND year = ?)",
            f"{_ENVOY_KEYS} AND county = ''",
        )
        for which in above:
            for key, figure, first, first_kept in db.execute(
                "SELECT scope_key, figure, min(month), min(CASE WHEN k > 0 THEN month END) "
                f"FROM summary_items WHERE year = ? AND {which} GROUP BY scope_key, figure, item",
                [year, year, year] if "?" in which else [year],
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
