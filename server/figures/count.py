"""Each indicator's actual value for a year and a unit (or envoy), optionally grouped, in a few SQL queries.

Query shapes, chosen for a province-sized database (see scripts/bench report):
- a unit is a range of division codes, `code >= lo AND code < hi` (a 9-digit township prefix
  covers its 12-digit villages), which indexes can answer; `LIKE 'prefix%'` cannot;
- a session's check-ins are found through the unique index on attendances.id: a check-in's id
  starts with the first 18 characters of its session's (shared.ids.attendance_id), so no index
  on attendances.session_id has to be kept up on the sync path; when a scope holds thousands
  of sessions (a province), one scan of the table beats that many index ranges;
- one query per family (sessions, check-ins, hand-outs, plots) gives every indicator of that
  family at once, grouped by any dimension in the same query (never one report per unit).

Person-times count (session, person) pairs: a farmer registered twice and merged counts once
per session. Rows are unique per (session, farmer record) by construction, so only check-ins of
merged farmers can collide; those few are checked against their session's other check-ins
instead of sorting every pair.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from sqlite_utils import Database

from server.figures import counted, questioned, receipts
from server.figures.counted import Scope, local_month
from server.figures.dimensions import TOTAL, Dimension, dimensions
from server.figures.questioned import CheckinQuestions
from server.store import dialect
from shared import protocol as p
from shared.indicators import SESSION_KIND_INDICATORS

# Scopes with more sessions than this read check-ins by one scan instead of per-session ranges.
SCAN_FROM_SESSIONS = 4000

INDICATOR_FIGURES = (
    "trainee_attendances",
    "verified",
    "unique_trainees",
    "village_trainings",
    "large_trainings",
    "tv_lectures",
    "leaflets_distributed",
    "technologies_promoted",
    "varieties_introduced",
    "demo_plots",
    "demo_area_mu",
)


def _groups() -> defaultdict[Any, dict[str, float]]:
    return defaultdict(dict)


@dataclass
class Figures:
    """Actual values per group key ({key: {indicator or extra: value}}); with `monthly`, the
    additive figures by month and, for distinct counts, how many were first counted each month.

    `questioned` holds, per group, how much of each figure is under question: what the figure
    loses when records under question are left out (empty when the scope leaves them out)."""

    dimension: str
    groups: defaultdict[Any, dict[str, float]] = field(default_factory=_groups)
    months: defaultdict[Any, dict[str, float]] = field(default_factory=_groups)
    firsts: dict[str, dict[int, int]] = field(default_factory=dict)
    questioned: defaultdict[Any, dict[str, float]] = field(default_factory=_groups)

    def total(self) -> dict[str, float]:
        return self.groups.get(TOTAL, {})

    def questioned_total(self) -> dict[str, float]:
        return self.questioned.get(TOTAL, {})


def _add(into: dict[str, float], values: dict[str, float]) -> None:
    for key, value in values.items():
        into[key] = into.get(key, 0) + (value or 0)


# ---------------------------------------------------------------- SQL pieces


def _checkin_rows(scope: Scope, db: Database, dimension: Dimension) -> str:
    """FROM ... WHERE for the named check-ins in scope (alias a; s their session)."""
    farmer = (
        " LEFT JOIN farmer_aliases fa ON fa.id = a.farmer_id "
        f"LEFT JOIN farmers f ON f.id = {counted.person_of()}"
        if dimension.needs_farmer
        else ""
    )
    kept = counted.checkin_counts("a")
    if counted.count_sessions(db, scope) <= SCAN_FROM_SESSIONS:
        source = "s " + counted.session_checkins(dialect.engine_of(db))
    elif "s." not in (dimension.attendance or "") and not dimension.session_join:
        # Nothing of the session is needed: one scan, checking each session in a set.
        return (
            f"FROM attendances a{farmer} WHERE {kept} AND a.session_id IN "
            f"(SELECT id FROM s WHERE {counted.trains('s')})"
        )
    else:
        source = (
            f"attendances a {dialect.join_in_order(dialect.engine_of(db))} s ON s.id = a.session_id"
        )
    return f"FROM {source} {dimension.session_join}{farmer} WHERE {kept} AND {counted.trains('s')}"


# ---------------------------------------------------------------- the families


def compute(db: Database, scope: Scope, dimension: str = "total", monthly: bool = False) -> Figures:
    """Every indicator for `scope`, grouped by `dimension` (see dimensions); see Figures."""
    dims = dimensions(dialect.engine_of(db))
    dim = dims[dimension]
    figures = Figures(dimension)
    params = scope.params()
    groups, doubted = figures.groups, figures.questioned
    by_month = dims["month"]
    if dim.attendance is not None:
        if monthly:
            _checkins(db, scope, dim, params, groups, doubted, figures.months, figures.firsts)
        else:
            _checkins(db, scope, dim, params, groups, doubted)
    for family, applies in (
        (_sessions, dim.session is not None),
        (_handouts, dim.handout is not None),
        (_plots, dim.plot is not None),
        (_technologies, dim.session is not None or dim.plot is not None),
    ):
        if applies:
            family(db, scope, dim, params, groups, doubted)
        if monthly:
            family(db, scope, by_month, params, figures.months, None)
    if monthly:
        figures.firsts.update(first_months(db, scope))
    if dimension == "total":
        groups[TOTAL]["received"] = _received(db, scope)
        if not scope.exclude_questioned and questioned.any_under_question(db, p.LEAFLET_RECEIPT):
            kept = _received(db, replace(scope, exclude_questioned=True))
            doubted[TOTAL]["received"] = round(groups[TOTAL]["received"] - kept, 2)
    for values in groups.values():
        for key in INDICATOR_FIGURES:
            values.setdefault(key, 0)
    if scope.exclude_questioned:
        doubted.clear()
    return figures


@dataclass
class _Tally:
    """Person-times and people of one group, gathered row by row."""

    person_times: int = 0
    people: set[str] = field(default_factory=set)
    # (session, person) pairs of merged farmers' check-ins only: the only ones that can repeat.
    merged_pairs: set[tuple[str, str]] = field(default_factory=set)

    def count(self, session: str, farmer: str, person: str, merged: set[str]) -> bool:
        """Count one check-in; False when its (session, person) pair was already counted."""
        if farmer in merged:
            pair = (session, person)
            if pair in self.merged_pairs:
                return False
            self.merged_pairs.add(pair)
        self.person_times += 1
        self.people.add(person)
        return True


def _checkins(
    db: Database,
    scope: Scope,
    dim: Dimension,
    params: dict[str, Any],
    groups: Any,
    doubted: Any,
    months: dict[int, dict[str, float]] | None = None,
    firsts: dict[str, dict[int, int]] | None = None,
) -> None:
    """Person-times (session, person pairs) and unique trainees per group, in one pass.

    The check-ins come back as (key, check-in, session, farmer) rows and are tallied here:
    merged farmers are looked up in a dict of the few aliases instead of a join per row, and
    only their check-ins are kept as pairs to catch one person checked in twice under two
    records. Check-ins under question (server/figures/questioned.py) are told apart by a set lookup:
    left out when the scope says so, else tallied a second time without them, so `doubted`
    gets what the figures lose without them. With `months`, the same pass gives person-times
    by month and each person's first month."""
    aliases = dict(db.execute("SELECT id, canonical_id FROM farmer_aliases").fetchall())
    merged = set(aliases) | set(aliases.values())
    questions = CheckinQuestions.load(db)
    check, exclude = bool(questions), scope.exclude_questioned
    month_of = {}
    if months is not None:
        month_of = dict(
            db.execute(
                f"WITH {counted.sessions_cte(scope)} SELECT id, "
                f"{local_month('s.starts_at', dialect.engine_of(db))} FROM s",
                params,
            ).fetchall()
        )
    sql = (
        f"WITH {counted.sessions_cte(scope)} SELECT {dim.attendance} AS k, a.id, a.session_id, "
        f"a.farmer_id {_checkin_rows(scope, db, dim)}"
    )
    tallies: dict[Any, _Tally] = defaultdict(_Tally)
    kept: dict[Any, _Tally] = defaultdict(_Tally)
    by_month: dict[int, int] = defaultdict(int)
    first_seen: dict[str, int] = {}
    for key, attendance, session, farmer in db.execute(sql, params):
        person = aliases.get(farmer, farmer)
        if check:
            if questions.covers(attendance, session, farmer, person):
                if exclude:
                    continue
            elif not exclude:
                kept[key].count(session, farmer, person, merged)
        if not tallies[key].count(session, farmer, person, merged):
            continue
        if months is not None:
            month = month_of[session]
            by_month[month] += 1
            if first_seen.get(person, 13) > month:
                first_seen[person] = month
    for key, tally in tallies.items():
        groups[key].update(
            trainee_attendances=tally.person_times,
            verified=tally.person_times,
            unique_trainees=len(tally.people),
        )
        if check and not exclude:
            without = kept[key]
            doubted[key].update(
                trainee_attendances=tally.person_times - without.person_times,
                verified=tally.person_times - without.person_times,
                unique_trainees=len(tally.people) - len(without.people),
            )
    if months is not None:
        for month, count in by_month.items():
            months[month]["trainee_attendances"] = count
    if firsts is not None:
        per_month: dict[int, int] = defaultdict(int)
        for month in first_seen.values():
            per_month[month] += 1
        firsts["unique_trainees"] = dict(per_month)


