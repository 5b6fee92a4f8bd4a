"""Flags: field records whose figures look wrong, listed for staff to review, never refused.

Rules (issue 14, "Flags and review"; docs/report.md, "Flags"):
- outliers: a plot's area, a session's reported headcount (compared with sessions of the same
  kind) and a hand-out's copies whose modified z-score (Iglewicz & Hoaglin) is beyond the
  threshold both among the county's records of the year and among that envoy's records in the
  county that year. An envoy with fewer than MIN_VALUES such records is judged on the county
  alone; a county with fewer than MIN_VALUES is not judged at all;
- a session (TV lectures aside) already started, with no check-in and no reported headcount;
- a plot observation whose yield is beyond `ratio` times (or below 1/`ratio` of) its plot's
  target yield;
- sessions whose farmers' own check-ins look made by a machine (server/quality/checkin_flags.py);
- sessions and observations whose photos are missing, out of time, reused or far from their
  village (server/quality/photo_flags.py).
Deleted records are neither flagged nor counted in what is usual. A hand-out's corrections
(`correction_of`) are folded into the hand-out they correct: the net copies are judged, under
the original's id, and a correction is never judged alone.
An outlier flag once raised stays listed until the record is reviewed, saying when it no
longer stands out (server/quality/flag_store.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from server.figures import counted
from server.figures.counted import Scope
from server.quality import checkin_flags, flag_store, photo_flags
from server.quality.checkin_flags import CheckinRules, checkin_rules_of
from server.quality.outlier_stats import (
    HANDOUT_COPIES,
    HEADCOUNT,
    MEASURES,
    PLOT_AREA,
    baseline,
    envoy_condition,
    number_text,
    outlier_reason,
    usuals,
    values,
)
from server.quality.photo_flags import PhotoRules, photo_rules_of
from server.settings import default
from server.store import dialect
from server.store.db import write_transaction
from shared import protocol as p
from shared.clock import local_date, parse_iso, to_iso

EMPTY_SESSION = "empty_session"
YIELD_VS_TARGET = "yield_vs_target"
KINDS = (
    PLOT_AREA,
    HEADCOUNT,
    HANDOUT_COPIES,
    EMPTY_SESSION,
    YIELD_VS_TARGET,
    *checkin_flags.KINDS,
    *photo_flags.KINDS,
)


@dataclass(frozen=True)
class Flag:
    """One doubtful record: what looks wrong, why in words, and its present review (or None)."""

    kind: str
    record_kind: str
    record_id: str
    envoy_id: str
    reason: str
    review: str | None
    envoy: str
    unit_code: str | None
    at: str | None  # the record's date or time
    value: float | None
    z: float | None  # the county's modified z-score, for the outlier kinds
    # A kept flag whose figure no longer stands out says so (server/quality/flag_store.py).
    note: str | None = None


@dataclass(frozen=True)
class FlagRules:
    """The settings the rules use (server/settings.py declares them)."""

    z_threshold: float = default("FLAG_Z_THRESHOLD")
    yield_ratio: float = default("FLAG_YIELD_RATIO")
    checkin: CheckinRules = field(default_factory=CheckinRules)
    photo: PhotoRules = field(default_factory=PhotoRules)


def rules_of(config: Mapping[str, Any]) -> FlagRules:
    """The rules as a server is configured (its app config)."""
    return FlagRules(
        float(config["FLAG_Z_THRESHOLD"]),
        float(config["FLAG_YIELD_RATIO"]),
        checkin_rules_of(config),
        photo_rules_of(config),
    )


def outliers(
    db: Database, scope: Scope, threshold: float, record_kinds: Iterable[str] | None = None
) -> list[Flag]:
    """Plot areas, headcounts and hand-outs' copies far outside both the county's and that
    envoy's usual (an envoy with too few records: the county's alone); only the measures of
    `record_kinds` when given (what a push brought)."""
    flags = []
    kinds = None if record_kinds is None else set(record_kinds)
    for measure in MEASURES:
        if kinds is not None and measure.record_kind not in kinds:
            continue
        candidates = values(db, scope, measure.sql_of(scope, dialect.engine_of(db)))
        population = baseline(db, scope, measure.sql_of, candidates)
        counties, envoys = usuals(population, False), usuals(population, True)
        for value in candidates:
            county = counties.get((value.county, value.group))
            if county is None or abs(county.z(value.value)) <= threshold:
                continue
            own = envoys.get((value.county, value.group, value.envoy_id))
            if own is not None and abs(own.z(value.value)) <= threshold:
                continue
            flags.append(
                Flag(
                    measure.kind,
                    measure.record_kind,
                    value.record_id,
                    value.envoy_id,
                    outlier_reason(measure, value.value, county, threshold),
                    None,
                    "",
                    value.unit_code,
                    value.at,
                    value.value,
                    round(county.z(value.value), 1),
                )
            )
    return flags


def empty_sessions(db: Database, scope: Scope, now: datetime) -> list[Flag]:
    """Sessions (TV lectures aside) that have started, with no check-in and no headcount."""
    engine = dialect.engine_of(db)
    sql = (
        "SELECT s.id, s.lead_envoy_id, s.unit_code, s.starts_at FROM sessions s "
        # Unary + on starts_at: read the unit's (or the envoy's) index, not the whole year's.
        f"WHERE {counted.counted_sessions(scope, 's', plus='+', engine=engine)} "
        f"AND {counted.trains('s')} AND s.reported_headcount IS NULL "
        f"AND NOT {counted.has_checkins('s', engine=engine)}"
    )
    reason = "培训无人签到，也未上报人数 / session with no check-ins and no reported headcount"
    # One upper bound on starts_at (the year's end or now), so the unit's index is read.
    params = scope.params()
    params["end"] = min(params["end"], to_iso(now))
    return [
        Flag(EMPTY_SESSION, p.SESSION, sid, envoy, reason, None, "", unit, at, None, None)
        for sid, envoy, unit, at in db.execute(sql, params)
    ]


def far_from_target(db: Database, scope: Scope, ratio: float) -> list[Flag]:
    """Plot observations whose yield is more than `ratio` times, or less than 1/`ratio` of,
    their plot's target yield. The unit's plots first (CROSS JOIN keeps that order), then
    each one's observations by the index on plot_id."""
    sql = (
        "SELECT o.id, o.envoy_id, p.village_code, o.observed_on, o.yield_kg_per_mu, "
        f"p.target_yield_kg_per_mu FROM plots p {dialect.join_in_order(dialect.engine_of(db))} "
        "plot_observations o ON o.plot_id = p.id "
        f"WHERE {counted.live('o')} AND {counted.live('p')} AND o.yield_kg_per_mu IS NOT NULL "
        "AND p.target_yield_kg_per_mu > 0 AND o.observed_on >= :day_start "
        "AND o.observed_on < :day_end AND p.village_code >= :lo AND p.village_code < :hi "
        "AND (o.yield_kg_per_mu > p.target_yield_kg_per_mu * :ratio "
        "OR o.yield_kg_per_mu * :ratio < p.target_yield_kg_per_mu)"
        + envoy_condition("o.envoy_id", scope)
        + " ORDER BY o.observed_on"
    )
    flags = []
    for oid, envoy, unit, on, got, target in db.execute(sql, {**scope.params(), "ratio": ratio}):
        reason = (
            f"亩产 {number_text(got)} 公斤，与目标亩产 {number_text(target)} 公斤相差超过 "
            f"{number_text(ratio)} 倍 / yield {number_text(got)} kg/mu, beyond {number_text(ratio)} times "
            f"from the plot's target of {number_text(target)} kg/mu"
        )
        flags.append(
            Flag(
                YIELD_VS_TARGET,
                p.PLOT_OBSERVATION,
                oid,
                envoy,
                reason,
                None,
                "",
                unit,
                on,
                got,
                None,
            )
        )
    return flags


