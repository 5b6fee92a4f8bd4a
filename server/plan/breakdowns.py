"""A unit's year broken down by province, city, county, township, village, envoy, month,
technology, session kind or gender, each row with the targets set at that level; one grouped
query per family of records (or the summaries' rows, server/summaries/read.py compute_by).

Additive figures (person-times, sessions, copies, plots, area) of the rows add up to the unit's
total, with one row for records that sit above the level (a county-level TV lecture in a
township breakdown; a township's large training in a village one): it belongs to no township or
village, so it has no targets. The total carries the unit's own targets, judged by
server.progress as the progress page judges them. Distinct counts (trainees,
technologies, varieties) do not add up: a farmer trained in two townships is one trainee of
each. By technology, a session teaching two technologies counts under both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from server.figures import count as figures
from server.figures.counted import Scope, code_range
from server.plan import profiles, targets
from server.plan.progress import judge, progress
from server.reference.lookups import PREFIX_LENGTH, envoy_by_id, unit_scope
from server.store import dialect
from server.summaries import read as summaries_read
from shared.choices import GENDERS, SESSION_KINDS, words
from shared.clock import CHINA, to_iso, utc_now
from shared.errors import TianjianError
from shared.indicators import INDICATORS

BY = (
    "province",
    "city",
    "county",
    "township",
    "village",
    "envoy",
    "month",
    "technology",
    "kind",
    "gender",
)
# The dimensions whose rows are units of that level (each with its own targets).
UNIT_LEVELS = ("province", "city", "county", "township", "village")
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


# The row of records above the level broken down: in no township (or village) of the unit.
ABOVE_WORDS = {
    # Every division code lies in a province: a row a breakdown never has, named all the same.
    "province": ("不属任何省（全国本级）", "in no province (national level)"),
    "city": ("不属任何市（省本级）", "in no city (province level)"),
    "county": ("不属任何县（省、市本级）", "in no county (province or city level)"),
    "township": ("不属任何乡镇（县本级）", "in no township (county level)"),
    "village": ("不属任何村（乡镇、县本级）", "in no village (township or county level)"),
}


# What the total's line of each indicator carries from the progress report, as a row's targets.
TARGET_FIELDS = (
    "comparator",
    "target",
    "basis",
    "basis_missing",
    "percent",
    "met",
    "status",
    "expected_by_now",
)
TOTAL_EXTRAS = {
    "trainee_attendances": ("reported", "reported_without_names"),
    "tv_lectures": ("audience_estimate",),
}


def offered(unit_code: str | None) -> tuple[str, ...]:
    """The breakdowns a page offers for a unit (None: an envoy's own figures): by province only
    for the whole server (code ''), above every province; on a province or below it is one row,
    the unit's own province, which a county's staff would only wonder at."""
    return BY if unit_code == "" else tuple(by for by in BY if by != "province")


def _above(key: Any, unit_code: str, by: str, prefix: str) -> bool:
    """Whether a row holds the records above the level broken down (a county's TV lecture by
    township). Never at a level the unit lies within (a county by city: one row, its city's
    code, holding the county's own records)."""
    deeper = by in ABOVE_WORDS and PREFIX_LENGTH[by] > len(prefix)
    return deeper and (key is None or key == unit_code)


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
    # Records above the level broken down (no township, or no village): never any targets.
    above: bool = False
    # A township's or village's township name (files carry it beside the 12-digit key).
    township: str | None = None


def _labels(
    db: Database, by: str, keys: list[Any], unit_code: str, prefix: str
) -> dict[Any, tuple[str, str]]:
    if by in UNIT_LEVELS:
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
            if _above(key, unit_code, by, prefix):
                out[key] = ABOVE_WORDS[by]
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


def _townships(db: Database, keys: list[Any], unit_code: str) -> dict[Any, str]:
    """The township name of each township or village key (not the unit's own row)."""
    codes = {key: key[:9].ljust(12, "0") for key in keys if key and key != unit_code}
    names = dict(
        db.execute(
            "SELECT code, name FROM units WHERE code IN "
            f"(SELECT j.value FROM {dialect.json_each(dialect.engine_of(db), '?')})",
            [json.dumps(sorted(set(codes.values())))],
        ).fetchall()
    )
    return {key: names.get(code, "") for key, code in codes.items()}


def _all_keys(db: Database, by: str, prefix: str, year: int) -> list[Any]:
    """Rows shown even with nothing counted: every township/village of the unit, every envoy
    serving it, every month."""
    lo, hi = code_range(prefix)
    if by in UNIT_LEVELS:
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
                "SELECT e.id FROM envoys e WHERE EXISTS (SELECT 1 FROM "
                f"{dialect.json_each(dialect.engine_of(db), 'e.township_codes', 't')} "
                "WHERE t.value >= ? AND t.value < ?) ORDER BY e.name",
                [lo, hi],
            )
        ]
    if by == "month":
        return list(range(1, 13))
    return []


