"""Keeping the summaries right inside the transaction that changes the records.

New check-ins, nearly all of a big push, are added as deltas. Every rarer change (a new or
edited session, hand-out or plot, a check-in edited, deleted or restored, a farmer deleted or
merged, a review putting a record under question or taking it out) marks the (year, county) it
was in and the one it is in now, to be recomputed from the records before the next read
(server/summaries/maintain.py). A change to a farmer marks the farmer: its check-ins' counties
are found when the marks are resolved, in one pass over the check-ins for every such farmer.
With summaries turned off (setting SUMMARIES), a write only notes that they are stale.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from server import summaries
from server.figures import counted
from server.figures.questioned import CheckinQuestions
from server.store import dialect
from server.store.db import set_state, transaction_failed
from server.store.sql_text import in_chunks
from server.summaries.names import PERSON_TIMES, TRAINEES
from server.summaries.presence import add_present
from server.summaries.store import (
    FigureKey,
    Grouped,
    Months,
    add_figures,
    local_keys,
)
from shared import protocol as p
from shared.clock import CHINA, parse_iso

STALE = "summaries_stale"
# The kinds whose records figures count (a farmer: its check-ins, when it is deleted).
WATCHED = (p.SESSION, p.ATTENDANCE, p.LEAFLET_HANDOUT, p.PLOT, p.FARMER)
Position = tuple[int | None, str]  # (China-time year, county code; None: no time)


@contextlib.contextmanager
def writing(db: Database) -> Iterator[None]:
    """Around a write path that keeps the summaries itself, inside its transaction: the
    triggers of m015 then leave the summaries alone (any other write marks them stale)."""
    owned = (
        db.execute("INSERT INTO summary_writer (id) VALUES (1) ON CONFLICT DO NOTHING").rowcount
        == 1
    )
    try:
        yield
    finally:
        if owned and not transaction_failed(db):
            db.execute("DELETE FROM summary_writer")


def china_year(moment: str | None) -> int | None:
    """The China-time year of a stored UTC time (a session's start, a hand-out's)."""
    return parse_iso(moment).astimezone(CHINA).year if moment else None


def mark(db: Database, positions: Iterable[Position]) -> None:
    """Mark (year, county) pairs to be recomputed from their records before the next read."""
    db.conn.executemany(
        "INSERT INTO summary_dirty (year, county) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(year, county) for year, county in positions if year is not None and len(county) == 6],
    )


def mark_farmers(db: Database, farmer_ids: Iterable[str]) -> None:
    """Mark farmers whose check-ins' counties must be recomputed (a merge, a deletion, a review)."""
    if not summaries.enabled():
        set_state(db, STALE, 1)
        return
    db.conn.executemany(
        "INSERT INTO summary_dirty_farmers (farmer_id) VALUES (?) ON CONFLICT DO NOTHING",
        [(farmer_id,) for farmer_id in farmer_ids],
    )


def _row(db: Database, kind: str, record_id: str) -> dict[str, Any] | None:
    rows = list(db.query(f"SELECT * FROM [{p.TABLES[kind]}] WHERE id = ?", [record_id]))
    return rows[0] if rows else None


def positions_of(
    db: Database,
    kind: str,
    state: dict[str, Any],
    sessions: dict[str, dict[str, Any]] | None = None,
) -> set[Position]:
    """Where a session, check-in, hand-out or plot counts: its (year, county); a check-in's and
    a place-less hand-out's through their session (as stored, and as in `sessions`)."""
    if kind == p.SESSION:
        unit = state.get("unit_code") or ""
        return {(china_year(state.get("starts_at")), unit[:6])}
    if kind == p.PLOT:
        day = state.get("established_on") or ""
        return (
            {(int(day[:4]), (state.get("village_code") or "")[:6])} if day[:4].isdigit() else set()
        )
    parents = []
    session_id = state.get("session_id")
    if session_id:
        parents = [
            row
            for row in (_row(db, p.SESSION, session_id), (sessions or {}).get(session_id))
            if row
        ]
    if kind == p.ATTENDANCE:
        return set().union(*(positions_of(db, p.SESSION, row) for row in parents))
    if kind == p.LEAFLET_HANDOUT:
        year = china_year(state.get("handed_out_at"))
        units = (
            [state["unit_code"]]
            if state.get("unit_code")
            else [row.get("unit_code") for row in parents]
        )
        return {(year, unit[:6]) for unit in units if unit}
    return set()


def placeless_handouts(db: Database, session: dict[str, Any]) -> set[Position]:
    """Where the hand-outs at a session that name no place count (in the session's unit, each
    in its own year): a session moved or purged moves them."""
    unit = (session.get("unit_code") or "")[:6]
    return {
        (china_year(row[0]), unit)
        for row in db.execute(
            "SELECT handed_out_at FROM leaflet_handouts WHERE session_id = ? AND unit_code IS NULL",
            [session["id"]],
        )
    }


