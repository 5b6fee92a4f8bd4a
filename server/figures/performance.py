"""Envoy performance (绩效考评): each envoy's year as one row of figures, in a few grouped queries.

Which envoys: those serving the unit (a township of it, or handing out in it that year: the rule
of server.reconciliation), or one envoy. Their figures are their whole year's work, wherever it
was done: the unit chooses who is listed, not which records count. Every figure leaves deleted
records out and is worked out for all listed envoys at once (one query per family of records,
never one per envoy); docs/report.md says exactly what each column counts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from server.figures import counted, questioned
from server.figures.count import SCAN_FROM_SESSIONS
from server.figures.counted import Scope, envoys_in_unit
from server.reference.lookups import envoy_by_id, unit_scope
from server.store import dialect
from server.store.dialect import Engine
from shared.choices import SESSION_KIND_LABELS
from shared.clock import to_iso, utc_now

SESSION_KINDS = tuple(SESSION_KIND_LABELS)
# The record kinds an envoy reports as work, each with its table and the column dating it:
# the denominator of the share questioned. Check-ins (the farmer's act, hundreds a session)
# and farmer registrations are left out of both sides of the share.
# An observation of a deleted plot is left out with its plot.
RECORD_DATES = {
    "session": ("sessions", "starts_at", "time", ""),
    "leaflet_handout": ("leaflet_handouts", "handed_out_at", "time", ""),
    "leaflet_receipt": ("leaflet_receipts", "received_on", "day", ""),
    "plot": ("plots", "established_on", "day", ""),
    "plot_observation": (
        "plot_observations",
        "observed_on",
        "day",
        " AND " + counted.live_plot("plot_id"),
    ),
}
# Every column a table of envoys can be sorted by, in the order the page shows them.
COLUMNS = (
    "envoy",
    "townships",
    *(f"kind_{kind}" for kind in SESSION_KINDS),
    "co_run",
    "verified",
    "reported",
    "trainees",
    "service_days",
    "verified_days",
    "leaflets",
    "plots",
    "area_mu",
    "records",
    "questioned",
    "questioned_share",
)
TEXT_COLUMNS = ("envoy", "townships")
# (person-times, distinct people) of each listed envoy read from elsewhere (the summaries:
# server/summaries/read.py envoys_trained, which sits above this package), or None where they
# are counted from the check-ins here.
Trained = Callable[[Database, Scope, list[str]], dict[str, tuple[int, int]] | None]


@dataclass
class EnvoyFigures:
    """One envoy's year; see docs/report.md for what each figure counts."""

    envoy_id: str
    envoy: str
    township_codes: list[str]
    townships: str
    sessions: dict[str, int] = field(default_factory=dict)  # led, by kind
    co_run: int = 0
    verified: int = 0
    reported: int = 0
    trainees: int = 0
    service_days: int = 0  # claimed: days with a session led or co-run, or an observation
    verified_days: int = 0  # of those, days with evidence (服务签到天数)
    leaflets: int = 0
    plots: int = 0
    area_mu: float = 0.0
    records: int = 0
    questioned: int = 0

    @property
    def questioned_share(self) -> float | None:
        """Percent of the envoy's records under question; None without records."""
        if not self.records:
            return None
        return round(100 * self.questioned / self.records, 1)

    def cell(self, column: str) -> Any:
        """One column of `row()`, without building the row (sorting the nation's envoys)."""
        if column.startswith("kind_"):
            return self.sessions.get(column.removeprefix("kind_"), 0)
        return getattr(self, column)

    def row(self) -> dict[str, Any]:
        """Flat, for a table: one key per column of COLUMNS, plus envoy_id and township_codes."""
        out: dict[str, Any] = {
            "envoy_id": self.envoy_id,
            "envoy": self.envoy,
            "townships": self.townships,
            "township_codes": " ".join(self.township_codes),
        }
        for kind in SESSION_KINDS:
            out[f"kind_{kind}"] = self.sessions.get(kind, 0)
        for key in COLUMNS[2 + len(SESSION_KINDS) :]:
            out[key] = getattr(self, key)
        return out


@dataclass
class Performance:
    year: int
    unit_code: str | None
    unit_name: str
    envoy_id: str | None
    as_of: str
    sort: str
    descending: bool
    rows: list[EnvoyFigures]