def with_names_and_reviews(db: Database, flags: list[Flag]) -> list[Flag]:
    """Each flag with its envoy's name and its record's present review status."""
    envoy_ids = json.dumps(sorted({flag.envoy_id for flag in flags}))
    listed = f"(SELECT j.value FROM {dialect.json_each(dialect.engine_of(db), '?')})"
    names = dict(
        db.execute(f"SELECT id, name FROM envoys WHERE id IN {listed}", [envoy_ids]).fetchall()
    )
    reviews: dict[tuple[str, str], str] = {}
    for record_kind in sorted({flag.record_kind for flag in flags}):
        ids = json.dumps([flag.record_id for flag in flags if flag.record_kind == record_kind])
        for record_id, status in db.execute(
            f"SELECT record_id, status FROM reviews WHERE record_kind = ? AND record_id IN {listed}",
            [record_kind, ids],
        ):
            reviews[(record_kind, record_id)] = status
    return [
        replace(
            flag,
            envoy=names.get(flag.envoy_id, flag.envoy_id),
            review=reviews.get((flag.record_kind, flag.record_id)),
        )
        for flag in flags
    ]


def flags(db: Database, scope: Scope, now: datetime, rules: FlagRules) -> list[Flag]:
    """Every flag of a scope, unreviewed first, then by kind and date."""
    standing = outliers(db, scope, rules.z_threshold)
    _keep_new(db, scope.year, standing)
    kept = [
        Flag(
            flag.kind,
            flag.record_kind,
            flag.record_id,
            flag.envoy_id,
            flag.reason,
            None,
            "",
            flag.unit_code,
            flag.at,
            flag.value,
            flag.z,
            " / ".join(flag_store.NO_LONGER),
        )
        for flag in flag_store.kept_in(db, scope, {(f.kind, f.record_id) for f in standing})
    ]
    found = (
        standing
        + kept
        + empty_sessions(db, scope, now)
        + far_from_target(db, scope, rules.yield_ratio)
        + [
            _raised(f, p.SESSION, f.session)
            for f in checkin_flags.checkin_flags(db, scope, now, rules.checkin)
        ]
        + [
            _raised(f, f.record_kind, f.record_id)
            for f in photo_flags.photo_flags(db, scope, now, rules.photo)
        ]
    )
    found = with_names_and_reviews(db, found)
    return sorted(
        found,
        key=lambda flag: (
            flag.review is not None,
            KINDS.index(flag.kind),
            flag.at or "",
            flag.record_id,
        ),
    )


