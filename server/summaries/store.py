"""The summary tables: adding to them, recomputing a county of a year from its records, rebuild.

Distinct items (a trainee, a technology, a variety) are kept per key: a unit prefix at every
level (the whole server '', province, city, county, township, village) or an envoy ('@envoy'),
and per month (one row per item, its months side by side: n, and k for sources not under
question). A county's own keys (its county, township and village prefixes, '@envoy/county') hold
presence, 1 or 0; the keys above them (the whole server, province, city, '@envoy') count the
counties where the item is present, so a county recomputed from its records passes the
difference of its county's and envoys' keys up. summary_firsts counts per key and month the
items whose first month that is (n: of all sources, k: of those not under question): a distinct
figure is their sum, and a chart's cumulative line their running sum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from server.figures.counted import code_range
from server.store.sql_text import in_chunks, insert_many

# (year, unit_code, envoy_id, kind, month, figure, q) -> value
FigureKey = tuple[int, str, str, str, int, str, int]
# (scope_key, figure, item) -> its month columns (n1..n12, k1..k12) within one year
ItemKey = tuple[str, str, str]

TABLES = ("summary_figures", "summary_rollup", "summary_item_months", "summary_firsts")
# A county's own rows of summary_item_months in a year, found through the index of m020: it
# holds only rows with a county, so the condition must say so for SQLite to use it (else it
# reads the whole year's rows, every county's, to find one county's). The index holds the key
# columns only: for the counts, find the keys through it, then read each key's rows.
BY_COUNTY = "county = ? AND county != '' AND year = ?"

# An item's row holds its months side by side (m020): n1..n12, then k1..k12.
MONTHS = range(1, 13)
MONTH_COLUMNS = ", ".join([*(f"n{m}" for m in MONTHS), *(f"k{m}" for m in MONTHS)])
Months = dict[int, list[int]]  # month -> [n, k] of one item


def packed(months: Months) -> tuple[int, ...]:
    """An item's months as its row's month columns (a month with no source holds 0, 0)."""
    n = [0] * 12
    k = [0] * 12
    for month, (count, kept) in months.items():
        if count:
            if month not in MONTHS:
                raise ValueError(f"month {month} outside 1..12")
            n[month - 1] = count
            k[month - 1] = kept
    return (*n, *k)


def unpacked(columns: tuple[int, ...] | list[int]) -> Months:
    """An item's months from its row's month columns (only months with a source)."""
    return {
        month: [columns[month - 1], columns[month + 11]] for month in MONTHS if columns[month - 1]
    }


def own_keys(db: Database, year: int, county: str) -> list[str]:
    """The keys of `county` in `year` that hold rows."""
    return [
        row[0]
        for row in db.execute(
            f"SELECT DISTINCT scope_key FROM summary_item_months WHERE {BY_COUNTY}", [county, year]
        )
    ]


@dataclass
class Rows:
    """What some records add to the summaries of one year: additive figures and distinct items
    under the county's own keys (the keys above them are derived, see module)."""

    year: int
    figures: defaultdict[FigureKey, float] = field(default_factory=lambda: defaultdict(float))
    items: defaultdict[ItemKey, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0] * 24)
    )
    # The own keys of each (unit, envoy) met so far.
    keys: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add_figure(
        self, unit: str, envoy: str | None, kind: str, month: int, figure: str, q: int, value: float
    ) -> None:
        if value:
            self.figures[(self.year, unit, envoy or "", kind, month, figure, q)] += value

    def add_item(
        self, unit: str, envoy: str | None, figure: str, item: str, month: int, q: int
    ) -> None:
        """One source of a distinct item, counted under the county's own keys."""
        self.add_items(unit, envoy, figure, item, month, 1, 0 if q else 1)

    def add_items(
        self, unit: str, envoy: str | None, figure: str, item: str, month: int, n: int, k: int
    ) -> None:
        """`n` sources of a distinct item, `k` of them not under question: under the county's
        own keys only presence is kept, 1 or 0 (see server/summaries/presence.py)."""
        place = (unit, envoy or "")
        keys = self.keys.get(place)
        if keys is None:
            keys = self.keys[place] = local_keys(*place)
        if month not in MONTHS:
            raise ValueError(f"month {month} outside 1..12")
        items = self.items
        at_n, at_k = month - 1, month + 11  # its n and k among the month columns
        for key in keys:
            counts = items[(key, figure, item)]
            if n:
                counts[at_n] = 1
            if k:
                counts[at_k] = 1


def local_keys(unit: str, envoy: str) -> list[str]:
    """The keys a record at division code `unit` of `envoy` counts under in its own county."""
    county = unit[:6]
    keys = list(dict.fromkeys((county, unit[:9], unit[:12])))
    return [*keys, f"@{envoy}/{county}"]


