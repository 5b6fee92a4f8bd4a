"""The indicators a county's targets are set on, with their labels and how "met" is judged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Indicator:
    key: str
    label_zh: str
    label_en: str
    unit_zh: str
    # Counts (person-times, copies, sessions...) are whole numbers; only an area has decimals.
    whole: bool = True

    def rounded(self, value: float) -> float:
        """A figure derived from this indicator (a target times a share of the year, a
        projection) as the indicator is counted: 2,790 person-times, never 2,790.1."""
        return float(round(value)) if self.whole else round(value, 1)


INDICATORS: Final = (
    Indicator("trainee_attendances", "培训人次", "Trainee attendances (person-times)", "人次"),
    Indicator("unique_trainees", "培训人数", "Unique trainees", "人"),
    Indicator("leaflets_distributed", "发放资料份数", "Leaflets handed out", "份"),
    Indicator("village_trainings", "进村培训次数", "Village trainings", "次"),
    Indicator("large_trainings", "大型培训次数", "Large trainings", "次"),
    Indicator("tv_lectures", "电视讲座次数", "TV lectures", "次"),
    Indicator("technologies_promoted", "推广技术项数", "Technologies promoted (distinct)", "项"),
    Indicator("varieties_introduced", "引进品种项数", "Varieties introduced (distinct)", "项"),
    Indicator("demo_plots", "示范田块数", "Demonstration plots", "块"),
    Indicator("demo_area_mu", "示范面积（亩）", "Demonstration area (mu)", "亩", whole=False),
)
INDICATOR_KEYS: Final = tuple(indicator.key for indicator in INDICATORS)
BY_KEY: Final = {indicator.key: indicator for indicator in INDICATORS}

# Session kinds whose audience is not trainees (a TV lecture's viewers are an estimate): their
# check-ins and headcounts never count as people trained. The server (server/figures/counted.py) and
# the device (field_client/progress.py) both count by this one definition.
AUDIENCE_KINDS: Final = ("tv_lecture",)
# The indicators that count sessions of one kind, and the kind each counts.
SESSION_KIND_INDICATORS: Final = {
    "village_trainings": "village_training",
    "large_trainings": "large_training",
    "tv_lectures": "tv_lecture",
}

# "超过" (more than) is strict; "不少于"/"以上" (at least) is not.
COMPARATORS: Final = (">", ">=")


def is_met(actual: float, comparator: str, target: float) -> bool:
    if comparator == ">":
        return actual > target
    if comparator == ">=":
        return actual >= target
    raise ValueError(f"unknown comparator {comparator!r}")


def growth_target(last_year_actual: float | None, growth_percent: float | None) -> float | None:
    """A growth target ("同比增长 10%") as a number to reach: last year's actual grown by the
    percent. None when there is no basis: no last-year figure (or a zero one, which any growth
    leaves at zero and which would call the target met before any work): such a target is
    never judged met, and is shown as 无上年数据 (no last-year data)."""
    if not last_year_actual or growth_percent is None:
        return None
    return round(last_year_actual * (1 + growth_percent / 100), 2)
