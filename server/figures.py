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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from server import receipts
from shared.clock import CHINA, to_iso

# Scopes with more sessions than this read check-ins by one scan instead of per-session ranges.
SCAN_FROM_SESSIONS = 4000
PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
TOTAL = ""  # the group key of an ungrouped figure


def code_range(prefix: str) -> tuple[str, str]:
    """[lo, hi) of every division code starting with `prefix` (digits only)."""
    if not prefix:
        return "", ":"  # ':' sorts after every digit
    return prefix, str(int(prefix) + 1).zfill(len(prefix))


@dataclass(frozen=True)
class Scope:
    """What a figure counts: one China-time year, the records of one unit, maybe one envoy's."""

    year: int
    prefix: str = ""
    envoy_id: str | None = None
    # Cut the year off early (for "last year by this date" or a chart's month ends).
    until: datetime | None = None

    @property
    def start(self) -> str:
        return to_iso(datetime(self.year, 1, 1, tzinfo=CHINA))

    @property
    def end(self) -> str:
        end = datetime(self.year + 1, 1, 1, tzinfo=CHINA)
        if self.until is not None and self.until < end:
            return to_iso(self.until)
        return to_iso(end)

    @property
    def day_start(self) -> str:
        return f"{self.year}-01-01"

    @property
    def day_end(self) -> str:
        if self.until is not None and self.until < datetime(self.year + 1, 1, 1, tzinfo=CHINA):
            return self.until.astimezone(CHINA).date().isoformat()
        return f"{self.year + 1}-01-01"

    def params(self) -> dict[str, Any]:
        lo, hi = code_range(self.prefix)
        return {
            "lo": lo,
            "hi": hi,
            "start": self.start,
            "end": self.end,
            "day_start": self.day_start,
            "day_end": self.day_end,
            "envoy": self.envoy_id,
        }


@dataclass(frozen=True)
class Dimension:
    """How each family of records is keyed when a figure is broken down; None: not applicable."""

    name: str
    session: str | None
    attendance: str | None
    handout: str | None
    plot: str | None
    session_join: str = ""
    plot_join: str = ""
    needs_farmer: bool = False


def _township(expr: str) -> str:
    return f"substr({expr}, 1, 9) || '000'"


def _village(expr: str) -> str:
    return f"CASE WHEN substr({expr}, 10, 3) != '000' THEN {expr} END"


def _local_month(expr: str) -> str:
    return f"CAST(strftime('%m', {expr}, '+8 hours') AS INTEGER)"