def keys_above(key: str) -> list[str]:
    """The keys a county's own key passes its counts up to (none for townships and villages)."""
    if key.startswith("@"):
        return [key.rsplit("/", 1)[0]]
    if len(key) == 6:
        # The whole server's key is the empty prefix: every code starts with it.
        return [key[:2], key[:4], ""]
    return []


def county_of_key(key: str) -> str:
    """The county whose records alone a key counts ('' for a key above counties)."""
    if key.startswith("@"):
        return key.rsplit("/", 1)[1] if "/" in key else ""
    return key[:6] if len(key) >= 6 else ""


# ---------------------------------------------------------------- writing


def add_rollup(db: Database, sums: dict[RollupKey, float]) -> None:
    """Add to the whole server's, province, city and county sums; rows reaching zero are
    removed."""
    db.conn.executemany(
        "INSERT INTO summary_rollup VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (year, scope_key, kind, month, figure, q) DO UPDATE "
        "SET value = summary_rollup.value + excluded.value",
        [(*key, value) for key, value in sums.items() if value],
    )
    db.conn.executemany(
        "DELETE FROM summary_rollup WHERE year = ? AND scope_key = ? AND kind = ? AND month = ? "
        "AND figure = ? AND q = ? AND abs(value) < 1e-9",
        list(sums),
    )


# (year, scope_key, kind, month, figure, q) -> value: additive figures summed for the whole server
# ('') and per province, city and county, so a province's figure is a few hundred rows, not
# every village's, and the nation's as few.
RollupKey = tuple[int, str, str, int, str, int]
ROLLUP_LEVELS = (0, 2, 4, 6)


def add_figures(db: Database, figures: dict[FigureKey, float], rollup: bool = True) -> None:
    """Add additive figures (and, unless `rollup` is False, the same to the county, city,
    province and whole server's sums); rows reaching zero are removed."""
    if not figures:
        return
    if rollup:
        sums: dict[RollupKey, float] = defaultdict(float)
        for (year, unit, _envoy, kind, month, figure, q), value in figures.items():
            for level in ROLLUP_LEVELS:
                sums[(year, unit[:level], kind, month, figure, q)] += value
        add_rollup(db, sums)
    db.conn.executemany(
        "INSERT INTO summary_figures VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (year, unit_code, envoy_id, kind, month, figure, q) DO UPDATE "
        "SET value = summary_figures.value + excluded.value",
        [(*key, value) for key, value in figures.items()],
    )
    db.conn.executemany(
        "DELETE FROM summary_figures WHERE year = ? AND unit_code = ? AND envoy_id = ? "
        "AND kind = ? AND month = ? AND figure = ? AND q = ? AND abs(value) < 1e-9",
        list(figures),
    )


# {(scope_key, figure): {item: {month: [n, k]}}}: reference-count changes as add_grouped takes them.
Grouped = dict[tuple[str, str], dict[str, dict[int, list[int]]]]


def add_grouped(
    db: Database, year: int, grouped: Grouped, empty: str = "", increases: bool = False
) -> None:
    """Apply reference-count changes (under any keys) and keep summary_firsts in step;
    `empty`: a county known to hold no rows of its own yet (nothing of its keys to read);
    `increases`: every change adds (a push's new check-ins), so a held item's first months
    are read in SQL and its changed months added in place (ValueError if one does not).
    The changes are only read (a push passes one person's months under several keys)."""
    firsts: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    writes: list[tuple[Any, ...]] = []
    removals: list[tuple[Any, ...]] = []
    # Added in place, by the months they change: {months: [(n, k of each, *row's key)]}
    additions: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
    seen: dict[int, _Increase] = {}
    # In key order (see below): the rows added to in place come out sorted.
    for (key, figure), items in sorted(grouped.items()) if increases else grouped.items():
        fresh = bool(empty) and county_of_key(key) == empty
        county = county_of_key(key)
        if increases:
            held_firsts = {} if fresh else _held_firsts(db, year, key, figure, items)
            for item in sorted(items):
                changes = items[item]
                first = held_firsts.get(item)
                if first is None:
                    _add_new(firsts, writes, year, key, figure, county, item, changes)
                    continue
                # One person's changes are one dict under each of its keys: read once.
                increase = seen.get(id(changes))
                if increase is None:
                    increase = seen[id(changes)] = _increase(changes)
                _add_increase(firsts, additions, (year, key, figure, item), increase, first)
            continue
        held = {} if fresh else _held(db, year, key, figure, items)
        for item, changes in items.items():
            before = held.get(item)
            if before is None:
                _add_new(firsts, writes, year, key, figure, county, item, changes)
                continue
            after = {month: list(counts) for month, counts in before.items()}
            for month, (dn, dk) in changes.items():
                counts = after.setdefault(month, [0, 0])
                counts[0] += dn
                counts[1] += dk
            for side in (0, 1):
                old, new = _first(before, side), _first(after, side)
                if old != new:
                    if old is not None:
                        firsts[(key, figure, old)][side] -= 1
                    if new is not None:
                        firsts[(key, figure, new)][side] += 1
            if any(counts[0] for counts in after.values()):
                writes.append((year, key, figure, item, *packed(after), county))
            else:
                removals.append((year, key, figure, item))
    # In key order: the table is clustered by its key, so each row lands beside the last
    # instead of at a random place in a page (items are random ids). Counts set in place: the
    # row's county, the index's column, stays as it is.
    writes.sort()
    insert_many(db, "INSERT INTO summary_item_months", writes, _SET_MONTHS)
    for months, rows in additions.items():
        db.conn.executemany(
            "UPDATE summary_item_months SET "
            + ", ".join(f"n{m} = n{m} + ?, k{m} = k{m} + ?" for m in months)
            + " WHERE year = ? AND scope_key = ? AND figure = ? AND item = ?",
            rows,
        )
    db.conn.executemany(
        "DELETE FROM summary_item_months WHERE year = ? AND scope_key = ? AND figure = ? "
        "AND item = ?",
        removals,
    )
    add_firsts(db, year, firsts)