def _grouped(db: Database, scope: Scope, by: str) -> Any:
    """The scope's figures by `by`: from the summaries when they hold it, else from records."""
    found = summaries_read.compute_by(db, scope, by)
    return (found if found is not None else figures.compute(db, scope, by)).groups


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
        envoy_by_id(db, envoy_id)
    scope = Scope(year, prefix, envoy_id, exclude_questioned=exclude_questioned)
    found = _grouped(db, scope, by)
    # The unit's (or envoy's) own line of each indicator, judged as the progress page judges it.
    report = progress(
        db,
        year,
        unit["code"] if unit else None,
        envoy_id,
        now=now,
        monthly=False,
        exclude_questioned=exclude_questioned,
    )
    lines = {line["key"]: line for line in report["indicators"]}
    if envoy_id and by == "envoy":
        # One envoy's figures by envoy are that envoy's row alone: listing every envoy (with
        # zeros) would show an envoy user the names of all the others.
        keys = [envoy_id]
    else:
        # Rows in the dimension's own order (townships by code, envoys by name, months), those
        # outside it (the unit's own row, nothing named) first: never the order a query
        # happened to meet them in, so figures from summaries and from records read the same.
        every = _all_keys(db, by, prefix, year)
        rank = {key: n for n, key in enumerate(every)}
        keys = sorted(found, key=lambda key: (key in rank, rank.get(key, 0), repr(key)))
        keys += [key for key in every if key not in found]
    unit_code = unit["code"] if unit else ""
    labels = _labels(db, by, keys, unit_code, prefix)
    townships = _townships(db, keys, unit_code) if by in ("township", "village") else {}
    owner_targets: dict[str, dict[str, targets.Target]] = {}
    if by == "envoy" or (by in UNIT_LEVELS and PREFIX_LENGTH[by] > len(prefix)):
        # The row above the level is no township's or village's: the unit's targets are the
        # total's. A level the unit lies within has none either: its one row holds the unit's
        # records only, never all its city's (or province's) that the city's targets are for.
        owners = [k for k in keys if k and not _above(k, unit_code, by, prefix)]
        owner_targets = targets.targets_by_owner(db, year, owners, envoys=by == "envoy")
    last_year: dict[Any, dict[str, float]] = {}
    if any(t.basis == targets.GROWTH for ts in owner_targets.values() for t in ts.values()):
        last_year = dict(_grouped(db, replace(scope, year=year - 1), by))
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
        row = BreakdownRow(
            key,
            *labels[key],
            values=shown,
            above=_above(key, unit_code, by, prefix),
            township=townships.get(key),
        )
        for indicator, target in owner_targets.get(key, {}).items():
            share = profiles.expected_share(shares[indicator], year, now)
            judged = judge(
                target,
                shown.get(indicator, 0),
                last_year.get(key, {}).get(indicator, 0),
                share,
                over,
            )
            row.targets[indicator] = {
                "comparator": target.comparator,
                "target": judged.target,
                "basis": target.basis,
                "basis_missing": judged.basis_missing,
                "percent": judged.percent,
                "met": judged.met,
                "status": judged.status,
                "expected_by_now": judged.expected_by_now,
            }
        rows.append(row)
    total: dict[str, float] = {k: lines[k]["actual"] for k in applies}
    # Beside the figures, never added to them: headcounts typed and TV audiences estimated.
    for indicator, extras in TOTAL_EXTRAS.items():
        if indicator in applies:
            total.update({extra: lines[indicator].get(extra, 0) for extra in extras})
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
        # Each row's dicts are its own, made above: no deep copy (asdict's was two thirds of the
        # nation's breakdown by its 1,000 counties).
        "rows": [dict(vars(row)) for row in rows],
        "total": total,
        "total_targets": {
            k: {name: lines[k].get(name) for name in TARGET_FIELDS}
            for k in applies
            if lines[k]["comparator"] is not None
        },
    }