def _sessions(
    db: Database, scope: Scope, dim: Dimension, params: dict[str, Any], groups: Any, doubted: Any
) -> None:
    engine = dialect.engine_of(db)
    kinds = "".join(
        dialect.count_where(engine, f"s.kind = '{kind}'") + ", "
        for kind in SESSION_KIND_INDICATORS.values()
    )
    sql = (
        f"WITH {counted.sessions_cte(scope)} SELECT {dim.session} AS k, s.q, {kinds}"
        f"coalesce(sum({counted.audience_estimate('s')}), 0), "
        f"coalesce(sum({counted.reported_headcount('s')}), 0), "
        f"coalesce(sum(CASE WHEN {counted.headcount_reported('s')} "
        f"AND NOT {counted.has_checkins('s', engine=engine)} THEN s.reported_headcount END), 0), "
        "count(*) "
        f"FROM s {dim.session_join} GROUP BY k, s.q"
    )
    names = (
        *SESSION_KIND_INDICATORS,
        "audience_estimate",
        "reported",
        "reported_without_names",
        "sessions",
    )
    for key, under, *values in db.execute(sql, params).fetchall():
        found = dict(zip(names, values, strict=True))
        _add(groups[key], found)
        if under and doubted is not None:
            _add(doubted[key], found)