def add_firsts(db: Database, year: int, firsts: dict[tuple[str, str, int], list[int]]) -> None:
    """Add to the counts of items whose first month that is ({(key, figure, month): [n, k]});
    counts reaching zero are removed."""
    changed = [(year, *key, n, k) for key, (n, k) in sorted(firsts.items()) if n or k]
    db.conn.executemany(
        "INSERT INTO summary_firsts VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (year, scope_key, figure, month) DO UPDATE "
        "SET n = summary_firsts.n + excluded.n, k = summary_firsts.k + excluded.k",
        changed,
    )
    db.conn.executemany(
        "DELETE FROM summary_firsts WHERE year = ? AND scope_key = ? AND figure = ? AND month = ? "
        "AND n = 0 AND k = 0",
        [row[:4] for row in changed],
    )


_SET_MONTHS = "ON CONFLICT (year, scope_key, figure, item) DO UPDATE SET " + ", ".join(
    f"{name} = excluded.{name}" for name in MONTH_COLUMNS.split(", ")
)


def _held(
    db: Database, year: int, key: str, figure: str, items: Iterable[str]
) -> dict[str, Months]:
    held: dict[str, Months] = {}
    for chunk, marks in in_chunks(items):
        for item, *columns in db.execute(
            f"SELECT item, {MONTH_COLUMNS} FROM summary_item_months WHERE year = ? "
            f"AND scope_key = ? AND figure = ? AND item IN ({marks})",
            [year, key, figure, *chunk],
        ):
            held[item] = unpacked(columns)
    return held


def _add_new(
    firsts: dict[tuple[str, str, int], list[int]],
    writes: list[tuple[Any, ...]],
    year: int,
    key: str,
    figure: str,
    county: str,
    item: str,
    changes: dict[int, list[int]],
) -> None:
    """An item new to the key (the usual case of a new check-in): no first to move, its firsts
    found in the same pass that packs its months."""
    first_n = first_k = None
    n = [0] * 12
    k = [0] * 12
    for month, (dn, dk) in changes.items():
        if dn:
            if month not in MONTHS:
                raise ValueError(f"month {month} outside 1..12")
            n[month - 1] = dn
            k[month - 1] = dk
            if dn > 0 and (first_n is None or month < first_n):
                first_n = month
        if dk > 0 and (first_k is None or month < first_k):
            first_k = month
    if first_n is not None:
        firsts[(key, figure, first_n)][0] += 1
    if first_k is not None:
        firsts[(key, figure, first_k)][1] += 1
    if any(n):
        writes.append((year, key, figure, item, *n, *k, county))


# A change that only adds: the months it changes, their (n, k) side by side, and the first
# month each side grows in (13: none).
_Increase = tuple[tuple[int, ...], tuple[int, ...], int, int]


def _increase(changes: dict[int, list[int]]) -> _Increase:
    months = []
    values: list[int] = []
    first_n = first_k = 13
    for month, (dn, dk) in sorted(changes.items()):
        if dn < 0 or dk < 0:
            # A key above counties may gain a kept county without a new one (dn 0, dk 1).
            raise ValueError(f"change {dn}, {dk} in month {month} is not an increase")
        if not (dn or dk):
            continue
        if month not in MONTHS:
            raise ValueError(f"month {month} outside 1..12")
        months.append(month)
        values += (dn, dk)
        if dn and month < first_n:
            first_n = month
        if dk and month < first_k:
            first_k = month
    return tuple(months), tuple(values), first_n, first_k


