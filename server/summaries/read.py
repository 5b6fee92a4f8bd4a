"""Figures of a Scope read from the summaries: the same Figures server/figures.py counts from the
records, in a few lookups (a distinct figure is the sum of its key's first-month counters)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from typing import Any

from sqlite_utils import Database

from server.figures import questioned, receipts
from server.figures.count import INDICATOR_FIGURES, Figures
from server.figures.counted import Scope, code_range
from server.figures.dimensions import TOTAL, township_of, village_of
from server.store import dialect
from server.summaries import names as r
from server.summaries.maintain import refresh, usable
from server.summaries.store import MONTHS, ROLLUP_LEVELS
from shared import protocol as p
from shared.indicators import SESSION_KIND_INDICATORS

# Which indicators each summary figure adds to (sessions also to their kind's indicator).
ADDS_TO = {
    r.SESSIONS: ("sessions",),
    r.AUDIENCE: ("audience_estimate",),
    r.REPORTED: ("reported",),
    r.WITHOUT_NAMES: ("reported_without_names",),
    r.PERSON_TIMES: ("trainee_attendances", "verified"),
    r.HANDOUTS: ("handouts",),
    r.COPIES: ("leaflets_distributed",),
    r.PLOTS: ("demo_plots",),
    r.AREA: ("demo_area_mu",),
}
# Every figure a group with sessions has (server/figures/count.py's sessions family).
SESSION_FIGURES = (
    *SESSION_KIND_INDICATORS,
    "audience_estimate",
    "reported",
    "reported_without_names",
    "sessions",
)
KIND_INDICATOR = {kind: indicator for indicator, kind in SESSION_KIND_INDICATORS.items()}
DISTINCT = {
    r.TRAINEES: "unique_trainees",
    r.TECHNOLOGIES: "technologies_promoted",
    r.VARIETIES: "varieties_introduced",
}


def answers(scope: Scope) -> bool:
    """Whether the summaries hold this scope: a whole year (no `until`), the whole server
    (prefix ''), a unit (province down to village) or an envoy, or an envoy within a county."""
    if scope.until is not None:
        return False
    return len(scope.prefix) in (0, 6) if scope.envoy_id else True


def item_key(scope: Scope) -> str:
    if scope.envoy_id:
        return f"@{scope.envoy_id}" + (f"/{scope.prefix}" if scope.prefix else "")
    return scope.prefix


def compute(db: Database, scope: Scope, monthly: bool = False) -> Figures | None:
    """The scope's total figures (with `monthly`, by month and first months) from the
    summaries, or None when they cannot answer it (see `answers`, and summaries turned off)."""
    if not answers(scope) or not usable(db):
        return None
    refresh(db)
    found = Figures("total")
    total, doubted = found.groups[TOTAL], found.questioned[TOTAL]
    exclude = scope.exclude_questioned
    rows = _additive(db, scope)
    doubt: defaultdict[str, float] = defaultdict(float)
    for kind, month, figure, q, value in rows:
        if q and exclude:
            continue
        names = ADDS_TO[figure]
        if figure == r.SESSIONS and kind in KIND_INDICATOR:
            names = (*names, KIND_INDICATOR[kind])
        for name in names:
            total[name] = total.get(name, 0) + value
            if q:
                doubt[name] += value
            if monthly:
                found.months[month][name] = found.months[month].get(name, 0) + value
    _distinct(db, scope, found, doubt, monthly)
    _received(db, scope, total, doubt)
    total["demo_area_mu"] = round(total.get("demo_area_mu", 0), 2)
    for values in found.months.values():
        if "demo_area_mu" in values:
            values["demo_area_mu"] = round(values["demo_area_mu"], 2)
    for name, value in doubt.items():
        if value:
            doubted[name] = round(value, 2) if name == "demo_area_mu" else value
    for key in INDICATOR_FIGURES:
        total.setdefault(key, 0)
    _whole(total)
    if exclude:
        found.questioned.clear()
    return found


def envoys_trained(
    db: Database, scope: Scope, envoys: list[str]
) -> dict[str, tuple[int, int]] | None:
    """(person-times, distinct people) at the sessions each of `envoys` led in the scope's
    year, wherever they were, TV lectures aside and records under question counted: the
    performance page's 核实人次 and 培训人数 (server/figures/performance.py), from the envoys'
    rows and their '@envoy' keys. None where the check-ins are counted instead: a county or
    below and one envoy (few sessions, quickly counted), and summaries that cannot answer."""
    if scope.envoy_id or len(scope.prefix) >= 6 or not answers(scope) or not usable(db):
        return None
    refresh(db)
    listed = dialect.json_each(dialect.engine_of(db), "?", "t")
    found = dict.fromkeys(envoys, (0, 0))
    # Every person-time, under question or not (q 0 and 1 both), as the page counts them.
    for envoy_id, times in db.execute(
        f"SELECT envoy_id, sum(value) FROM summary_figures WHERE envoy_id IN "
        f"(SELECT t.value FROM {listed}) AND year = ? AND figure = ? GROUP BY envoy_id",
        [json.dumps(envoys), scope.year, r.PERSON_TIMES],
    ):
        found[envoy_id] = (round(times), found[envoy_id][1])
    # An envoy's key ('@envoy') holds each person once, whichever counties they came in.
    for key, people in db.execute(
        f"SELECT scope_key, sum(n) FROM summary_firsts WHERE year = ? AND scope_key IN "
        f"(SELECT '@' || t.value FROM {listed}) AND figure = ? GROUP BY scope_key",
        [scope.year, json.dumps(envoys), r.TRAINEES],
    ):
        envoy_id = key.removeprefix("@")
        found[envoy_id] = (found[envoy_id][0], int(people))
    return found


def _additive(db: Database, scope: Scope) -> list[tuple[Any, ...]]:
    """(kind, month, figure, q, value) of the scope: the whole server, a province, city or
    county from its sums."""
    if not scope.envoy_id and len(scope.prefix) in ROLLUP_LEVELS:
        return db.execute(
            "SELECT kind, month, figure, q, value FROM summary_rollup WHERE year = ? "
            "AND scope_key = ?",
            [scope.year, scope.prefix],
        ).fetchall()
    lo, hi = code_range(scope.prefix)
    envoy = " AND envoy_id = ?" if scope.envoy_id else ""
    return db.execute(
        "SELECT kind, month, figure, q, sum(value) FROM summary_figures WHERE year = ? "
        f"AND unit_code >= ? AND unit_code < ?{envoy} GROUP BY kind, month, figure, q",
        [scope.year, lo, hi, *([scope.envoy_id] if scope.envoy_id else [])],
    ).fetchall()


def _distinct(
    db: Database, scope: Scope, found: Figures, doubt: defaultdict[str, float], monthly: bool
) -> None:
    total = found.groups[TOTAL]
    firsts: dict[str, dict[int, int]] = {name: {} for name in DISTINCT.values()}
    for figure, month, n, k in db.execute(
        "SELECT figure, month, n, k FROM summary_firsts WHERE year = ? AND scope_key = ?",
        [scope.year, item_key(scope)],
    ):
        name = DISTINCT[figure]
        counted = k if scope.exclude_questioned else n
        total[name] = total.get(name, 0) + counted
        doubt[name] += n - k
        if counted:
            firsts[name][month] = counted
    if monthly:
        found.firsts.update(firsts)


def _received(
    db: Database, scope: Scope, total: dict[str, float], doubt: defaultdict[str, float]
) -> None:
    """Receipts are few and shared out by where envoys serve: read from the records."""

    def received(of: Scope) -> float:
        return receipts.received(
            db,
            of.prefix,
            of.day_start,
            of.day_end,
            of.envoy_id,
            exclude_questioned=of.exclude_questioned,
        )

    total["received"] = received(scope)
    if not scope.exclude_questioned and questioned.any_under_question(db, p.LEAFLET_RECEIPT):
        kept = received(replace(scope, exclude_questioned=True))
        doubt["received"] = round(total["received"] - kept, 2)


# The breakdowns the summaries hold: how a summary_figures row is keyed (server/figures/dimensions.py).
GROUPED = {
    "township": township_of("unit_code"),
    "village": village_of("unit_code"),
    "envoy": "envoy_id",
    "month": "month",
}
# The unit levels whose own keys the summaries keep (a province's, city's, county's prefix):
# a breakdown by them reads those keys' sums and distinct counts, never the villages' rows.
LEVELS = {"province": 2, "city": 4, "county": 6}
# (group, kind, figure, q, value): additive summary rows of one group of a breakdown.
AdditiveRows = list[tuple[Any, ...]]
# {group: {indicator: (every item, items not under question)}}
DistinctCounts = dict[Any, dict[str, tuple[int, int]]]


def compute_by(db: Database, scope: Scope, by: str) -> Figures | None:
    """Figures of `scope` grouped by province, city, county, township, village, envoy or month
    from the summaries, as server/figures/count.py's compute(db, scope, by) gives them; None
    when they do not hold it."""
    if by not in (*GROUPED, *LEVELS) or not answers(scope) or not usable(db):
        return None
    if scope.envoy_id and by in ("township", "village"):
        return None  # no key per township of one envoy
    if by == "envoy" and len(scope.prefix) != 6 and not scope.envoy_id:
        return None  # envoys' keys are kept per county
    if scope.envoy_id and by in LEVELS and LEVELS[by] < 6 and len(scope.prefix) < LEVELS[by]:
        return None  # one envoy's keys are per county ('@envoy/county'), none per city
    refresh(db)
    found = Figures(by)
    if by in LEVELS:
        rows, distinct = _by_level(db, scope, LEVELS[by])
    else:
        by_key = _distinct_by(db, scope, by)
        if by_key is None:
            return None
        rows, distinct = _additive_by(db, scope, by), by_key
    _fold(rows, scope, found)
    for group, values in found.groups.items():
        for name, (n, k) in distinct.get(group, {}).items():
            values[name] = k if scope.exclude_questioned else n
            if n - k and not scope.exclude_questioned:
                found.questioned[group][name] = n - k
        for key in INDICATOR_FIGURES:
            values.setdefault(key, 0)
    for values in (*found.groups.values(), *found.questioned.values()):
        _whole(values)
    if scope.exclude_questioned:
        found.questioned.clear()
        # A group whose every record is under question is no group of the records counted.
        for group in [group for group, values in found.groups.items() if not any(values.values())]:
            del found.groups[group]
    return found


# Summed as REAL in summary_figures, counted as whole numbers by figures (so 3, never 3.0).
NOT_WHOLE = ("demo_area_mu", "received")


def _whole(values: dict[str, float]) -> None:
    for name, value in values.items():
        if name not in NOT_WHOLE and isinstance(value, float):
            values[name] = round(value)


def _additive_by(db: Database, scope: Scope, by: str) -> AdditiveRows:
    lo, hi = code_range(scope.prefix)
    envoy = " AND envoy_id = ?" if scope.envoy_id else ""
    return db.execute(
        f"SELECT {GROUPED[by]} AS g, kind, figure, q, sum(value) FROM summary_figures "
        f"WHERE year = ? AND unit_code >= ? AND unit_code < ?{envoy} GROUP BY g, kind, figure, q",
        [scope.year, lo, hi, *([scope.envoy_id] if scope.envoy_id else [])],
    ).fetchall()


def _fold(rows: AdditiveRows, scope: Scope, found: Figures) -> None:
    """Add (group, kind, figure, q, value) rows to each group's indicators."""
    for group, kind, figure, q, value in rows:
        values, doubt = found.groups[group], found.questioned[group]
        if figure == r.SESSIONS:
            # A group with sessions has every sessions figure, zeros too (as figures counts them).
            for name in SESSION_FIGURES:
                values.setdefault(name, 0)
        if q and scope.exclude_questioned:
            continue
        names = ADDS_TO[figure]
        if figure == r.SESSIONS and kind in KIND_INDICATOR:
            names = (*names, KIND_INDICATOR[kind])
        for name in names:
            values[name] = values.get(name, 0) + value
            if q:
                doubt[name] = doubt.get(name, 0) + value
    for values in (*found.groups.values(), *found.questioned.values()):
        if "demo_area_mu" in values:
            values["demo_area_mu"] = round(values["demo_area_mu"], 2)


