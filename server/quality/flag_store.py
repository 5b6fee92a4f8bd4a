"""Raised flags kept: an outlier flag stays listed until reviewed, though later records move
what is usual (issue 19.10; the table is migration m013).

Outliers are judged against the county's records of the year, so a flag can vanish when new
records arrive. Each outlier flag is therefore kept when it is first raised: after every push
that brings plots, sessions or hand-outs (for the counties and years it touched, so whether a
flag was raised never depends on whether someone happened to open a page), and whenever a
list of flags is computed (which also catches flags raised by a changed threshold). A kept
flag that no longer stands out is listed with a note until the record is reviewed or deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlite_utils import Database

from server.figures.counted import Scope
from server.store import dialect
from shared import protocol as p
from shared.clock import local_date, parse_iso, to_iso, utc_now

# The note beside a kept flag whose figure no longer stands out.
NO_LONGER = (
    "现已不再突出（之后的记录改变了常见范围或记录已更正），仍待审核",
    "no longer stands out (later records moved what is usual, or it was corrected); "
    "still to review",
)
COLUMNS = (
    "kind",
    "record_kind",
    "record_id",
    "envoy_id",
    "unit_code",
    "year",
    "at",
    "value",
    "z",
    "reason",
    "raised_at",
)


class Raised(Protocol):
    """What a flag carries that is kept (server.flags.Flag)."""

    @property
    def kind(self) -> str: ...
    @property
    def record_kind(self) -> str: ...
    @property
    def record_id(self) -> str: ...
    @property
    def envoy_id(self) -> str: ...
    @property
    def unit_code(self) -> str | None: ...
    @property
    def at(self) -> str | None: ...
    @property
    def value(self) -> float | None: ...
    @property
    def z(self) -> float | None: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Kept:
    """A kept flag as it was raised (the columns of `raised_flags`)."""

    kind: str
    record_kind: str
    record_id: str
    envoy_id: str
    unit_code: str | None
    year: int
    at: str | None
    value: float | None
    z: float | None
    reason: str
    raised_at: str


def keep(db: Database, year: int, found: Sequence[Raised]) -> int:
    """Keep the flags not kept yet (inside the caller's write transaction); how many were new."""
    if not found:
        return 0
    raised_at = to_iso(utc_now())
    # executemany's rowcount is the rows inserted, summed: the portable total_changes().
    inserted = db.conn.executemany(
        f"INSERT INTO raised_flags ({', '.join(COLUMNS)}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, record_id) DO NOTHING",
        [
            (
                flag.kind,
                flag.record_kind,
                flag.record_id,
                flag.envoy_id,
                flag.unit_code,
                year,
                flag.at,
                flag.value,
                flag.z,
                flag.reason,
                raised_at,
            )
            for flag in found
        ],
    )
    return int(inserted.rowcount)


def unkept(db: Database, found: Sequence[Raised]) -> list[Raised]:
    """The flags among `found` not kept yet (a read: a list of flags writes only when new)."""
    if not found:
        return []
    keys = json.dumps([[flag.kind, flag.record_id] for flag in found])
    engine = dialect.engine_of(db)
    kind_of, id_of = (dialect.json_item(engine, "k.value", i) for i in (0, 1))
    kept = {
        (kind, record_id)
        for kind, record_id in db.execute(
            "SELECT f.kind, f.record_id FROM raised_flags f "
            f"JOIN {dialect.json_items(engine, '?', 'k')} ON f.kind = {kind_of} "
            f"AND f.record_id = {id_of}",
            [keys],
        )
    }
    return [flag for flag in found if (flag.kind, flag.record_id) not in kept]


def kept_in(db: Database, scope: Scope, standing: Iterable[tuple[str, str]]) -> list[Kept]:
    """The scope's kept flags that no longer stand out (not in `standing`: (kind, record id)),
    whose record is still there and not reviewed yet."""
    params = scope.params()
    envoy = " AND f.envoy_id = :envoy" if scope.envoy_id else ""
    rows = db.execute(
        f"SELECT {', '.join('f.' + c for c in COLUMNS)} FROM raised_flags f "
        "WHERE f.year = :year AND f.unit_code >= :lo AND f.unit_code < :hi" + envoy + " "
        "AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.record_kind = f.record_kind "
        "AND r.record_id = f.record_id)",
        {**params, "year": scope.year},
    ).fetchall()
    now_standing = set(standing)
    kept = [Kept(*row) for row in rows if (row[0], row[2]) not in now_standing]
    return [flag for flag in kept if flag.record_id in _live(db, kept, flag.record_kind)]


def _live(db: Database, kept: list[Kept], record_kind: str) -> set[str]:
    ids = json.dumps([flag.record_id for flag in kept if flag.record_kind == record_kind])
    table = p.TABLES[record_kind]
    return {
        row[0]
        for row in db.execute(
            f"SELECT id FROM {table} WHERE deleted = 0 AND id IN "
            f"(SELECT j.value FROM {dialect.json_each(dialect.engine_of(db), '?')})",
            [ids],
        )
    }


# Where a pushed record is (its date or time, and unit), by the kinds outliers judge.
_PLACE = {
    p.PLOT: "SELECT established_on, village_code FROM plots WHERE id IN ",
    p.SESSION: "SELECT starts_at, unit_code FROM sessions WHERE id IN ",
    p.LEAFLET_HANDOUT: (
        "SELECT h.handed_out_at, coalesce(h.unit_code, s.unit_code) FROM leaflet_handouts h "
        "LEFT JOIN sessions s ON s.id = h.session_id WHERE h.id IN "
    ),
}


def touched_scopes(
    db: Database, dirty: Mapping[str, Iterable[str]]
) -> list[tuple[Scope, frozenset[str]]]:
    """The county-years whose outliers a push's records can change, each with the kinds of
    record it brought there (only those measures need judging again)."""
    found: dict[tuple[int, str], set[str]] = {}
    listed = f"(SELECT j.value FROM {dialect.json_each(dialect.engine_of(db), '?')})"
    for kind, sql in _PLACE.items():
        ids = list(dirty.get(kind, ()))
        if not ids:
            continue
        for at, unit in db.execute(sql + listed, [json.dumps(ids)]).fetchall():
            if at and unit:
                found.setdefault((_year_of(at), unit[:6]), set()).add(kind)
    return [
        (Scope(year, county), frozenset(kinds)) for (year, county), kinds in sorted(found.items())
    ]


def _year_of(at: str) -> int:
    return local_date(parse_iso(at)).year if "T" in at else int(at[:4])


def row_of(flag: Kept) -> dict[str, Any]:
    return {column: getattr(flag, column) for column in COLUMNS}
