"""The records behind a figure: which sessions, check-ins, hand-outs and plots it counts.

Each list takes the same scope as the figure (server/figures/counted.py Scope: a China-time year, a unit's
code range, maybe one envoy) and the same rules (deleted records and deleted farmers left out,
TV lectures not counted as training), plus the filters a breakdown row stands for. Pages of
`limit` rows come back with the total count. Mobiles come unmasked; the caller masks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlite_utils import Database

from server.figures import counted
from server.figures.counted import HANDOUT_COUNTED_AT, Scope, local_month
from server.store import dialect
from server.store.dialect import Engine
from shared.errors import TianjianError

KINDS = ("sessions", "checkins", "handouts", "plots")


class UnknownRecord(TianjianError):
    status = 404
    message = "找不到该记录 / no such record"


@dataclass(frozen=True)
class Filters:
    """What a breakdown row or a form narrows a list to; None means any."""

    kind: str | None = None
    month: int | None = None
    technology: str | None = None
    gender: str | None = None
    session: str | None = None
    search: str | None = None
    # Sessions the scope's envoy co-ran (someone else led) instead of those they led.
    co_run: bool = False
    # Only sessions whose typed headcount counts as reported (one given, not a TV lecture).
    reported: bool = False
    # Only an envoy's service days with evidence (server.figures.performance.verified_day_rows).
    verified: bool = False


@dataclass(frozen=True)
class Page:
    """One page of rows, the count of all matching, and sums over all matching (what a summed
    figure drills to: copies, area, person-times, people, headcounts)."""

    rows: list[dict[str, Any]]
    total: int
    sums: dict[str, float] = field(default_factory=dict)


def _session_where(scope: Scope, filters: Filters, params: dict[str, Any], engine: Engine) -> str:
    where = [
        counted.live("s"),
        counted.in_unit("s.unit_code"),
        counted.session_in_year("s"),
    ]
    if scope.envoy_id and filters.co_run:
        # The envoy's co-run sessions: someone else's to count, listed for the envoy to see.
        where.append(
            "s.lead_envoy_id != :envoy AND EXISTS "
            f"(SELECT 1 FROM {dialect.json_each(engine, 's.co_envoy_ids', 'c')} "
            "WHERE c.value = :envoy)"
        )
    elif scope.envoy_id:
        where.append("s.lead_envoy_id = :envoy")
    if filters.reported:
        where.append(counted.headcount_reported("s"))
    if filters.kind:
        where.append("s.kind = :kind")
        params["kind"] = filters.kind
    if filters.month:
        where.append(f"{local_month('s.starts_at', engine)} = :month")
        params["month"] = filters.month
    if filters.technology:
        where.append(
            f"EXISTS (SELECT 1 FROM {dialect.json_each(engine, 's.technology_ids', 't')} "
            "WHERE t.value = :tech)"
        )
        params["tech"] = filters.technology
    if filters.session:
        where.append("s.id = :session")
        params["session"] = filters.session
    return " AND ".join(where)


def sessions(db: Database, scope: Scope, filters: Filters, limit: int, offset: int) -> Page:
    """Keys: id, starts_at, kind, title, unit_code, unit, place, envoy_id, envoy,
    reported_headcount, checkins (named, not withdrawn), display_boards, photos (live)."""
    params = scope.params()
    engine = dialect.engine_of(db)
    where = _session_where(scope, filters, params, engine)
    if filters.search:
        where += " AND (lower(s.title) LIKE lower(:q) OR lower(s.place) LIKE lower(:q))"
        params["q"] = f"%{filters.search}%"
    # Headcounts as progress counts them: typed headcounts of trainings, a TV lecture's
    # audience estimate apart (server.figures, never added to people trained).
    total, headcounts, audience = db.execute(
        f"SELECT count(*), coalesce(sum({counted.reported_headcount('s')}), 0), "
        f"coalesce(sum({counted.audience_estimate('s')}), 0) FROM sessions s WHERE {where}",
        params,
    ).fetchone()
    # Technologies promoted count distinct technologies, not sessions: say how many these are.
    [technologies] = db.execute(
        "SELECT count(DISTINCT t.value) FROM sessions s "
        f"CROSS JOIN {dialect.json_each(engine, 's.technology_ids', 't')} WHERE {where}",
        params,
    ).fetchone()
    rows = list(
        db.query(
            "SELECT s.id, s.starts_at, s.kind, s.title, s.unit_code, u.name AS unit, s.place, "
            "s.lead_envoy_id AS envoy_id, e.name AS envoy, s.reported_headcount, s.display_boards, "
            f"(SELECT count(*) FROM attendances a WHERE a.session_id = s.id AND {counted.live('a')}) "
            "AS checkins, (SELECT count(*) FROM photos ph WHERE ph.subject_kind = 'session' "
            f"AND ph.subject_id = s.id AND {counted.live('ph')}) AS photos "
            "FROM sessions s LEFT JOIN units u ON u.code = s.unit_code "
            f"LEFT JOIN envoys e ON e.id = s.lead_envoy_id WHERE {where} "
            "ORDER BY s.starts_at DESC, s.id LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
    )
    sums = {"reported_headcount": headcounts, "technologies": technologies}
    if audience:
        sums["audience_estimate"] = audience
    return Page(rows, int(total), sums)


def checkins(db: Database, scope: Scope, filters: Filters, limit: int, offset: int) -> Page:
    """Keys: id, checked_in_at, method, session_id, session_title, session_kind, starts_at,
    unit, envoy, farmer_id (the person, after merges), farmer, mobile, gender, birth_year,
    village."""
    params = scope.params()
    engine = dialect.engine_of(db)
    where = _session_where(scope, filters, params, engine)
    where += f" AND {counted.trains('s')} AND {counted.live('a')} AND {counted.live('f0')}"
    if filters.gender:
        where += " AND coalesce(f.gender, 'unspecified') = :gender"
        params["gender"] = filters.gender
    if filters.search:
        where += " AND (lower(f.name) LIKE lower(:q) OR lower(s.title) LIKE lower(:q))"
        params["q"] = f"%{filters.search}%"
    source = (
        "FROM sessions s JOIN attendances a ON a.session_id = s.id "
        "JOIN farmers f0 ON f0.id = a.farmer_id "
        "LEFT JOIN farmer_aliases fa ON fa.id = a.farmer_id "
        f"LEFT JOIN farmers f ON f.id = {counted.person_of()} "
    )
    names = (
        "LEFT JOIN units u ON u.code = s.unit_code LEFT JOIN envoys e ON e.id = s.lead_envoy_id "
        "LEFT JOIN units v ON v.code = f.village_code "
    )
    # Person-times are (session, person) pairs: a merged farmer checked in twice counts once.
    total, person_times, people = db.execute(
        f"SELECT count(*), count(DISTINCT s.id || '|' || f.id), count(DISTINCT f.id) {source} "
        f"WHERE {where}",
        params,
    ).fetchone()
    rows = list(
        db.query(
            "SELECT a.id, a.checked_in_at, a.method, s.id AS session_id, s.title AS session_title, "
            "s.kind AS session_kind, s.starts_at, u.name AS unit, e.name AS envoy, "
            "f.id AS farmer_id, f.name AS farmer, f.mobile, f.gender, f.birth_year, "
            "v.name AS village "
            f"{source}{names}WHERE {where} "
            "ORDER BY s.starts_at DESC, a.checked_in_at, a.id LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
    )
    return Page(rows, int(total), {"person_times": person_times, "people": people})


def handouts(db: Database, scope: Scope, filters: Filters, limit: int, offset: int) -> Page:
    """Keys: id, handed_out_at, title, copies, envoy, unit (where, or the session's), session_id,
    session_title."""
    params = scope.params()
    where = [counted.counted_handouts(scope)]
    if filters.month:
        # A correction in the month of the hand-out it corrects, as the figures count it.
        where.append(f"{local_month(HANDOUT_COUNTED_AT, dialect.engine_of(db))} = :month")
        params["month"] = filters.month
    if filters.kind:
        where.append("hs.kind = :kind")
        params["kind"] = filters.kind
    if filters.session:
        where.append("h.session_id = :session")
        params["session"] = filters.session
    if filters.search:
        where.append("lower(t.title) LIKE lower(:q)")
        params["q"] = f"%{filters.search}%"
    source = (
        "FROM leaflet_handouts h LEFT JOIN sessions hs ON hs.id = h.session_id "
        "LEFT JOIN leaflet_titles t ON t.id = h.leaflet_title_id "
    )
    names = (
        "LEFT JOIN envoys e ON e.id = h.envoy_id "
        "LEFT JOIN units u ON u.code = coalesce(h.unit_code, hs.unit_code) "
    )
    condition = " AND ".join(where)
    total, copies = db.execute(
        f"SELECT count(*), coalesce(sum(h.copies), 0) {source} WHERE {condition}", params
    ).fetchone()
    rows = list(
        db.query(
            "SELECT h.id, h.handed_out_at, t.title, h.copies, e.name AS envoy, "
            "u.name AS unit, h.session_id, hs.title AS session_title "
            f"{source}{names}WHERE {condition} "
            "ORDER BY h.handed_out_at DESC, h.id LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
    )
    return Page(rows, int(total), {"copies": copies})


def plots(db: Database, scope: Scope, filters: Filters, limit: int, offset: int) -> Page:
    """Keys: id, established_on, village_code, village, host_name, crop, variety, area_mu,
    target_yield_kg_per_mu, latest_yield_kg_per_mu, envoy."""
    params = scope.params()
    engine = dialect.engine_of(db)
    where = [counted.counted_plots(replace(scope, exclude_questioned=False))]
    if filters.month:
        where.append(f"{dialect.date_month(engine, 'p.established_on')} = :month")
        params["month"] = filters.month
    if filters.technology:
        where.append(
            f"EXISTS (SELECT 1 FROM {dialect.json_each(engine, 'p.technology_ids', 't')} "
            "WHERE t.value = :tech)"
        )
        params["tech"] = filters.technology
    if filters.search:
        where.append("(lower(p.host_name) LIKE lower(:q) OR lower(p.crop) LIKE lower(:q))")
        params["q"] = f"%{filters.search}%"
    condition = " AND ".join(where)
    total, area, varieties = db.execute(
        "SELECT count(*), coalesce(sum(p.area_mu), 0), count(DISTINCT p.variety_id) "
        f"FROM plots p WHERE {condition}",
        params,
    ).fetchone()
    names = (
        "LEFT JOIN units u ON u.code = p.village_code LEFT JOIN varieties va ON va.id = p.variety_id "
        "LEFT JOIN envoys e ON e.id = p.envoy_id "
    )
    rows = list(
        db.query(
            "SELECT p.id, p.established_on, p.village_code, u.name AS village, p.host_name, "
            "p.crop, va.name AS variety, p.area_mu, p.target_yield_kg_per_mu, "
            "(SELECT o.yield_kg_per_mu FROM plot_observations o WHERE o.plot_id = p.id "
            f"AND {counted.live('o')} AND o.yield_kg_per_mu IS NOT NULL "
            "ORDER BY o.observed_on DESC LIMIT 1) AS latest_yield_kg_per_mu, e.name AS envoy "
            f"FROM plots p {names}WHERE {condition} "
            "ORDER BY p.established_on DESC, p.id LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
    )
    return Page(rows, int(total), {"area_mu": round(area, 2), "varieties": varieties})


LISTS = {"sessions": sessions, "checkins": checkins, "handouts": handouts, "plots": plots}


def session_detail(db: Database, session_id: str) -> dict[str, Any]:
    """One session with its unit, lead envoy and village names (deleted ones too, marked)."""
    rows = list(
        db.query(
            "SELECT s.*, u.name AS unit, e.name AS envoy FROM sessions s "
            "LEFT JOIN units u ON u.code = s.unit_code LEFT JOIN envoys e ON e.id = s.lead_envoy_id "
            "WHERE s.id = ?",
            [session_id],
        )
    )
    if not rows:
        raise UnknownRecord()
    return rows[0]