def sort_rows(rows: list[EnvoyFigures], sort: str, descending: bool) -> list[EnvoyFigures]:
    """All rows ordered by one column (ties by name, then id); a missing share sorts lowest."""
    if sort not in COLUMNS:
        raise ValueError(f"unknown column {sort}")
    rows = sorted(rows, key=lambda r: (r.envoy, r.envoy_id))
    if sort in TEXT_COLUMNS:
        return sorted(rows, key=lambda r: str(r.cell(sort)), reverse=descending)

    def value(r: EnvoyFigures) -> float:
        found = r.cell(sort)
        return float("-inf") if found is None else float(found)

    return sorted(rows, key=value, reverse=descending)


def performance(
    db: Database,
    year: int,
    unit_code: str | None = None,
    envoy_id: str | None = None,
    sort: str = "envoy",
    descending: bool = False,
    now: datetime | None = None,
    trained: Trained | None = None,
) -> Performance:
    """The year's figures of every envoy serving the unit (lookups.home_unit when neither a
    unit nor an envoy is named), or of one envoy; rows sorted by `sort`. `trained` may give the
    person-times and people (else, or when it gives None, counted from the check-ins)."""
    unit = unit_scope(db, unit_code) if unit_code or not envoy_id else None
    if envoy_id:
        envoy_by_id(db, envoy_id)
    scope = Scope(year, unit["prefix"] if unit else "", envoy_id)
    params = counted.params(scope)
    rows = _envoys(db, scope, params)
    # The envoys travel into every query as one JSON parameter, chosen once.
    params["envoys"] = json.dumps(list(rows))
    if rows:
        known = trained(db, scope, list(rows)) if trained else None
        if known is None:
            _checkins(db, params, rows)
        else:
            for envoy_id, (times, people) in known.items():
                rows[envoy_id].verified, rows[envoy_id].trainees = times, people
        families = (_sessions, _service_days, _verified_days, _handouts, _plots)
        for family in (*families, _records):
            family(db, params, rows)
    return Performance(
        year,
        unit["code"] if unit else None,
        unit["name"] if unit else "",
        envoy_id,
        to_iso(now or utc_now()),
        sort,
        descending,
        sort_rows(list(rows.values()), sort, descending),
    )


# ---------------------------------------------------------------- the families


def chosen(engine: Engine) -> str:
    """SQL on an envoy id column: one of the envoys listed (the JSON parameter :envoys)."""
    return f"IN (SELECT t.value FROM {dialect.json_each(engine, ':envoys', 't')})"


SESSION_YEAR = f"{counted.live('s')} AND {counted.session_in_year('s')}"


def _envoys(db: Database, scope: Scope, params: dict[str, Any]) -> dict[str, EnvoyFigures]:
    """The envoys listed, by name, with the names of the townships they serve."""
    units = dict(db.execute("SELECT code, name FROM units WHERE level = 'township'").fetchall())
    envoy = " AND e.id = :envoy" if scope.envoy_id else ""
    sql = (
        "SELECT e.id, e.name, e.township_codes FROM envoys e "
        f"WHERE {envoys_in_unit(scope, dialect.engine_of(db))}{envoy} ORDER BY e.name, e.id"
    )
    rows = {}
    for envoy_id, name, codes in db.execute(sql, params):
        padded = [code.ljust(12, "0") for code in json.loads(codes or "[]")]
        names = "、".join(units.get(code, code) for code in padded)
        rows[envoy_id] = EnvoyFigures(envoy_id, name or envoy_id, padded, names)
    return rows


Rows = dict[str, EnvoyFigures]


def _sessions(db: Database, params: dict[str, Any], rows: Rows) -> None:
    """Sessions led, by kind, and their typed headcounts (TV lectures' audiences aside)."""
    sql = (
        f"SELECT s.lead_envoy_id, s.kind, count(*), "
        f"sum({counted.reported_headcount('s')}) FROM sessions s "
        f"WHERE {SESSION_YEAR} AND s.lead_envoy_id {chosen(dialect.engine_of(db))} GROUP BY 1, 2"
    )
    for envoy_id, kind, count, reported in db.execute(sql, params):
        row = rows[envoy_id]
        row.sessions[kind] = count
        row.reported += reported or 0