DIMENSIONS: dict[str, Dimension] = {
    "total": Dimension("total", "''", "''", "''", "''"),
    "township": Dimension(
        "township",
        _township("s.unit_code"),
        _township("s.unit_code"),
        _township("coalesce(h.unit_code, hs.unit_code)"),
        _township("p.village_code"),
    ),
    "village": Dimension(
        "village",
        _village("s.unit_code"),
        _village("s.unit_code"),
        _village("coalesce(h.unit_code, hs.unit_code)"),
        _village("p.village_code"),
    ),
    "envoy": Dimension("envoy", "s.lead_envoy_id", "s.lead_envoy_id", "h.envoy_id", "p.envoy_id"),
    "month": Dimension(
        "month",
        _local_month("s.starts_at"),
        _local_month("s.starts_at"),
        _local_month("h.handed_out_at"),
        "CAST(strftime('%m', p.established_on) AS INTEGER)",
    ),
    "technology": Dimension(
        "technology",
        "t.value",
        "t.value",
        None,
        "t.value",
        # LEFT: records naming no technology stay in, under a None key.
        session_join="LEFT JOIN json_each(s.technology_ids) t",
        plot_join="LEFT JOIN json_each(p.technology_ids) t",
    ),
    "kind": Dimension("kind", "s.kind", "s.kind", "hs.kind", None),
    "gender": Dimension(
        "gender", None, "coalesce(f.gender, 'unspecified')", None, None, needs_farmer=True
    ),
}


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
    additive figures by month and, for distinct counts, how many were first counted each month."""

    dimension: str
    groups: defaultdict[Any, dict[str, float]] = field(default_factory=_groups)
    months: defaultdict[Any, dict[str, float]] = field(default_factory=_groups)
    firsts: dict[str, dict[int, int]] = field(default_factory=dict)

    def total(self) -> dict[str, float]:
        return self.groups.get(TOTAL, {})


# ---------------------------------------------------------------- SQL pieces


def _sessions_cte(scope: Scope) -> str:
    envoy = " AND lead_envoy_id = :envoy" if scope.envoy_id else ""
    return (
        "s AS MATERIALIZED (SELECT id, kind, title, unit_code, lead_envoy_id, starts_at, "
        "reported_headcount, technology_ids, display_boards FROM sessions "
        "WHERE deleted = 0 AND unit_code >= :lo AND unit_code < :hi "
        f"AND starts_at >= :start AND starts_at < :end{envoy})"
    )


# The check-ins of one session (alias s), through the unique index on attendances.id.
SESSION_CHECKINS = (
    "attendances {a} INDEXED BY idx_attendances_id ON {a}.id >= substr({s}.id, 1, 18) "
    "AND {a}.id < substr({s}.id, 1, 18) || '.' AND {a}.session_id = {s}.id"
)
DELETED_FARMERS = "(SELECT id FROM farmers WHERE deleted = 1)"


def _checkin_rows(scope: Scope, db: Database, dimension: Dimension) -> str:
    """FROM ... WHERE for the named check-ins in scope (alias a; s their session)."""
    farmer = (
        " LEFT JOIN farmer_aliases fa ON fa.id = a.farmer_id "
        "LEFT JOIN farmers f ON f.id = coalesce(fa.canonical_id, a.farmer_id)"
        if dimension.needs_farmer
        else ""
    )
    kept = f"a.deleted = 0 AND a.farmer_id NOT IN {DELETED_FARMERS}"
    if _count_sessions(db, scope) <= SCAN_FROM_SESSIONS:
        source = "s CROSS JOIN " + SESSION_CHECKINS.format(a="a", s="s")
    elif "s." not in (dimension.attendance or "") and not dimension.session_join:
        # Nothing of the session is needed: one scan, checking each session in a set.
        return (
            f"FROM attendances a{farmer} WHERE {kept} AND a.session_id IN "
            "(SELECT id FROM s WHERE kind != 'tv_lecture')"
        )
    else:
        source = "attendances a CROSS JOIN s ON s.id = a.session_id"
    return f"FROM {source} {dimension.session_join}{farmer} WHERE {kept} AND s.kind != 'tv_lecture'"


def _count_sessions(db: Database, scope: Scope) -> int:
    envoy = " AND lead_envoy_id = :envoy" if scope.envoy_id else ""
    row = db.execute(
        "SELECT count(*) FROM sessions WHERE deleted = 0 AND unit_code >= :lo AND unit_code < :hi "
        f"AND starts_at >= :start AND starts_at < :end{envoy}",
        scope.params(),
    ).fetchone()
    return int(row[0])


# ---------------------------------------------------------------- the families


def compute(db: Database, scope: Scope, dimension: str = "total", monthly: bool = False) -> Figures:
    """Every indicator for `scope`, grouped by `dimension` (see DIMENSIONS); see Figures."""
    dim = DIMENSIONS[dimension]
    figures = Figures(dimension)
    params = scope.params()
    groups = figures.groups
    by_month = DIMENSIONS["month"]
    if dim.attendance is not None:
        if monthly:
            _checkins(db, scope, dim, params, groups, figures.months, figures.firsts)
        else:
            _checkins(db, scope, dim, params, groups)
    for family, applies in (
        (_sessions, dim.session is not None),
        (_handouts, dim.handout is not None),
        (_plots, dim.plot is not None),
        (_technologies, dim.session is not None or dim.plot is not None),
    ):
        if applies:
            family(db, scope, dim, params, groups)
        if monthly:
            family(db, scope, by_month, params, figures.months)
    if monthly:
        figures.firsts.update(first_months(db, scope))
    if dimension == "total":
        groups[TOTAL]["received"] = _received(db, scope, params)
    for values in groups.values():
        for key in INDICATOR_FIGURES:
            values.setdefault(key, 0)
    return figures


@dataclass
class _Tally:
    """Person-times and people of one group, gathered row by row."""

    person_times: int = 0
    people: set[str] = field(default_factory=set)
    # (session, person) pairs of merged farmers' check-ins only: the only ones that can repeat.
    merged_pairs: set[tuple[str, str]] = field(default_factory=set)


def _checkins(
    db: Database,
    scope: Scope,
    dim: Dimension,
    params: dict[str, Any],
    groups: Any,
    months: dict[int, dict[str, float]] | None = None,
    firsts: dict[str, dict[int, int]] | None = None,
) -> None:
    """Person-times (session, person pairs) and unique trainees per group, in one pass.

    The check-ins come back as (key, session, farmer) rows and are tallied here: merged
    farmers are looked up in a dict of the few aliases instead of a join per row, and only
    their check-ins are kept as pairs to catch one person checked in twice under two records.
    With `months`, the same pass gives person-times by month and each person's first month."""
    aliases = dict(db.execute("SELECT id, canonical_id FROM farmer_aliases").fetchall())
    merged = set(aliases) | set(aliases.values())
    month_of = {}
    if months is not None:
        month_of = dict(
            db.execute(
                f"WITH {_sessions_cte(scope)} SELECT id, {_local_month('s.starts_at')} FROM s",
                params,
            ).fetchall()
        )
    sql = (
        f"WITH {_sessions_cte(scope)} SELECT {dim.attendance} AS k, a.session_id, a.farmer_id "
        f"{_checkin_rows(scope, db, dim)}"
    )
    tallies: dict[Any, _Tally] = {}
    by_month: dict[int, int] = defaultdict(int)
    first_seen: dict[str, int] = {}
    for key, session, farmer in db.execute(sql, params):
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = _Tally()
        person = aliases.get(farmer, farmer)
        if farmer in merged:
            pair = (session, person)
            if pair in tally.merged_pairs:
                continue
            tally.merged_pairs.add(pair)
        tally.person_times += 1
        tally.people.add(person)
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
    if months is not None:
        for month, count in by_month.items():
            months[month]["trainee_attendances"] = count
    if firsts is not None:
        counted: dict[int, int] = defaultdict(int)
        for month in first_seen.values():
            counted[month] += 1
        firsts["unique_trainees"] = dict(counted)