def record_changed(db: Database, kind: str, record_id: str) -> None:
    """A record's standing changed outside a push (a review): mark where it counts."""
    if kind not in WATCHED:
        return
    if not summaries.enabled():
        set_state(db, STALE, 1)
        return
    if kind == p.FARMER:
        # A farmer under question puts the check-ins of everyone merged into it there too.
        merged = [
            row[0]
            for row in db.execute(
                "SELECT id FROM farmer_aliases WHERE canonical_id = ?", [record_id]
            )
        ]
        mark_farmers(db, [record_id, *merged])
        return
    row = _row(db, kind, record_id)
    if row is not None:
        mark(db, positions_of(db, kind, row))


# ---------------------------------------------------------------- a push


@dataclass(frozen=True)
class _Session:
    unit: str
    envoy: str
    kind: str
    year: int  # 0: no start time (never counted)
    month: int
    counts: bool  # alive and a training (its check-ins are trainees)
    unnamed: bool  # a training's headcount with no check-in yet: the first one changes it


def after_push(batch: Any) -> None:
    """Keep the summaries right for what a push is about to write (before it is written, so the
    records as they were can still be read): deltas for new check-ins, marks for the rest."""
    db: Database = batch.db
    if not summaries.enabled():
        if batch.dirty or batch.quick_rows:
            set_state(db, STALE, 1)
        return
    checkins = [(row[0], row[1], row[2]) for row in batch.quick_rows.values()]
    positions: set[Position] = set()
    farmers: set[str] = set()
    for kind, ids in batch.dirty.items():
        if kind not in WATCHED:
            continue
        before = _stored(db, kind, ids)
        states = batch.states[kind]
        for record_id in ids:
            old, new = before.get(record_id), states[record_id]
            if kind == p.ATTENDANCE and old is None:
                if not new.get("deleted"):
                    checkins.append((record_id, new["session_id"], new["farmer_id"]))
            elif kind == p.FARMER:
                if old is not None and bool(old["deleted"]) != bool(new.get("deleted")):
                    farmers.add(record_id)
            else:
                for state in (old, new):
                    if state is not None:
                        positions |= positions_of(db, kind, state, batch.states.get(p.SESSION))
                        if kind == p.SESSION:
                            positions |= placeless_handouts(db, state)
    mark(db, positions)
    mark_farmers(db, farmers)
    if checkins:
        _add_checkins(db, batch, checkins)