def _handouts(
    db: Database, scope: Scope, dim: Dimension, params: dict[str, Any], groups: Any, doubted: Any
) -> None:
    under = counted.question_flag(scope, p.LEAFLET_HANDOUT, "h.id")
    rows = counted.handout_rows(
        scope, f"{dim.handout} AS k, h.copies, {under} AS q", dialect.engine_of(db)
    )
    sql = f"SELECT k, q, sum(copies), count(*) FROM ({rows}) AS hr GROUP BY k, q"
    for key, under_question, copies, count in db.execute(sql, params).fetchall():
        found = {"leaflets_distributed": copies or 0, "handouts": count}
        _add(groups[key], found)
        if under_question and doubted is not None:
            _add(doubted[key], found)


def _plot_flag(scope: Scope) -> str:
    return counted.question_flag(scope, p.PLOT, "p.id")


def _plots(
    db: Database, scope: Scope, dim: Dimension, params: dict[str, Any], groups: Any, doubted: Any
) -> None:
    under = _plot_flag(scope)
    sql = (
        f"SELECT {dim.plot} AS k, count(*), coalesce(sum(p.area_mu), 0), "
        f"count(DISTINCT p.variety_id), {dialect.count_where(dialect.engine_of(db), under)}, "
        f"coalesce(sum(CASE WHEN {under} THEN p.area_mu END), 0), "
        f"count(DISTINCT CASE WHEN NOT {under} THEN p.variety_id END) FROM plots p "
        f"{dim.plot_join} {counted.plot_rows(scope).removeprefix('FROM plots p ')} GROUP BY k"
    )
    for key, count, area, varieties, q_count, q_area, kept_varieties in db.execute(
        sql, params
    ).fetchall():
        groups[key].update(
            demo_plots=count, demo_area_mu=round(area, 2), varieties_introduced=varieties
        )
        if q_count and doubted is not None:
            doubted[key].update(
                demo_plots=q_count,
                demo_area_mu=round(q_area, 2),
                varieties_introduced=varieties - kept_varieties,
            )