def _sessions(
    db: Database, scope: Scope, dim: Dimension, params: dict[str, Any], groups: Any
) -> None:
    has_names = (
        "EXISTS (SELECT 1 FROM attendances b INDEXED BY idx_attendances_id "
        "WHERE b.id >= substr(s.id, 1, 18) AND b.id < substr(s.id, 1, 18) || '.' "
        "AND b.session_id = s.id AND b.deleted = 0)"
    )
    sql = (
        f"WITH {_sessions_cte(scope)} SELECT {dim.session} AS k, "
        "sum(s.kind = 'village_training'), sum(s.kind = 'large_training'), "
        "sum(s.kind = 'tv_lecture'), "
        "coalesce(sum(CASE WHEN s.kind = 'tv_lecture' THEN s.reported_headcount END), 0), "
        "coalesce(sum(CASE WHEN s.kind != 'tv_lecture' THEN s.reported_headcount END), 0), "
        "coalesce(sum(CASE WHEN s.kind != 'tv_lecture' AND s.reported_headcount IS NOT NULL "
        f"AND NOT {has_names} THEN s.reported_headcount END), 0), count(*) "
        f"FROM s {dim.session_join} GROUP BY k"
    )
    for key, village, large, tv, audience, reported, unnamed, sessions in db.execute(
        sql, params
    ).fetchall():
        groups[key].update(
            village_trainings=village,
            large_trainings=large,
            tv_lectures=tv,
            audience_estimate=audience,
            reported=reported,
            reported_without_names=unnamed,
            sessions=sessions,
        )


def _handout_rows(scope: Scope, columns: str) -> str:
    """SELECT `columns` over hand-outs in scope: in one of its villages, or at one of its sessions.

    Two branches rather than an OR, so each reads its own index (a unary + keeps SQLite from
    reading the whole year off the index on handed_out_at instead)."""
    envoy = " AND h.envoy_id = :envoy" if scope.envoy_id else ""
    common = (
        "FROM leaflet_handouts h LEFT JOIN sessions hs ON hs.id = h.session_id "
        "WHERE h.deleted = 0 AND +h.handed_out_at >= :start AND +h.handed_out_at < :end" + envoy
    )
    return (
        f"SELECT {columns} {common} AND h.unit_code >= :lo AND h.unit_code < :hi "
        f"UNION ALL SELECT {columns} {common} AND +h.unit_code IS NULL AND h.session_id IN "
        "(SELECT id FROM sessions WHERE unit_code >= :lo AND unit_code < :hi)"
    )