def _distinct_by(db: Database, scope: Scope, by: str) -> DistinctCounts | None:
    """{group: {indicator: (every item, items not under question)}}; None when a group has no
    one key (the township-level records of several townships, by village)."""
    out: DistinctCounts = defaultdict(dict)
    if by == "month":
        engine = dialect.engine_of(db)
        columns = ", ".join(
            dialect.count_where(engine, f"{side}{month} > 0")
            for month in MONTHS
            for side in ("n", "k")
        )
        for figure, *counts in db.execute(
            f"SELECT figure, {columns} FROM summary_item_months WHERE year = ? "
            "AND scope_key = ? GROUP BY figure",
            [scope.year, item_key(scope)],
        ).fetchall():
            for month in MONTHS:
                n, k = counts[2 * month - 2], counts[2 * month - 1]
                if n:
                    out[month][DISTINCT[figure]] = (n, k)
        return out
    if by == "envoy":
        suffix = f"/{scope.prefix}"
        found = db.execute(
            "SELECT scope_key, figure, sum(n), sum(k) FROM summary_firsts WHERE year = ? "
            "AND scope_key >= '@' AND scope_key < 'A' GROUP BY scope_key, figure",
            [scope.year],
        ).fetchall()
        wanted = {item_key(scope)} if scope.envoy_id else None
        for key, figure, n, k in found:
            if (wanted is not None and key in wanted) or (wanted is None and key.endswith(suffix)):
                out[key.removeprefix("@").removesuffix(suffix)][DISTINCT[figure]] = (n, k)
        return out
    width = 9 if by == "township" else 12
    lo, hi = code_range(scope.prefix)
    found = db.execute(
        "SELECT scope_key, figure, sum(n), sum(k) FROM summary_firsts WHERE year = ? "
        "AND scope_key >= ? AND scope_key < ? AND length(scope_key) = ? "
        "GROUP BY scope_key, figure",
        [scope.year, lo, hi, width],
    ).fetchall()
    if by == "village" and len({key for key, *_ in found if key.endswith("000")}) > 1:
        return None
    for key, figure, n, k in found:
        if by == "township":
            group: Any = key + "000"
        else:
            group = None if key.endswith("000") else key
        out[group][DISTINCT[figure]] = (n, k)
    return out