def _keep_new(db: Database, year: int, found: list[Flag]) -> None:
    """Keep outlier flags seen for the first time; a list with none new writes nothing."""
    new = flag_store.unkept(db, found)
    if not new:
        return
    if db.conn.in_transaction:
        flag_store.keep(db, year, new)
        return
    with write_transaction(db):
        flag_store.keep(db, year, new)


def raise_after_push(db: Database, dirty: Mapping[str, Iterable[str]], threshold: float) -> int:
    """Keep the outlier flags of every county-year a push's plots, sessions and hand-outs
    touched, judged with the push's records in (inside the push's transaction): a flag is
    raised by the data as it arrives, not by who opened which page when. How many were new."""
    return sum(
        flag_store.keep(
            db, scope.year, flag_store.unkept(db, outliers(db, scope, threshold, record_kinds))
        )
        for scope, record_kinds in flag_store.touched_scopes(db, dirty)
    )


# Where a record's year, unit and envoy are, by kind (for the flags of one record).
_WHERE = {
    p.PLOT: "SELECT established_on, village_code, envoy_id FROM plots WHERE id = ?",
    p.SESSION: "SELECT starts_at, unit_code, lead_envoy_id FROM sessions WHERE id = ?",
    p.LEAFLET_HANDOUT: (
        "SELECT h.handed_out_at, coalesce(h.unit_code, s.unit_code), h.envoy_id "
        "FROM leaflet_handouts h LEFT JOIN sessions s ON s.id = h.session_id WHERE h.id = ?"
    ),
    p.PLOT_OBSERVATION: (
        "SELECT o.observed_on, pl.village_code, o.envoy_id FROM plot_observations o "
        "JOIN plots pl ON pl.id = o.plot_id WHERE o.id = ?"
    ),
}


def flags_of_record(
    db: Database, record_kind: str, record_id: str, now: datetime, rules: FlagRules
) -> list[Flag]:
    """The flags one record has now (for its review page): judged within its year and county
    exactly as in the list, so the two always agree."""
    sql = _WHERE.get(record_kind)
    row = db.execute(sql, [record_id]).fetchone() if sql else None
    if row is None or not row[0] or not row[1]:
        return []
    at, unit, envoy_id = row
    year = local_date(parse_iso(at)).year if "T" in at else int(at[:4])
    scope = Scope(year, unit, envoy_id)
    return [
        flag
        for flag in flags(db, scope, now, rules)
        if (flag.record_kind, flag.record_id) == (record_kind, record_id)
    ]


def _raised(found: Any, record_kind: str, record_id: str) -> Flag:
    """A flag of the check-in or photo rules (kind, envoy_id, reason, unit, at, value) as a Flag
    on the record it names, not yet reviewed."""
    return Flag(
        found.kind,
        record_kind,
        record_id,
        found.envoy_id,
        found.reason,
        None,
        "",
        found.unit,
        found.at,
        found.value,
        None,
    )
