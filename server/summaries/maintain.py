"""Recomputing marked counties, rebuilding every summary from the records, and checking them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from server import summaries
from server.store.db import get_state, set_state, write_transaction
from server.summaries.bulk import sum_up, write_county
from server.summaries.keep import STALE, mark, positions_of
from server.summaries.rows import counties_with_records, county_rows
from server.summaries.store import TABLES, replace_county, snapshot
from shared import protocol as p
from shared.errors import TianjianError


def pending(db: Database) -> bool:
    """Whether some county or farmer is marked to be recomputed."""
    return bool(
        db.execute(
            "SELECT EXISTS (SELECT 1 FROM summary_dirty) OR "
            "EXISTS (SELECT 1 FROM summary_dirty_farmers)"
        ).fetchone()[0]
    )


def usable(db: Database) -> bool:
    """Whether figures may be read from the summaries: kept, and not stale from a time they
    were turned off (until `summaries rebuild`)."""
    return summaries.enabled() and get_state(db, STALE, "0") == "0"


def refresh(db: Database) -> int:
    """Recompute every marked county from its records; how many were. Inside the caller's
    transaction if one is open, else in a write transaction of its own."""
    if not pending(db):
        return 0
    if db.conn.in_transaction:
        return _recompute_marked(db)
    with write_transaction(db):
        return _recompute_marked(db)


def _recompute_marked(db: Database) -> int:
    sessions = db.execute(
        "SELECT * FROM sessions WHERE id IN (SELECT session_id FROM attendances WHERE farmer_id "
        "IN (SELECT farmer_id FROM summary_dirty_farmers))"
    )
    names = [column[0] for column in sessions.description]
    for values in sessions.fetchall():
        mark(db, positions_of(db, p.SESSION, dict(zip(names, values, strict=True))))
    db.execute("DELETE FROM summary_dirty_farmers")
    marked = db.execute("SELECT year, county FROM summary_dirty ORDER BY 1, 2").fetchall()
    for year, county in marked:
        replace_county(db, county_rows(db, year, county), county)
    return len(marked)


# While a rebuild runs: stale (figures come from the records) until it ends, unless something
# else marks them stale meanwhile (a write around the server, or with summaries turned off).
REBUILDING = "rebuilding"


def rebuild(db: Database) -> int:
    """Every summary recomputed from the records; how many (year, county) were. One county a
    transaction, so pushes go on meanwhile (each keeps what it touches right, as always: a
    county recomputed later takes its records as they are then); figures are counted from the
    records until the last county is done."""
    with write_transaction(db):
        _clear(db)
        set_state(db, STALE, REBUILDING)
        done = counties_with_records(db)
    for year, county in done:
        with write_transaction(db):
            write_county(db, county_rows(db, year, county), county)
    with write_transaction(db):
        sum_up(db)
        _recompute_marked(db)  # counties first seen, or changed, while the rebuild ran
        db.execute(
            "UPDATE server_state SET value = '0' WHERE key = ? AND value = ?", [STALE, REBUILDING]
        )
    return len(done)


def _clear(db: Database) -> None:
    for table in (*TABLES, "summary_dirty", "summary_dirty_farmers"):
        db.execute(f"DELETE FROM {table}")


def _rebuild(db: Database) -> int:
    """rebuild inside the caller's one transaction (check's, which is rolled back)."""
    _clear(db)
    done = counties_with_records(db)
    for year, county in done:
        write_county(db, county_rows(db, year, county), county)
    sum_up(db)
    set_state(db, STALE, 0)
    return len(done)


@dataclass(frozen=True)
class Difference:
    """The first summary row that differs from what the records give."""

    table: str
    kept: tuple[Any, ...] | None  # as the summary holds it (None: missing)
    recomputed: tuple[Any, ...] | None  # as the records give it (None: should not be there)

    @property
    def message(self) -> str:
        return (
            f"汇总表 {self.table} 与记录不符：表中为 {self.kept}，按记录应为 {self.recomputed} / "
            f"summary table {self.table} differs from the records: it holds {self.kept}, "
            f"the records give {self.recomputed}"
        )


class SummariesStale(TianjianError):
    """The summaries were turned off or written around: figures come from the records."""

    status = 503
    message = (
        "汇总表已过期（曾关闭或有其他程序写入），请运行 summaries rebuild / the summaries are "
        "stale (turned off, or the records written around the server): run `summaries rebuild`"
    )


class SummariesDiffer(TianjianError):
    """`summaries check` found a summary row the records do not give."""

    status = 500


def verify(db: Database) -> None:
    """`summaries check`: SummariesStale or SummariesDiffer (naming the first difference)
    unless the summaries are in use and agree with the records."""
    if not usable(db):
        raise SummariesStale()
    difference = check(db)
    if difference is not None:
        raise SummariesDiffer(difference.message)


def check(db: Database) -> Difference | None:
    """Recompute every summary from the records (then put them back) and compare; the first
    difference, or None when they agree. Marked counties are recomputed first, as a read would."""
    refresh(db)
    db.execute("BEGIN IMMEDIATE")
    try:
        kept = snapshot(db)
        _rebuild(db)
        recomputed = snapshot(db)
    finally:
        db.rollback()
    return first_difference(kept, recomputed)


def first_difference(
    kept: dict[str, list[tuple[Any, ...]]], recomputed: dict[str, list[tuple[Any, ...]]]
) -> Difference | None:
    for table in TABLES:
        ours, theirs = kept[table], recomputed[table]
        for ours_row, theirs_row in _aligned(ours, theirs, _key_of(table)):
            if ours_row != theirs_row:
                return Difference(table, ours_row, theirs_row)
    return None


def _key_of(table: str) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    width = {
        "summary_figures": 7,
        "summary_rollup": 6,
        "summary_item_months": 4,
        "summary_firsts": 4,
    }[table]
    return lambda row: row[:width]


def _aligned(
    ours: list[tuple[Any, ...]],
    theirs: list[tuple[Any, ...]],
    key: Callable[[tuple[Any, ...]], tuple[Any, ...]],
) -> list[tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]]:
    """Rows of both sides paired by key, in key order (None where a side has none)."""
    mine = {key(row): row for row in ours}
    other = {key(row): row for row in theirs}
    return [(mine.get(k), other.get(k)) for k in sorted(mine.keys() | other.keys(), key=repr)]