def _technologies(
    db: Database, scope: Scope, dim: Dimension, params: dict[str, Any], groups: Any, doubted: Any
) -> None:
    engine = dialect.engine_of(db)
    parts = []
    if dim.session is not None:
        parts.append(
            f"SELECT {dim.session} AS k, t.value AS tech, s.q FROM s "
            + (
                ""
                if dim.session_join
                else "CROSS JOIN " + dialect.json_each(engine, "s.technology_ids", "t")
            )
            + f" {dim.session_join}"
        )
    if dim.plot is not None:
        parts.append(
            f"SELECT {dim.plot} AS k, t.value AS tech, {_plot_flag(scope)} AS q FROM plots p "
            + (
                ""
                if dim.plot_join
                else "CROSS JOIN " + dialect.json_each(engine, "p.technology_ids", "t")
            )
            + f" {dim.plot_join} {counted.plot_rows(scope).removeprefix('FROM plots p ')}"
        )
    sql = (
        f"WITH {counted.sessions_cte(scope)} SELECT k, count(DISTINCT tech), "
        f"count(DISTINCT CASE WHEN NOT q THEN tech END), {dialect.count_where(engine, 'q')} FROM ("
        + " UNION ALL ".join(parts)
        + ") AS tr GROUP BY k"
    )
    for key, count, kept, under in db.execute(sql, params).fetchall():
        groups[key]["technologies_promoted"] = count
        if under and doubted is not None:
            doubted[key]["technologies_promoted"] = count - kept


def _received(db: Database, scope: Scope) -> float:
    # An envoy's receipts shared out by the townships they serve: see server/figures/receipts.py.
    return receipts.received(
        db,
        scope.prefix,
        scope.day_start,
        scope.day_end,
        scope.envoy_id,
        exclude_questioned=scope.exclude_questioned,
    )


# ---------------------------------------------------------------- cumulative by month


DISTINCT_INDICATORS = ("unique_trainees", "technologies_promoted", "varieties_introduced")


def first_months(db: Database, scope: Scope) -> dict[str, dict[int, int]]:
    """For technologies and varieties: how many were first counted in each month (trainees
    come from the check-ins' own pass).

    Summed month by month this gives the cumulative distinct figure a chart needs (a farmer
    trained in March and again in May counts from March on)."""
    params = scope.params()
    engine = dialect.engine_of(db)
    month = local_month("s.starts_at", engine)
    day_month = dialect.date_month(engine, "p.established_on")
    out: dict[str, dict[int, int]] = {}
    plot_rows = counted.plot_rows(scope).removeprefix("FROM plots p ")
    rows = db.execute(
        f"WITH {counted.sessions_cte(scope)} SELECT m, count(*) FROM (SELECT tech, min(m) AS m FROM ("
        f"SELECT t.value AS tech, {month} AS m FROM s "
        f"CROSS JOIN {dialect.json_each(engine, 's.technology_ids', 't')} "
        f"UNION ALL SELECT t.value, {day_month} "
        f"FROM plots p CROSS JOIN {dialect.json_each(engine, 'p.technology_ids', 't')} {plot_rows}"
        ") AS tm GROUP BY tech) AS firsts GROUP BY m",
        params,
    ).fetchall()
    out["technologies_promoted"] = dict(rows)
    rows = db.execute(
        "SELECT m, count(*) FROM (SELECT p.variety_id, "
        f"min({day_month}) AS m FROM plots p "
        f"{plot_rows} AND p.variety_id IS NOT NULL GROUP BY p.variety_id) AS firsts GROUP BY m",
        params,
    ).fetchall()
    out["varieties_introduced"] = dict(rows)
    return out