def _checkins(db: Database, params: dict[str, Any], rows: Rows) -> None:
    """Person-times (session, person pairs: a merged farmer once per session) and distinct
    people at the sessions each envoy led, TV lectures aside; tallied as server.figures does.

    Check-ins come back as (session, farmer) only, the session's envoy looked up in a dict:
    a few sessions reach theirs through the index on attendance ids, many by one scan."""
    engine = dialect.engine_of(db)
    sessions = (
        "s AS MATERIALIZED (SELECT s.id FROM sessions s WHERE "
        f"{SESSION_YEAR} AND {counted.trains('s')} AND s.lead_envoy_id {chosen(engine)})"
    )
    lead = dict(
        db.execute(
            "SELECT s.id, s.lead_envoy_id FROM sessions s WHERE "
            f"{SESSION_YEAR} AND {counted.trains('s')} AND s.lead_envoy_id {chosen(engine)}",
            params,
        ).fetchall()
    )
    kept = counted.checkin_counts("a")
    if len(lead) <= SCAN_FROM_SESSIONS:
        source = f"FROM s {counted.session_checkins(engine)} WHERE {kept}"
    else:
        source = f"FROM attendances a WHERE {kept} AND a.session_id IN (SELECT id FROM s)"
    sql = f"WITH {sessions} SELECT a.session_id, a.farmer_id {source}"
    aliases = dict(db.execute("SELECT id, canonical_id FROM farmer_aliases").fetchall())
    merged = set(aliases) | set(aliases.values())
    times: dict[str, int] = defaultdict(int)
    people: dict[str, set[str]] = defaultdict(set)
    pairs: set[tuple[str, str]] = set()
    for session, farmer in db.execute(sql, params):
        person = aliases.get(farmer, farmer)
        if farmer in merged:
            # Only merged farmers' check-ins can repeat a (session, person) pair.
            if (session, person) in pairs:
                continue
            pairs.add((session, person))
        envoy_id = lead[session]
        times[envoy_id] += 1
        people[envoy_id].add(person)
    for envoy_id, value in times.items():
        rows[envoy_id].verified = value
        rows[envoy_id].trainees = len(people[envoy_id])


def service_day_rows(envoy: str, engine: Engine) -> str:
    """SELECT (envoy, day, led, co_run, observed, what, record) of each session led or co-run
    and each plot observation in the year, for envoys matching `envoy` (SQL on an envoy id column, e.g.
    chosen(engine) or `= :envoy`); days are China-time dates."""
    day = dialect.china_date(engine, "s.starts_at")
    return (
        f"SELECT s.lead_envoy_id AS envoy, {day} AS day, 1 AS led, 0 AS co_run, 0 AS observed, "
        f"s.title AS what, s.id AS record FROM sessions s WHERE {SESSION_YEAR} "
        f"AND s.lead_envoy_id {envoy} UNION ALL SELECT c.value, {day}, 0, 1, 0, s.title, s.id "
        f"FROM sessions s CROSS JOIN {dialect.json_each(engine, 's.co_envoy_ids', 'c')} "
        f"WHERE {SESSION_YEAR} AND s.co_envoy_ids != '[]' "
        f"AND c.value != s.lead_envoy_id AND c.value {envoy} "
        "UNION ALL SELECT o.envoy_id, o.observed_on, 0, 0, 1, "
        "p.crop || '（' || p.host_name || '）', o.id FROM plot_observations o JOIN plots p ON p.id = o.plot_id "
        f"WHERE {counted.live('o')} AND {counted.live('p')} AND o.observed_on >= :day_start AND o.observed_on < :day_end "
        f"AND o.envoy_id {envoy}"
    )


def _service_days(db: Database, params: dict[str, Any], rows: Rows) -> None:
    """Distinct days with a session led or co-run or an observation; and, from the same rows,
    the sessions co-run (the envoy a co-envoy, someone else leading)."""
    engine = dialect.engine_of(db)
    sql = (
        "SELECT envoy, count(DISTINCT day), count(DISTINCT CASE WHEN co_run = 1 THEN record END) "
        f"FROM ({service_day_rows(chosen(engine), engine)}) AS sd GROUP BY envoy"
    )
    for envoy_id, days, co_run in db.execute(sql, params):
        rows[envoy_id].service_days = days
        rows[envoy_id].co_run = co_run


def evidence_day_rows(envoy: str, engine: Engine) -> str:
    """SELECT (envoy, day) of each China-time day the year gives evidence of an envoy's work,
    for envoys matching `envoy`: named check-ins (live, `counted.has_checkins`) at a session
    the envoy led, on the session's day; or a live photo of theirs both timed (the camera's
    `taken_at`) and placed (latitude and longitude), on the day it was taken."""
    return (
        f"SELECT s.lead_envoy_id AS envoy, {dialect.china_date(engine, 's.starts_at')} AS day "
        f"FROM sessions s WHERE {SESSION_YEAR} AND s.lead_envoy_id {envoy} "
        f"AND {counted.has_checkins('s', engine=engine)} "
        f"UNION SELECT ph.envoy_id, {dialect.china_date(engine, 'ph.taken_at')} FROM photos ph "
        f"WHERE {counted.live('ph')} AND ph.taken_at >= :start AND ph.taken_at < :end "
        "AND ph.latitude IS NOT NULL AND ph.longitude IS NOT NULL "
        f"AND ph.envoy_id {envoy}"
    )


