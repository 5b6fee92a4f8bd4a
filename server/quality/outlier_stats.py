"""What is usual among a county's figures, and how far one stands out (the outlier flags' statistics).

The modified z-score of Iglewicz & Hoaglin over plots' areas, sessions' headcounts and hand-outs'
copies; server/quality/flags.py turns what stands out into flags.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from sqlite_utils import Database

from server.figures import counted
from server.figures.counted import Scope
from server.store import dialect
from server.store.dialect import Engine
from shared import protocol as p

# Fewer values than this say nothing about what is usual.
MIN_VALUES = 5
# 0.6745 is the 75th percentile of the standard normal: MAD / 0.6745 estimates sigma.
MAD_FACTOR = 0.6745
# With MAD 0, the mean absolute deviation times this estimates sigma instead (IBM's variant).
MEAN_AD_FACTOR = 1.253314
COUNTY_DIGITS = 6

PLOT_AREA = "plot_area"
HEADCOUNT = "headcount"
HANDOUT_COPIES = "handout_copies"


@dataclass(frozen=True)
class Value:
    """One record's figure, with what it is compared among (`group`: a session's kind)."""

    record_id: str
    envoy_id: str
    unit_code: str
    at: str
    value: float
    group: str = ""

    @property
    def county(self) -> str:
        return self.unit_code[:COUNTY_DIGITS]


@dataclass(frozen=True)
class Usual:
    """What is usual among some values: their median and the scale a z-score divides by."""

    median: float
    scale: float
    count: int

    def z(self, value: float) -> float:
        if self.scale == 0:
            return 0.0 if value == self.median else float("inf")
        return (value - self.median) / self.scale

    def range(self, threshold: float) -> tuple[float, float]:
        """The values within the threshold: what counts as usual here."""
        spread = threshold * self.scale
        return max(self.median - spread, 0.0), self.median + spread


@dataclass(frozen=True)
class Measure:
    """An outlier rule: the figure's words, and the query giving a scope's (id, envoy, unit,
    at, value, group, correction_of) rows."""

    kind: str
    record_kind: str
    zh: str
    en: str
    unit_zh: str
    unit_en: str
    sql_of: Callable[[Scope, Engine], str]


def usual(values: Sequence[float]) -> Usual:
    """The median and robust scale of `values`: MAD / 0.6745, or with MAD 0 the mean absolute
    deviation from the median times 1.253314 (so z = 0.6745 (x - median) / MAD)."""
    median = statistics.median(values)
    deviations = [abs(value - median) for value in values]
    mad = statistics.median(deviations)
    if mad > 0:
        return Usual(median, mad / MAD_FACTOR, len(values))
    return Usual(median, MEAN_AD_FACTOR * statistics.fmean(deviations), len(values))


envoy_condition = counted.envoy_is


def _plot_area_sql(scope: Scope, engine: Engine) -> str:
    del engine  # the same on every engine
    return (
        "SELECT p.id, p.envoy_id, p.village_code, p.established_on, p.area_mu, '', NULL "
        f"FROM plots p WHERE {counted.counted_plots(replace(scope, exclude_questioned=False))} "
        "AND p.area_mu IS NOT NULL"
    )


def _headcount_sql(scope: Scope, engine: Engine) -> str:
    return (
        "SELECT s.id, s.lead_envoy_id, s.unit_code, s.starts_at, s.reported_headcount, s.kind, "
        f"NULL FROM sessions s WHERE {counted.counted_sessions(scope, 's', '+', engine)} "
        "AND s.reported_headcount IS NOT NULL"
    )


def _handout_sql(scope: Scope, engine: Engine) -> str:
    """Hand-outs in one of the scope's villages or at one of its sessions, corrections too
    (folded into their originals afterwards). Two branches, each on its own index; with no
    unit, every hand-out of the year (the envoy's)."""
    common = (
        "FROM leaflet_handouts h LEFT JOIN sessions hs ON hs.id = h.session_id "
        f"WHERE {counted.live('h')} AND {counted.handout_in_year('+', engine)}"
        + envoy_condition("h.envoy_id", scope)
    )
    columns = (
        "h.id, h.envoy_id, coalesce(h.unit_code, hs.unit_code), h.handed_out_at, h.copies, '', "
        "h.correction_of"
    )
    if not scope.prefix:
        return f"SELECT {columns} {common}"
    # Flags judge every hand-out, questioned ones too: the scope never leaves them out here.
    return counted.handout_rows(replace(scope, exclude_questioned=False), columns, engine)


# The kinds of record whose figures outliers judge (a push bringing one is judged at once).
JUDGED_KINDS = (p.PLOT, p.SESSION, p.LEAFLET_HANDOUT)

MEASURES = (
    Measure(PLOT_AREA, p.PLOT, "面积", "area", "亩", "mu", _plot_area_sql),
    # Sessions are compared with sessions of the same kind (a large training draws more).
    Measure(HEADCOUNT, p.SESSION, "上报人数", "headcount", "人", "people", _headcount_sql),
    Measure(HANDOUT_COPIES, p.LEAFLET_HANDOUT, "发放份数", "copies", "份", "copies", _handout_sql),
)


def values(db: Database, scope: Scope, sql: str) -> list[Value]:
    """The rows of a measure's query, a hand-out's corrections added into the hand-out."""
    found: dict[str, Value] = {}
    corrections: list[tuple[str, float]] = []
    for record_id, envoy_id, unit, at, value, group, correction_of in db.execute(
        sql, scope.params()
    ):
        if correction_of:
            corrections.append((correction_of, value))
        elif unit:
            found[record_id] = Value(record_id, envoy_id, unit, at, value, group)
    for original, delta in corrections:
        # A correction of a hand-out outside the year (or the scope) is not judged here.
        if original in found:
            found[original] = replace(found[original], value=found[original].value + delta)
    return list(found.values())


def baseline(
    db: Database, scope: Scope, sql_of: Callable[[Scope, Engine], str], candidates: list[Value]
) -> list[Value]:
    """Every value of the candidates' counties in the year, whoever's: the candidates
    themselves when the scope already holds whole counties of every envoy."""
    if scope.envoy_id is None and len(scope.prefix) <= COUNTY_DIGITS:
        return candidates
    out: list[Value] = []
    for county in sorted({value.county for value in candidates}):
        county_scope = replace(scope, prefix=county, envoy_id=None)
        out += values(db, county_scope, sql_of(county_scope, dialect.engine_of(db)))
    return out


def usuals(population: Iterable[Value], by_envoy: bool) -> dict[tuple[str, ...], Usual]:
    """What is usual per county (and group), or per county, envoy (and group)."""
    grouped: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for value in population:
        key = (value.county, value.group) + ((value.envoy_id,) if by_envoy else ())
        grouped[key].append(value.value)
    return {key: usual(found) for key, found in grouped.items() if len(found) >= MIN_VALUES}


def number_text(value: float) -> str:
    return f"{value:,.10g}" if value == int(value) else f"{value:,.1f}"


def outlier_reason(measure: Measure, value: float, county: Usual, threshold: float) -> str:
    low, high = (number_text(end) for end in county.range(threshold))
    median = number_text(county.median)
    zh, en = (measure.unit_zh, measure.unit_en)
    zh_way, en_way = ("远高于", "far above") if value > county.median else ("远低于", "far below")
    return (
        f"{measure.zh} {number_text(value)} {zh}，{zh_way}该特派员与全县常见范围"
        f"（全县中位 {median} {zh}，常见 {low}–{high} {zh}） / {measure.en} {number_text(value)} {en}, "
        f"{en_way} this envoy's and the county's usual (county median {median} {en}, "
        f"usual {low}–{high} {en})"
    )