def _by_level(db: Database, scope: Scope, digits: int) -> tuple[AdditiveRows, DistinctCounts]:
    """Rows and distinct counts by the province (digits 2), city (4) or county (6) a record lies
    in, each group keyed by its 12-digit code as server/figures/dimensions.py's unit_of keys it."""
    out: DistinctCounts = defaultdict(dict)
    if len(scope.prefix) >= digits:
        # The scope lies within one unit of the level: one group, the scope's own figures.
        group = scope.prefix[:digits].ljust(12, "0")
        for figure, n, k in db.execute(
            "SELECT figure, sum(n), sum(k) FROM summary_firsts WHERE year = ? AND scope_key = ? "
            "GROUP BY figure",
            [scope.year, item_key(scope)],
        ):
            out[group][DISTINCT[figure]] = (n, k)
        sums: defaultdict[tuple[str, str, int], float] = defaultdict(float)
        for kind, _month, figure, q, value in _additive(db, scope):
            sums[(kind, figure, q)] += value
        return [(group, *key, value) for key, value in sums.items()], out
    if scope.envoy_id:
        # The whole server's envoy by county (compute_by asks for nothing else): the envoy's
        # villages' rows, and the '@envoy/county' keys.
        rows = db.execute(
            "SELECT substr(unit_code, 1, 6) AS g, kind, figure, q, sum(value) FROM "
            "summary_figures WHERE year = ? AND envoy_id = ? GROUP BY g, kind, figure, q",
            [scope.year, scope.envoy_id],
        ).fetchall()
        lo, hi = f"@{scope.envoy_id}/", f"@{scope.envoy_id}0"  # '0' sorts right after '/'
        level, wanted = "", []
    else:
        rows = db.execute(
            "SELECT scope_key, kind, figure, q, sum(value) FROM summary_rollup WHERE year = ? "
            "AND scope_key >= ? AND scope_key < ? AND length(scope_key) = ? "
            "GROUP BY scope_key, kind, figure, q",
            [scope.year, *code_range(scope.prefix), digits],
        ).fetchall()
        lo, hi = code_range(scope.prefix)
        level, wanted = " AND length(scope_key) = ?", [digits]
    for key, figure, n, k in db.execute(
        "SELECT scope_key, figure, sum(n), sum(k) FROM summary_firsts WHERE year = ? "
        f"AND scope_key >= ? AND scope_key < ?{level} GROUP BY scope_key, figure",
        [scope.year, lo, hi, *wanted],
    ).fetchall():
        out[key.rsplit("/", 1)[-1].ljust(12, "0")][DISTINCT[figure]] = (n, k)
    return [(key.ljust(12, "0"), *rest) for key, *rest in rows], out