def verified_day_rows(envoy: str, engine: Engine) -> str:
    """SELECT (envoy, day), distinct: the service days (`service_day_rows`, the days claimed)
    that have evidence (`evidence_day_rows`): verified service days, 服务签到天数."""
    return (
        f"SELECT envoy, day FROM ({service_day_rows(envoy, engine)}) AS sd "
        f"INTERSECT SELECT envoy, day FROM ({evidence_day_rows(envoy, engine)}) AS ev"
    )


def _verified_days(db: Database, params: dict[str, Any], rows: Rows) -> None:
    engine = dialect.engine_of(db)
    sql = (
        f"SELECT envoy, count(*) FROM ({verified_day_rows(chosen(engine), engine)}) AS vd "
        "GROUP BY envoy"
    )
    for envoy_id, days in db.execute(sql, params):
        rows[envoy_id].verified_days = days


# A hand-out counts where its place is known: its own unit, or its session's (as the lists do).
HANDOUT_PLACED = f"{counted.HANDOUT_UNIT} IS NOT NULL"


def _handouts(db: Database, params: dict[str, Any], rows: Rows) -> None:
    """Copies handed out, corrections (negative copies) included, so net."""
    sql = (
        f"SELECT h.envoy_id, sum(h.copies) FROM leaflet_handouts h "
        f"LEFT JOIN sessions hs ON hs.id = h.session_id WHERE {counted.live('h')} "
        f"AND {counted.handout_in_year()} AND {HANDOUT_PLACED} "
        f"AND h.envoy_id {chosen(dialect.engine_of(db))} GROUP BY 1"
    )
    for envoy_id, copies in db.execute(sql, params):
        rows[envoy_id].leaflets = copies or 0


def _plots(db: Database, params: dict[str, Any], rows: Rows) -> None:
    sql = (
        f"SELECT p.envoy_id, count(*), coalesce(sum(p.area_mu), 0) FROM plots p "
        f"WHERE {counted.live('p')} AND {counted.plot_in_year()} "
        f"AND p.envoy_id {chosen(dialect.engine_of(db))} GROUP BY 1"
    )
    for envoy_id, count, area in db.execute(sql, params):
        rows[envoy_id].plots = count
        rows[envoy_id].area_mu = round(area, 2)


def _dated(kind: str, alias: str) -> str:
    """SQL: record `alias` of `kind` (see RECORD_DATES) is kept and dated in the year."""
    _table, column, dating, extra = RECORD_DATES[kind]
    start, end = (":start", ":end") if dating == "time" else (":day_start", ":day_end")
    extra = extra.replace("plot_id", f"{alias}.plot_id")
    return (
        f"{counted.live(alias)} AND {alias}.{column} >= {start} AND {alias}.{column} < {end}{extra}"
    )


def record_rows(envoy: str) -> str:
    """SELECT (kind, id, envoy_id, day) of the envoys' records of the year that the share
    questioned counts (see RECORD_DATES), for envoys matching `envoy` (SQL on envoy_id)."""
    return " UNION ALL ".join(
        f"SELECT '{kind}' AS kind, t.id, t.envoy_id, t.{column} AS day FROM {table} t "
        f"WHERE {_dated(kind, 't')} AND t.envoy_id {envoy}"
        for kind, (table, column, _dating, _extra) in RECORD_DATES.items()
    )


def _records(db: Database, params: dict[str, Any], rows: Rows) -> None:
    """The envoy's records of the year, and how many of them are under question now: the
    questioned side starts from the reviews under question (few) rather than every record."""
    engine = dialect.engine_of(db)
    sql = f"SELECT envoy_id, count(*) FROM ({record_rows(chosen(engine))}) AS rr GROUP BY 1"
    for envoy_id, count in db.execute(sql, params):
        rows[envoy_id].records = count
    under = " UNION ALL ".join(
        f"SELECT t.envoy_id FROM reviews r JOIN {table} t ON t.id = r.record_id "
        f"WHERE r.record_kind = '{kind}' AND {questioned.under_question('r.status')} AND {_dated(kind, 't')} "
        f"AND t.envoy_id {chosen(engine)}"
        for kind, (table, *_rest) in RECORD_DATES.items()
    )
    for envoy_id, count in db.execute(
        f"SELECT envoy_id, count(*) FROM ({under}) AS uq GROUP BY 1", params
    ):
        rows[envoy_id].questioned = count
