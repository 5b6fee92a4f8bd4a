"""Indicators and how "met" is judged: '>' (超过) is strict, '>=' (不少于/以上) is not."""

from __future__ import annotations

import pytest

from shared.indicators import BY_KEY, COMPARATORS, INDICATOR_KEYS, INDICATORS, is_met


@pytest.mark.parametrize(
    ("actual", "comparator", "target", "met"),
    [
        (3000, ">", 3000, False),  # 培训人员超过3000人次: exactly 3000 is not enough
        (3001, ">", 3000, True),
        (2999, ">", 3000, False),
        (3000.5, ">", 3000, True),
        (5000, ">=", 5000, True),  # 发放技术资料不少于5000份
        (4999, ">=", 5000, False),
        (5001, ">=", 5000, True),
        (8, ">=", 8, True),  # 进村培训8次以上
        (7, ">=", 8, False),
        (2, ">=", 2, True),
        (0, ">=", 0, True),
        (0, ">", 0, False),
        (19.999, ">=", 20, False),
    ],
)
def test_is_met(actual: float, comparator: str, target: float, met: bool) -> None:
    assert is_met(actual, comparator, target) is met


@pytest.mark.parametrize("comparator", ["≥", "=>", "gt", "", "<", "=="])
def test_unknown_comparator_is_refused(comparator: str) -> None:
    with pytest.raises(ValueError, match="comparator"):
        is_met(10, comparator, 5)


def test_comparators_are_exactly_strict_and_at_least() -> None:
    assert COMPARATORS == (">", ">=")


def test_indicator_keys_are_unique_and_indexed() -> None:
    assert len(set(INDICATOR_KEYS)) == len(INDICATORS)
    assert set(BY_KEY) == set(INDICATOR_KEYS)
    for indicator in INDICATORS:
        assert BY_KEY[indicator.key] is indicator


@pytest.mark.parametrize(
    "key",
    [
        "trainee_attendances",
        "leaflets_distributed",
        "village_trainings",
        "large_trainings",
        "tv_lectures",
        "technologies_promoted",
        "varieties_introduced",
    ],
)
def test_every_target_in_the_county_plan_has_an_indicator(key: str) -> None:
    assert key in INDICATOR_KEYS


def test_every_indicator_has_labels_in_both_languages_and_a_unit() -> None:
    for indicator in INDICATORS:
        assert indicator.label_zh.strip()
        assert indicator.label_en.strip()
        assert indicator.unit_zh.strip()


def test_person_times_and_persons_are_separate_indicators() -> None:
    assert BY_KEY["trainee_attendances"].unit_zh == "人次"
    assert BY_KEY["unique_trainees"].unit_zh == "人"


def test_indicators_are_immutable() -> None:
    with pytest.raises(AttributeError):
        BY_KEY["tv_lectures"].key = "radio"  # type: ignore[misc]
