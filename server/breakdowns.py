"""A unit's year broken down by township, village, envoy, month, technology, session kind or gender,
each row with the targets set at that level; one grouped query per family of records.

Additive figures (person-times, sessions, copies, plots, area) of the rows add up to the unit's
total, rows for records that sit above the level included (a county-level TV lecture in a
township breakdown; a township's large training in a village one). Distinct counts (trainees,
technologies, varieties) do not add up: a farmer trained in two townships is one trainee of
each. By technology, a session teaching two technologies counts under both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from server import figures, profiles, targets
from server.figures import Scope, code_range
from server.progress import envoy_record, status_of, unit_scope
from shared.choices import GENDERS, SESSION_KINDS, words
from shared.clock import CHINA, to_iso, utc_now
from shared.errors import TianjianError
from shared.indicators import INDICATORS, is_met

BY = ("township", "village", "envoy", "month", "technology", "kind", "gender")
# Figures whose rows add up to the total (the others count distinct things).
ADDITIVE = (
    "trainee_attendances",
    "village_trainings",
    "large_trainings",
    "tv_lectures",
    "leaflets_distributed",
    "demo_plots",
    "demo_area_mu",
)
# Which indicators a dimension can break down (gender: only people; kind: no plots).
APPLIES = {
    "gender": ("trainee_attendances", "unique_trainees"),
    "kind": (
        "trainee_attendances",
        "unique_trainees",
        "leaflets_distributed",
        "village_trainings",
        "large_trainings",
        "tv_lectures",
        "technologies_promoted",
    ),
    "technology": (
        "trainee_attendances",
        "unique_trainees",
        "village_trainings",
        "large_trainings",
        "tv_lectures",
        "technologies_promoted",
        "varieties_introduced",
        "demo_plots",
        "demo_area_mu",
    ),
}
NOT_AT_A_SESSION = ("非培训场合", "not at a session")


class UnknownDimension(TianjianError):
    status = 422

    def __init__(self, by: str) -> None:
        super().__init__(
            f"无法按 {by} 分组 / cannot break down by {by}", {"by": f"one of {', '.join(BY)}"}
        )


@dataclass
class BreakdownRow:
    """One row: what it is (key and labels) and each indicator's figure and target there."""

    key: Any
    label_zh: str
    label_en: str
    values: dict[str, float]
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)