def _handouts(
    db: Database, scope: Scope, dim: Dimension, params: dict[str, Any], groups: Any
) -> None:
    rows = _handout_rows(scope, f"{dim.handout} AS k, h.copies")
    sql = f"SELECT k, sum(copies), count(*) FROM ({rows}) GROUP BY k"
    for key, copies, count in db.execute(sql, params).fetchall():
        groups[key].update(leaflets_distributed=copies or 0, handouts=count)


def _plot_rows(scope: Scope) -> str:
    envoy = " AND p.envoy_id = :envoy" if scope.envoy_id else ""
    return (
        "FROM plots p WHERE p.deleted = 0 AND p.established_on >= :day_start "
        "AND p.established_on < :day_end AND p.village_code >= :lo AND p.village_code < :hi"
        f"{envoy}"
    )


def _plots(db: Database, scope: Scope, dim: Dimension, params: dict[str, Any], groups: Any) -> None:
    sql = (
        f"SELECT {dim.plot} AS k, count(*), coalesce(sum(p.area_mu), 0), "
        f"count(DISTINCT p.variety_id) FROM plots p {dim.plot_join} "
        f"{_plot_rows(scope).removeprefix('FROM plots p ')} GROUP BY k"
    )
    for key, count, area, varieties in db.execute(sql, params).fetchall():
        groups[key].update(
            demo_plots=count, demo_area_mu=round(area, 2), varieties_introduced=varieties
        )


def _technologies(
    db: Database, scope: Scope, dim: Dimension, params: dict[str, Any], groups: Any
) -> None:
    parts = []
    if dim.session is not None:
        parts.append(
            f"SELECT {dim.session} AS k, t.value AS tech FROM s "
            + ("" if dim.session_join else "CROSS JOIN json_each(s.technology_ids) t")
            + f" {dim.session_join}"
        )
    if dim.plot is not None:
        parts.append(
            f"SELECT {dim.plot} AS k, t.value AS tech FROM plots p "
            + ("" if dim.plot_join else "CROSS JOIN json_each(p.technology_ids) t")
            + f" {dim.plot_join} {_plot_rows(scope).removeprefix('FROM plots p ')}"
        )
    sql = (
        f"WITH {_sessions_cte(scope)} SELECT k, count(DISTINCT tech) FROM ("
        + " UNION ALL ".join(parts)
        + ") GROUP BY k"
    )
    for key, count in db.execute(sql, params).fetchall():
        groups[key]["technologies_promoted"] = count


def _received(db: Database, scope: Scope, params: dict[str, Any]) -> float:
    # An envoy's receipts shared out by the townships they serve: see server/receipts.py.
    return receipts.received(db, scope.prefix, scope.day_start, scope.day_end, scope.envoy_id)


# ---------------------------------------------------------------- cumulative by month


DISTINCT_INDICATORS = ("unique_trainees", "technologies_promoted", "varieties_introduced")


def first_months(db: Database, scope: Scope) -> dict[str, dict[int, int]]:
    """For technologies and varieties: how many were first counted in each month (trainees
    come from the check-ins' own pass).

    Summed month by month this gives the cumulative distinct figure a chart needs (a farmer
    trained in March and again in May counts from March on)."""
    params = scope.params()
    month = _local_month("s.starts_at")
    out: dict[str, dict[int, int]] = {}
    plot_rows = _plot_rows(scope).removeprefix("FROM plots p ")
    rows = db.execute(
        f"WITH {_sessions_cte(scope)} SELECT m, count(*) FROM (SELECT tech, min(m) AS m FROM ("
        f"SELECT t.value AS tech, {month} AS m FROM s CROSS JOIN json_each(s.technology_ids) t "
        "UNION ALL SELECT t.value, CAST(strftime('%m', p.established_on) AS INTEGER) "
        f"FROM plots p CROSS JOIN json_each(p.technology_ids) t {plot_rows}"
        ") GROUP BY tech) GROUP BY m",
        params,
    ).fetchall()
    out["technologies_promoted"] = dict(rows)
    rows = db.execute(
        "SELECT m, count(*) FROM (SELECT p.variety_id, "
        "min(CAST(strftime('%m', p.established_on) AS INTEGER)) AS m FROM plots p "
        f"{plot_rows} AND p.variety_id IS NOT NULL GROUP BY p.variety_id) GROUP BY m",
        params,
    ).fetchall()
    out["varieties_introduced"] = dict(rows)
    return out
