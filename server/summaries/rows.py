"""What a county's records of one year add to the summaries, counted by server/counted.py's rules.

Every condition (deleted records, TV lectures' audiences, merged farmers as one person per
session, records under question, China-time years and months, where a hand-out counts and in
which month a correction does) comes from server/counted.py, server/questioned.py and
server/dimensions.py; this module only sorts what they select into summary rows.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from server.figures import counted, questioned
from server.figures.counted import Scope
from server.figures.dimensions import Dimension, dimensions
from server.figures.questioned import CheckinQuestions
from server.store import dialect
from server.summaries.names import (
    AREA,
    AUDIENCE,
    COPIES,
    HANDOUTS,
    PERSON_TIMES,
    PLOTS,
    REPORTED,
    SESSIONS,
    TECHNOLOGIES,
    TRAINEES,
    VARIETIES,
    WITHOUT_NAMES,
)
from server.summaries.store import Rows
from shared import protocol as p


def _month(db: Database) -> Dimension:
    return dimensions(dialect.engine_of(db))["month"]


def county_rows(db: Database, year: int, county: str) -> Rows:
    """Every summary row the records of `county` in `year` give (questioned ones flagged)."""
    scope = Scope(year, county)
    rows = Rows(year)
    sessions = _sessions(db, scope, rows)
    _checkins(db, scope, rows, sessions)
    _handouts(db, scope, rows)
    _plots(db, scope, rows)
    return rows


def _sessions(db: Database, scope: Scope, rows: Rows) -> dict[str, tuple[str, str, str, int]]:
    """Sessions' own figures and technologies; their (unit, envoy, kind, month) by id."""
    engine = dialect.engine_of(db)
    sql = (
        f"WITH {counted.sessions_cte(scope)} SELECT s.id, s.unit_code, s.lead_envoy_id, s.kind, "
        f"s.q, {_month(db).session}, {counted.audience_estimate('s')}, "
        f"{counted.reported_headcount('s')}, CASE WHEN {counted.headcount_reported('s')} "
        f"AND NOT {counted.has_checkins('s', engine=engine)} THEN s.reported_headcount END, "
        "s.technology_ids "
        "FROM s ORDER BY s.id"
    )
    found = {}
    for sid, unit, envoy, kind, q, month, audience, reported, unnamed, techs in db.execute(
        sql, scope.params()
    ):
        found[sid] = (unit, envoy or "", kind, month)
        rows.add_figure(unit, envoy, kind, month, SESSIONS, q, 1)
        rows.add_figure(unit, envoy, kind, month, AUDIENCE, q, audience or 0)
        rows.add_figure(unit, envoy, kind, month, REPORTED, q, reported or 0)
        rows.add_figure(unit, envoy, kind, month, WITHOUT_NAMES, q, unnamed or 0)
        for tech in json.loads(techs or "[]"):
            rows.add_item(unit, envoy, TECHNOLOGIES, str(tech), month, q)
    return found


def _checkins(
    db: Database, scope: Scope, rows: Rows, sessions: dict[str, tuple[str, str, str, int]]
) -> None:
    """Person-times: one per (session, person) pair, a merged farmer once; the pair is under
    question only when every check-in making it is (as server/figures.py tallies)."""
    aliases = dict(db.execute("SELECT id, canonical_id FROM farmer_aliases").fetchall())
    questions = CheckinQuestions.load(db)
    sql = (
        f"WITH {counted.sessions_cte(scope)} SELECT a.id, a.session_id, a.farmer_id FROM s "
        f"{counted.session_checkins(dialect.engine_of(db))} "
        f"WHERE {counted.checkin_counts('a')} "
        f"AND {counted.trains('s')}"
    )
    pairs: dict[tuple[str, str], bool] = {}
    for attendance, session, farmer in db.execute(sql, scope.params()):
        person = aliases.get(farmer, farmer)
        kept = not questions.covers(attendance, session, farmer, person)
        pairs[(session, person)] = pairs.get((session, person), False) or kept
    # A person's pairs at sessions of one place, envoy, kind and month add to the same rows:
    # tallied first, then added once each.
    tallies: dict[tuple[str, str, str, int, str], list[int]] = {}
    for (session, person), kept in pairs.items():
        unit, envoy, kind, month = sessions[session]
        counts = tallies.get((unit, envoy, kind, month, person))
        if counts is None:
            tallies[(unit, envoy, kind, month, person)] = [1, int(kept)]
        else:
            counts[0] += 1
            counts[1] += kept
    for (unit, envoy, kind, month, person), (n, k) in tallies.items():
        add_checkins(rows, unit, envoy, kind, month, person, n, k)


def add_checkins(
    rows: Rows, unit: str, envoy: str, kind: str, month: int, person: str, n: int, k: int
) -> None:
    """`n` counted (session, person) pairs of one person at sessions of one place, envoy, kind
    and month, `k` of them not under question: person-times, and sources of a trainee."""
    rows.add_figure(unit, envoy, kind, month, PERSON_TIMES, 0, k)
    rows.add_figure(unit, envoy, kind, month, PERSON_TIMES, 1, n - k)
    rows.add_items(unit, envoy, TRAINEES, person, month, n, k)


def _handouts(db: Database, scope: Scope, rows: Rows) -> None:
    columns = (
        f"h.id AS id, {counted.HANDOUT_UNIT} AS unit, h.envoy_id AS envoy, h.copies AS copies, "
        f"{questioned.flag(p.LEAFLET_HANDOUT, 'h.id')} AS q, {_month(db).handout} AS month"
    )
    rows_sql = counted.handout_rows(scope, columns, dialect.engine_of(db))
    sql = f"SELECT unit, envoy, copies, q, month FROM ({rows_sql}) AS hr ORDER BY id"
    for unit, envoy, copies, q, month in db.execute(sql, scope.params()):
        rows.add_figure(unit, envoy, "", month, HANDOUTS, q, 1)
        rows.add_figure(unit, envoy, "", month, COPIES, q, copies or 0)


def _plots(db: Database, scope: Scope, rows: Rows) -> None:
    sql = (
        f"SELECT p.village_code, p.envoy_id, p.area_mu, p.variety_id, p.technology_ids, "
        f"{questioned.flag(p.PLOT, 'p.id')}, {_month(db).plot} {counted.plot_rows(scope)} "
        "ORDER BY p.id"
    )
    for unit, envoy, area, variety, techs, q, month in db.execute(sql, scope.params()):
        rows.add_figure(unit, envoy, "", month, PLOTS, q, 1)
        rows.add_figure(unit, envoy, "", month, AREA, q, area or 0)
        if variety is not None:
            rows.add_item(unit, envoy, VARIETIES, str(variety), month, q)
        for tech in json.loads(techs or "[]"):
            rows.add_item(unit, envoy, TECHNOLOGIES, str(tech), month, q)


def counties_with_records(db: Database) -> list[tuple[int, str]]:
    """Every (China-time year, county) some session, hand-out or plot falls in."""
    engine = dialect.engine_of(db)
    found = db.execute(
        f"SELECT {dialect.china_year(engine, 'starts_at')}, substr(unit_code, 1, 6) FROM sessions "
        f"UNION SELECT {dialect.china_year(engine, 'h.handed_out_at')}, "
        f"substr({counted.HANDOUT_UNIT}, 1, 6) "
        "FROM leaflet_handouts h LEFT JOIN sessions hs ON hs.id = h.session_id "
        "UNION SELECT CAST(substr(established_on, 1, 4) AS INTEGER), substr(village_code, 1, 6) "
        "FROM plots"
    ).fetchall()
    return sorted((y, c) for y, c in found if y is not None and c)
