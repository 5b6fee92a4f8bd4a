"""A push's new check-ins marked present under their county's own keys; the keys above moved
only by the months that became present.

A county's own keys (its county, township and village prefixes, '@envoy/county') hold an item's
months as presence, 1 or 0: a month in which the item has a source (n), and one with a source
not under question (k). The keys above count the counties where the item is present (a
province's n3: how many of its counties hold the item in March). So a check-in whose person is
already present in its month, under its keys, changes no row: a push writes what became
present, not one row per key for every check-in. Taking away is left to a county recomputed from
its records (store.replace_county): a push only adds.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlite_utils import Database

from server.store.sql_text import in_chunks, insert_many
from server.summaries.store import (
    MONTHS,
    Grouped,
    add_firsts,
    add_grouped,
    county_of_key,
    keys_above,
)

# An own row's months as two bit masks (bit m - 1: month m present): its columns hold 0 or 1.
_MASKS = ", ".join(
    " + ".join(f"{side}{month} * {1 << (month - 1)}" for month in MONTHS) for side in "nk"
)


def add_present(db: Database, year: int, own: Grouped) -> None:
    """Mark the months of `own` ({(own key, figure): {item: {month: [n, k]}}}, counts of new
    sources, never negative) present, keep summary_firsts in step, and add the months that
    became present under a county's or an envoy's key in it to the keys above."""
    firsts: defaultdict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    new_rows: list[tuple[Any, ...]] = []
    # Set in place, by the months each side gains: {(n months, k months): [(year, key, ...)]}.
    gains: dict[tuple[int, int], list[tuple[Any, ...]]] = defaultdict(list)
    above: Grouped = {}
    # What deeper keys of this push held before it, by (figure, item): a village's month is its
    # township's and county's too, so a month a deeper key held needs no look at theirs.
    floors: dict[tuple[str, str], list[tuple[str, int, int]]] = defaultdict(list)
    for (key, figure), items in sorted(own.items(), key=_deepest_first):
        masks = {item: _masks(months) for item, months in items.items()}
        if not key.startswith("@"):
            masks = {
                item: (n_mask, k_mask)
                for item, (n_mask, k_mask) in masks.items()
                if _needs_look(floors.get((figure, item)), key, n_mask, k_mask)
            }
        held = _held_masks(db, year, key, figure, masks)
        targets = keys_above(key)
        county = county_of_key(key)
        for item in sorted(masks):
            n_mask, k_mask = masks[item]
            had_n, had_k = held.get(item, (0, 0))
            if not key.startswith("@"):
                floors[(figure, item)].append((key, had_n, had_k))
            gain_n, gain_k = n_mask & ~had_n, k_mask & ~had_k
            if not (gain_n or gain_k):
                continue
            for side, had, gain in ((0, had_n, gain_n), (1, had_k, gain_k)):
                old, new = _lowest(had), _lowest(had | gain)
                if old != new:
                    if old:
                        firsts[(key, figure, old)][side] -= 1
                    firsts[(key, figure, new)][side] += 1
            if item in held:
                gains[(gain_n, gain_k)].append((year, key, figure, item))
            else:
                new_rows.append((year, key, figure, item, *_columns(gain_n, gain_k), county))
            if targets:
                months = {
                    month: [gain_n >> (month - 1) & 1, gain_k >> (month - 1) & 1]
                    for month in MONTHS
                    if (gain_n | gain_k) >> (month - 1) & 1
                }
                for target in targets:
                    _add_months(above.setdefault((target, figure), {}), item, months)
    new_rows.sort()
    insert_many(db, "INSERT INTO summary_item_months", new_rows)
    for (gain_n, gain_k), rows in gains.items():
        sets = [f"n{m} = 1" for m in MONTHS if gain_n >> (m - 1) & 1]
        sets += [f"k{m} = 1" for m in MONTHS if gain_k >> (m - 1) & 1]
        db.conn.executemany(
            f"UPDATE summary_item_months SET {', '.join(sets)} "
            "WHERE year = ? AND scope_key = ? AND figure = ? AND item = ?",
            sorted(rows),
        )
    add_firsts(db, year, firsts)
    if above:
        add_grouped(db, year, above, increases=True)


def _deepest_first(entry: tuple[tuple[str, str], Any]) -> tuple[bool, int, str, str]:
    """Units' keys, villages before townships before counties, then envoys' keys."""
    (key, figure), _items = entry
    return key.startswith("@"), -len(key), key, figure


def _needs_look(
    floors: list[tuple[str, int, int]] | None, key: str, n_mask: int, k_mask: int
) -> bool:
    """Whether an item's months under `key` may gain: not all held by a deeper key of it."""
    if not floors:
        return True
    held_n = held_k = 0
    for deeper, had_n, had_k in floors:
        if deeper.startswith(key):
            held_n |= had_n
            held_k |= had_k
    return bool(n_mask & ~held_n or k_mask & ~held_k)


def _masks(months: dict[int, list[int]]) -> tuple[int, int]:
    """The months with a source (n) and with one not under question (k), as bit masks."""
    n_mask = k_mask = 0
    for month, (n, k) in months.items():
        if month not in MONTHS:
            raise ValueError(f"month {month} outside 1..12")
        if n < 0 or k < 0 or k > n:
            raise ValueError(f"change {n}, {k} in month {month} is not an increase")
        if n:
            n_mask |= 1 << (month - 1)
        if k:
            k_mask |= 1 << (month - 1)
    return n_mask, k_mask


def _lowest(mask: int) -> int:
    """The first month of a mask (0: none)."""
    return (mask & -mask).bit_length()


def _columns(n_mask: int, k_mask: int) -> tuple[int, ...]:
    return (
        *(n_mask >> (month - 1) & 1 for month in MONTHS),
        *(k_mask >> (month - 1) & 1 for month in MONTHS),
    )


def _add_months(
    by_item: dict[str, dict[int, list[int]]], item: str, months: dict[int, list[int]]
) -> None:
    """Add one own key's gains to an item of a key above (two counties may gain it at once)."""
    held = by_item.get(item)
    if held is None:
        by_item[item] = {month: list(counts) for month, counts in months.items()}
        return
    for month, (n, k) in months.items():
        counts = held.setdefault(month, [0, 0])
        counts[0] += n
        counts[1] += k


def _held_masks(
    db: Database, year: int, key: str, figure: str, items: dict[str, Any]
) -> dict[str, tuple[int, int]]:
    held: dict[str, tuple[int, int]] = {}
    for chunk, marks in in_chunks(items):
        for item, n_mask, k_mask in db.execute(
            f"SELECT item, {_MASKS} FROM summary_item_months WHERE year = ? "
            f"AND scope_key = ? AND figure = ? AND item IN ({marks})",
            [year, key, figure, *chunk],
        ):
            held[item] = (n_mask, k_mask)
    return held