def _add_increase(
    firsts: dict[tuple[str, str, int], list[int]],
    additions: dict[tuple[int, ...], list[tuple[Any, ...]]],
    row: tuple[int, str, str, str],
    increase: _Increase,
    held: tuple[int | None, int | None],
) -> None:
    """Counts added to an item the key holds (`row`: year, key, figure, item): only adding, a
    side's first month is the earlier of its first before and the first month the change adds
    to (no months to scan)."""
    months, values, *first = increase
    if not months:
        return
    _, key, figure, _ = row
    for side in (0, 1):
        old = held[side]
        if first[side] < (old or 13):
            if old is not None:
                firsts[(key, figure, old)][side] -= 1
            firsts[(key, figure, first[side])][side] += 1
    additions.setdefault(months, []).append((*values, *row))


def _first_sql(side: str) -> str:
    """A row's first month whose `side` (n or k) count is positive (NULL: none); a month
    counts only with a source, as in unpacked."""
    return "CASE " + " ".join(f"WHEN n{m} != 0 AND {side}{m} > 0 THEN {m}" for m in MONTHS) + " END"


_FIRSTS = f"{_first_sql('n')}, {_first_sql('k')}"


def _held_firsts(
    db: Database, year: int, key: str, figure: str, items: Iterable[str]
) -> dict[str, tuple[int | None, int | None]]:
    """The first months (n, k) of the items the key holds."""
    held: dict[str, tuple[int | None, int | None]] = {}
    for chunk, marks in in_chunks(items):
        for item, first_n, first_k in db.execute(
            f"SELECT item, {_FIRSTS} FROM summary_item_months WHERE year = ? "
            f"AND scope_key = ? AND figure = ? AND item IN ({marks})",
            [year, key, figure, *chunk],
        ):
            held[item] = (first_n, first_k)
    return held


def _first(months: dict[int, list[int]], side: int) -> int | None:
    return min((month for month, counts in months.items() if counts[side] > 0), default=None)


def grouped_above(items: dict[ItemKey, list[int]]) -> Grouped:
    """Changes (as month columns) under a county's own keys, and the same under the keys above
    them, grouped for add_grouped. Each key above takes from one own key of the county (its
    county's, or the envoy's in it), so a change that is nothing is dropped where it is read."""
    out: Grouped = {}
    above: dict[str, list[str]] = {}
    for (key, figure, item), columns in items.items():
        months = {
            month: [columns[month - 1], columns[month + 11]]
            for month in MONTHS
            if columns[month - 1] or columns[month + 11]
        }
        if not months:
            continue
        targets = above.get(key)
        if targets is None:
            targets = above[key] = [key, *keys_above(key)]
        for target in targets:
            out.setdefault((target, figure), {})[item] = months
    return out


# ---------------------------------------------------------------- recomputing a county


def replace_county(db: Database, new: Rows, county: str) -> None:
    """Make the summaries of `county` in new.year what `new` (from its records) says."""
    year = new.year
    lo, hi = code_range(county)
    db.execute(
        "DELETE FROM summary_figures WHERE year = ? AND unit_code >= ? AND unit_code < ?",
        [year, lo, hi],
    )
    add_figures(db, dict(new.figures), rollup=False)
    # The county's sums become the records'; the city's, province's and whole server's move by
    # as much.
    change: dict[tuple[str, int, str, int], float] = defaultdict(float)
    for (_y, _unit, _envoy, kind, month, figure, q), value in new.figures.items():
        change[(kind, month, figure, q)] += value
    for kind, month, figure, q, value in db.execute(
        "SELECT kind, month, figure, q, value FROM summary_rollup WHERE year = ? AND scope_key = ?",
        [year, county],
    ).fetchall():
        change[(kind, month, figure, q)] -= value
    add_rollup(
        db,
        {
            (year, county[:level], kind, month, figure, q): value
            for (kind, month, figure, q), value in change.items()
            for level in ROLLUP_LEVELS
            if abs(value) >= 1e-9
        },
    )
    diff: dict[ItemKey, list[int]] = {key: list(counts) for key, counts in new.items.items()}
    old = [
        row
        for key in own_keys(db, year, county)
        for row in db.execute(
            f"SELECT scope_key, figure, item, {MONTH_COLUMNS} FROM summary_item_months "
            "WHERE year = ? AND scope_key = ?",
            [year, key],
        )
    ]
    for key, figure, item, *columns in old:
        counts = diff.setdefault((key, figure, item), [0] * 24)
        for index, value in enumerate(columns):
            counts[index] -= value
    add_grouped(db, year, grouped_above(diff), empty="" if old else county)
    db.execute("DELETE FROM summary_dirty WHERE year = ? AND county = ?", [year, county])


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every summary row, ordered, values rounded so float sums of another order compare equal."""
    out = {}
    for table in TABLES:
        rows = db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5, 6").fetchall()
        out[table] = [
            tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows
        ]
    return out
