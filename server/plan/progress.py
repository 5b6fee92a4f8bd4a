"""Progress for a year and a unit (or an envoy): each indicator against its target, with a status,
where it should be by today under the monthly profile, a projection to year end and the
cumulative figure by month for charts.

Status (only where a target is set): 已达标 met when the target is reached; after the year,
未达标 not met; otherwise 进度正常 on track when the actual is at least where the profile says
it should be by now (target x expected share), else 落后 behind.

Projection to year end. With e the share of the year's work the profile expects by now and
pace = actual / e (the whole year at today's rate), the rest of the year (1 - e) is filled in
at a blend of that pace and the plan (the target; nothing when no target is set):

    projected = actual + (1 - e) * (w * pace + (1 - w) * plan),  w = min(1, e / 0.25)

so a few weeks' figures (e small) barely move the projection off the plan, and from a quarter
of the year's expected work on it follows the pace alone. At the year's end it is the actual.
For distinct counts (trainees, technologies, varieties) the pace overstates, as people and
technologies repeat; the blend is applied all the same and the page says it is a projection.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from server.figures import count as figures
from server.figures.counted import Scope
from server.plan import profiles, targets
from server.reference.lookups import envoy_by_id, unit_scope
from server.summaries import read as summaries_read
from shared.choices import TARGET_STATUSES
from shared.clock import CHINA, to_iso, utc_now, year_fraction_elapsed
from shared.indicators import BY_KEY, INDICATORS, Indicator, is_met

# From this share of the year's expected work on, the projection follows the pace alone.
FULL_PACE_AT = 0.25

# A growth target whose last year has no figure: no number to reach, never judged met.
NO_BASIS = "no_basis"


def status_of(
    actual: float, target: float | None, comparator: str | None, expected: float | None, over: bool
) -> str | None:
    if target is None or comparator is None:
        return None
    if is_met(actual, comparator, target):
        return "met"
    if over:
        return "not_met"
    return "on_track" if expected is not None and actual >= expected else "behind"


@dataclass(frozen=True)
class Judgement:
    """One target judged against its actual: what progress, breakdowns and every page, export,
    CLI and API answer built on them say of it."""

    target: float | None
    status: str
    met: bool | None
    percent: float | None
    expected_by_now: float | None

    @property
    def basis_missing(self) -> bool:
        return self.status == NO_BASIS


def judge(
    target: targets.Target,
    actual: float,
    last_year_actual: float | None,
    share: float,
    over: bool,
) -> Judgement:
    """The one place a target is judged: its number (a growth target's from last year's
    actual), met or not, the status, the share done and where it should be by now (`share` of
    the year's work expected). A growth target with no last-year figure has no number: its
    status is 无上年数据 and it is never met."""
    value = target.resolved(last_year_actual)
    if value is None:
        return Judgement(None, NO_BASIS, None, None, None)
    expected = BY_KEY[target.indicator].rounded(value * share)
    status = status_of(actual, value, target.comparator, expected, over) or NO_BASIS
    return Judgement(
        value,
        status,
        is_met(actual, target.comparator, value),
        round(100 * actual / value, 1) if value else None,
        expected,
    )


def projection(
    actual: float, share: float, plan: float | None, indicator: Indicator | None = None
) -> float | None:
    """Year-end projection (see the module's docstring); None before the year starts. With
    the indicator, rounded as it is counted (whole person-times; an area to 0.1 mu)."""
    if share <= 0:
        return None
    if share >= 1:
        return round(actual, 1)
    weight = min(1.0, share / FULL_PACE_AT)
    pace = actual / share
    projected = actual + (1 - share) * (weight * pace + (1 - weight) * (plan or 0))
    return indicator.rounded(projected) if indicator else round(projected, 1)


def figures_of(db: Database, scope: Scope, monthly: bool = False) -> figures.Figures:
    """The scope's figures from the summaries (server/summaries/) when they hold it, else
    counted from the records; the two agree (tests/server/summaries/test_state_machine.py)."""
    found = summaries_read.compute(db, scope, monthly)
    return found if found is not None else figures.compute(db, scope, monthly=monthly)


def cumulative_by_month(found: figures.Figures) -> dict[str, list[float]]:
    """Each indicator's cumulative actual at the end of each month (12 numbers)."""
    out = {}
    for indicator in INDICATORS:
        running, series = 0.0, []
        firsts = found.firsts.get(indicator.key)
        for month in range(1, 13):
            if firsts is not None:
                running += firsts.get(month, 0)
            else:
                running += found.months.get(month, {}).get(indicator.key, 0) or 0
            series.append(round(running, 2))
        out[indicator.key] = series
    return out


def progress(
    db: Database,
    year: int,
    unit_code: str | None = None,
    envoy_id: str | None = None,
    now: datetime | None = None,
    monthly: bool = True,
    exclude_questioned: bool = False,
) -> dict[str, Any]:
    """Every indicator's figures, target, status and projection for one year and unit or envoy.

    The JSON of /api/v1/reports/<year> and of the progress page; `build_report` kept its keys.
    Each line's `questioned` is how much of its actual is under question (what it would lose
    without those records) and `questioned_percent` that share; with `exclude_questioned`
    every figure (last year's for growth targets and the months too) leaves those records out,
    `questioned` is None and the report's `exclude_questioned` says so.
    """
    now = now or utc_now()
    if envoy_id and not unit_code:
        envoy = envoy_by_id(db, envoy_id)
        owner = {"code": None, "name": envoy["name"], "envoy_id": envoy_id}
        prefix = ""
    else:
        unit = unit_scope(db, unit_code)
        owner = {"code": unit["code"], "name": unit["name"]}
        prefix = unit["prefix"]
        if envoy_id:
            owner["envoy_id"] = envoy_by_id(db, envoy_id)["id"]
    scope = Scope(year, prefix, envoy_id, exclude_questioned=exclude_questioned)
    found = figures_of(db, scope, monthly)
    actuals = found.total()
    doubted = found.questioned_total()
    set_targets = targets.targets_for(
        db, year, owner["code"], envoy_id if not owner["code"] else None
    )
    last_year: dict[str, float] | None = None
    if any(t.basis == targets.GROWTH for t in set_targets.values()):
        last_year = figures_of(db, replace(scope, year=year - 1)).total()
    shares = profiles.profiles_for(db, year)
    over = now >= datetime(year + 1, 1, 1, tzinfo=CHINA)
    series = cumulative_by_month(found) if monthly else None
    now_month = (
        now.astimezone(CHINA).month if now.astimezone(CHINA).year == year else (12 if over else 0)
    )
    lines = []
    for indicator in INDICATORS:
        key = indicator.key
        actual = actuals.get(key, 0)
        target = set_targets.get(key)
        last = last_year.get(key, 0) if last_year is not None and target else None
        share = profiles.expected_share(shares[key], year, now)
        judged = judge(target, actual, last, share, over) if target else None
        value = judged.target if judged else None
        status = judged.status if judged else None
        line: dict[str, Any] = {
            "key": key,
            "label_zh": indicator.label_zh,
            "label_en": indicator.label_en,
            "unit_zh": indicator.unit_zh,
            "comparator": target.comparator if target else None,
            "target": value,
            "basis": target.basis if target else None,
            "growth_percent": target.growth_percent if target else None,
            "basis_missing": judged.basis_missing if judged else False,
            "last_year_actual": last,
            "actual": actual,
            "percent": judged.percent if judged else None,
            "met": judged.met if judged else None,
            "status": status,
            "status_zh": TARGET_STATUSES[status].zh if status else None,
            "status_en": TARGET_STATUSES[status].en if status else None,
            "expected_share": share,
            "expected_by_now": judged.expected_by_now if judged else None,
            "projected_year_end": projection(actual, share, value, indicator),
            "questioned": None if exclude_questioned else doubted.get(key, 0),
            "questioned_percent": None
            if exclude_questioned or not actual
            else round(100 * doubted.get(key, 0) / actual, 1),
        }
        if key == "trainee_attendances":
            # Named check-ins and typed headcounts side by side; never added together.
            for extra in ("verified", "reported", "reported_without_names"):
                line[extra] = actuals.get(extra, 0)
            if not exclude_questioned:
                line["questioned_reported"] = doubted.get("reported", 0)
        if key == "tv_lectures":
            line["audience_estimate"] = actuals.get("audience_estimate", 0)
        if key == "leaflets_distributed":
            line["received"] = actuals.get("received", 0)
            if not exclude_questioned:
                line["questioned_received"] = doubted.get("received", 0)
        if series is not None:
            line["monthly"] = [v if m <= now_month else None for m, v in enumerate(series[key], 1)]
            line["pace_line"] = (
                [indicator.rounded(value * share_m) for share_m in shares[key]]
                if value is not None
                else None
            )
            line["profile"] = shares[key]
        lines.append(line)
    return {
        "year": year,
        "unit": owner,
        "as_of": to_iso(now),
        "year_elapsed": round(year_fraction_elapsed(year, now), 4),
        "exclude_questioned": exclude_questioned,
        "indicators": lines,
    }