def _labels(db: Database, by: str, keys: list[Any], unit_code: str) -> dict[Any, tuple[str, str]]:
    if by in ("township", "village"):
        names: dict[Any, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = [k for k in keys[start : start + 500] if k]
            if chunk:
                marks = ",".join("?" * len(chunk))
                names.update(
                    db.execute(
                        f"SELECT code, name FROM units WHERE code IN ({marks})", chunk
                    ).fetchall()
                )
        out = {}
        for key in keys:
            if key is None or key == unit_code:
                out[key] = ("（上级单位）", "(above this level)")
            else:
                out[key] = (names.get(key, key), names.get(key, key))
        return out
    if by == "envoy":
        names = dict(db.execute("SELECT id, name FROM envoys").fetchall())
        return {k: (names.get(k, "（未知）"), names.get(k, "(unknown)")) for k in keys}
    if by == "technology":
        names = dict(db.execute("SELECT id, name FROM technologies").fetchall())
        return {
            k: (names.get(k, k), names.get(k, k)) if k else ("（未标技术）", "(no technology)")
            for k in keys
        }
    if by == "month":
        return {k: (f"{k}月", f"month {k}") for k in keys}
    if by == "kind":
        return {k: words(SESSION_KINDS, k) if k else NOT_AT_A_SESSION for k in keys}
    return {k: words(GENDERS, k or "unspecified") for k in keys}


def _all_keys(db: Database, by: str, prefix: str, year: int) -> list[Any]:
    """Rows shown even with nothing counted: every township/village of the unit, every envoy
    serving it, every month."""
    lo, hi = code_range(prefix)
    if by in ("township", "village"):
        return [
            row[0]
            for row in db.execute(
                "SELECT code FROM units WHERE level = ? AND code >= ? AND code < ? ORDER BY code",
                [by, lo, hi],
            )
        ]
    if by == "envoy":
        return [
            row[0]
            for row in db.execute(
                "SELECT e.id FROM envoys e WHERE EXISTS (SELECT 1 FROM json_each(e.township_codes) t "
                "WHERE t.value >= ? AND t.value < ?) ORDER BY e.name",
                [lo, hi],
            )
        ]
    if by == "month":
        return list(range(1, 13))
    return []


def breakdown(
    db: Database,
    year: int,
    by: str,
    unit_code: str | None = None,
    envoy_id: str | None = None,
    now: datetime | None = None,
    sort: str | None = None,
    descending: bool = True,
    exclude_questioned: bool = False,
) -> dict[str, Any]:
    """The unit's (or an envoy's) figures for the year by `by`, with each row's own targets."""
    if by not in BY:
        raise UnknownDimension(by)
    now = now or utc_now()
    unit = unit_scope(db, unit_code) if unit_code or not envoy_id else None
    prefix = unit["prefix"] if unit else ""
    if envoy_id:
        envoy_record(db, envoy_id)
    scope = Scope(year, prefix, envoy_id, exclude_questioned=exclude_questioned)
    found = figures.compute(db, scope, by).groups
    total = figures.compute(db, scope).total()
    keys = list(found)
    for key in _all_keys(db, by, prefix, year):
        if key not in found:
            keys.append(key)
    labels = _labels(db, by, keys, unit["code"] if unit else "")
    owner_targets: dict[str, dict[str, targets.Target]] = {}
    if by in ("township", "village", "envoy"):
        owners = [k for k in keys if k]
        owner_targets = targets.targets_by_owner(db, year, owners, envoys=by == "envoy")
    last_year: dict[Any, dict[str, float]] = {}
    if any(t.basis == targets.GROWTH for ts in owner_targets.values() for t in ts.values()):
        last_year = dict(figures.compute(db, replace(scope, year=year - 1), by).groups)
    shares = profiles.profiles_for(db, year)
    over = now >= datetime(year + 1, 1, 1, tzinfo=CHINA)
    applies = APPLIES.get(by, tuple(i.key for i in INDICATORS))
    rows = []
    for key in keys:
        values = dict(found.get(key, {}))
        shown = {i.key: values.get(i.key, 0) for i in INDICATORS if i.key in applies}
        for extra in ("reported", "reported_without_names", "audience_estimate"):
            if extra in values:
                shown[extra] = values[extra]
        row = BreakdownRow(key, *labels[key], values=shown)
        for indicator, target in owner_targets.get(key, {}).items():
            value = target.resolved(last_year.get(key, {}).get(indicator, 0))
            actual = shown.get(indicator, 0)
            share = profiles.expected_share(shares[indicator], year, now)
            expected = round(value * share, 1) if value is not None else None
            status = status_of(actual, value, target.comparator, expected, over)
            row.targets[indicator] = {
                "comparator": target.comparator,
                "target": value,
                "basis": target.basis,
                "percent": round(100 * actual / value, 1) if value else None,
                "met": is_met(actual, target.comparator, value) if value is not None else None,
                "status": status,
                "expected_by_now": expected,
            }
        rows.append(row)
    if sort:
        rows.sort(key=lambda r: r.values.get(sort, 0) or 0, reverse=descending)
    return {
        "year": year,
        "by": by,
        "unit": {"code": unit["code"], "name": unit["name"]} if unit else None,
        "envoy_id": envoy_id,
        "as_of": to_iso(now),
        "exclude_questioned": exclude_questioned,
        "indicators": [
            {"key": i.key, "label_zh": i.label_zh, "label_en": i.label_en, "unit_zh": i.unit_zh}
            for i in INDICATORS
            if i.key in applies
        ],
        "additive": [k for k in ADDITIVE if k in applies],
        "rows": [asdict(row) for row in rows],
        "total": {k: total.get(k, 0) for k in applies},
    }