def _stored(db: Database, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for chunk, marks in in_chunks(ids):
        for row in db.query(f"SELECT * FROM [{p.TABLES[kind]}] WHERE id IN ({marks})", chunk):
            found[row["id"]] = row
    return found


def _add_checkins(db: Database, batch: Any, checkins: list[tuple[str, str, str]]) -> None:
    """New check-ins as deltas where that is simple (see module); else their county marked."""
    sessions = _sessions(db, {session for _, session, _ in checkins})
    farmer_ids = {farmer for _, _, farmer in checkins}
    merged, gone = _farmers(db, farmer_ids, batch.states.get(p.FARMER, {}))
    edited = batch.dirty.get(p.SESSION, {})
    questions = CheckinQuestions.load(db)
    places = list({(s.unit, s.envoy) for s in sessions.values()})
    keysets = {place: n for n, place in enumerate(places)}
    # Where a session's check-ins count: (year, place and envoy, kind, month). A session new or
    # changed in this push has its county marked already; check-ins at a deleted session or a
    # TV lecture count nowhere; the first at a session with only a headcount changes it.
    counting: dict[str, tuple[int, int, str, int]] = {}
    unnamed: dict[str, Position] = {}
    for session_id, s in sessions.items():
        if session_id in edited or not s.counts or not s.year:
            continue
        if s.unnamed:
            unnamed[session_id] = (s.year, s.unit[:6])
        else:
            counting[session_id] = (s.year, keysets[(s.unit, s.envoy)], s.kind, s.month)
    odd = merged | gone
    check = bool(questions)
    positions: set[Position] = set()
    # Check-ins tallied by where they count, person and whether under question first (as
    # rows.add_checkins counts (session, person) pairs, written out for the bulk path): a
    # person's check-ins at sessions of one place, envoy, kind and month add to the same rows.
    tallies: dict[tuple[tuple[int, int, str, int], str, int], int] = {}
    for attendance, session_id, farmer in checkins:
        where = counting.get(session_id)
        if where is None:
            if session_id in unnamed:
                positions.add(unnamed[session_id])
            continue
        if farmer in odd:
            if farmer in merged:
                positions.add((where[0], places[where[1]][0][:6]))
            continue
        q = int(questions.covers(attendance, session_id, farmer, farmer)) if check else 0
        tally = (where, farmer, q)
        tallies[tally] = tallies.get(tally, 0) + 1
    figures: dict[FigureKey, float] = defaultdict(float)
    people: dict[tuple[int, int, str], Months] = {}
    for ((year, keyset, kind, month), farmer, q), n in tallies.items():
        unit, envoy = places[keyset]
        figures[(year, unit, envoy, kind, month, PERSON_TIMES, q)] += n
        person = people.get((year, keyset, farmer))
        if person is None:
            person = people[(year, keyset, farmer)] = {}
        counts = person.get(month)
        if counts is None:
            person[month] = [n, 0 if q else n]
        else:
            counts[0] += n
            counts[1] += 0 if q else n
    mark(db, positions)
    add_figures(db, figures)
    # A person's months spread over the county's own keys of the place, the same dict under
    # each: add_present only reads them, and a key two places share (two villages of a county)
    # gets a new sum. The keys above move only by what becomes present.
    keys = [local_keys(unit, envoy) for unit, envoy in places]
    items: dict[int, Grouped] = {}
    for (year, keyset, farmer), months in people.items():
        grouped = items.setdefault(year, {})
        for key in keys[keyset]:
            by_item = grouped.get((key, TRAINEES))
            if by_item is None:
                by_item = grouped[(key, TRAINEES)] = {}
            held = by_item.get(farmer)
            by_item[farmer] = months if held is None else _summed(held, months)
    for year, grouped in items.items():
        add_present(db, year, grouped)


def _summed(one: Months, other: Months) -> Months:
    """Two items' months added up, as a new dict (neither changed: each may be shared)."""
    out = {month: list(counts) for month, counts in one.items()}
    for month, (n, k) in other.items():
        counts = out.setdefault(month, [0, 0])
        counts[0] += n
        counts[1] += k
    return out


def _sessions(db: Database, ids: set[str]) -> dict[str, _Session]:
    found = {}
    engine = dialect.engine_of(db)
    for chunk, marks in in_chunks(ids):
        for sid, unit, envoy, kind, starts, counts, month, unnamed in db.execute(
            f"SELECT s.id, s.unit_code, s.lead_envoy_id, s.kind, s.starts_at, "
            f"{counted.live('s')} AND {counted.trains('s')}, "
            f"{counted.local_month('s.starts_at', engine)}, "
            f"{counted.headcount_reported('s')} AND NOT {counted.has_checkins('s', engine=engine)} "
            f"FROM sessions s WHERE s.id IN ({marks})",
            chunk,
        ):
            found[sid] = _Session(
                unit or "",
                envoy or "",
                kind,
                china_year(starts) or 0,
                month,
                bool(counts),
                bool(unnamed),
            )
    return found


def _farmers(
    db: Database, ids: set[str], pushed: dict[str, dict[str, Any]]
) -> tuple[set[str], set[str]]:
    """Of the farmers `ids`: those merged with another record, and those deleted."""
    merged: set[str] = set()
    gone: set[str] = set()
    for chunk, marks in in_chunks(ids):
        for alias, canonical in db.execute(
            f"SELECT id, canonical_id FROM farmer_aliases WHERE id IN ({marks}) "
            f"OR canonical_id IN ({marks})",
            chunk + chunk,
        ):
            merged.update((alias, canonical))
        gone.update(
            row[0]
            for row in db.execute(
                f"SELECT id FROM farmers WHERE deleted = 1 AND id IN ({marks})", chunk
            )
        )
    for farmer_id in ids & pushed.keys():
        if pushed[farmer_id].get("deleted"):
            gone.add(farmer_id)
        else:
            gone.discard(farmer_id)
    return merged, gone


def before_purge(db: Database, cutoff: str) -> None:
    """Tombstones older than `cutoff` are about to be purged: a purged farmer's check-ins would
    count again, and a hand-out at a purged session would lose its place."""
    if not summaries.enabled():
        set_state(db, STALE, 1)
        return
    old = "deleted = 1 AND updated_at < ?"
    mark_farmers(
        db, [row[0] for row in db.execute(f"SELECT id FROM farmers WHERE {old}", [cutoff])]
    )
    for kind in (p.SESSION, p.LEAFLET_HANDOUT, p.PLOT):
        for row in db.query(f"SELECT * FROM [{p.TABLES[kind]}] WHERE {old}", [cutoff]):
            mark(db, positions_of(db, kind, row))
            if kind == p.SESSION:
                mark(db, placeless_handouts(db, row))
