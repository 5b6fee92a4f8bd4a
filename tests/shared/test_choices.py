"""Coded choices typed in Chinese or as codes."""

from __future__ import annotations

import pytest

from shared.choices import (
    GENDER_LABELS,
    PLOT_STAGE_LABELS,
    SESSION_KIND_LABELS,
    InvalidChoice,
    parse_choice,
)
from shared.schemas.field import GENDERS, PLOT_STAGES, SESSION_KINDS


def test_every_code_has_a_chinese_name() -> None:
    assert tuple(SESSION_KIND_LABELS) == SESSION_KINDS
    assert set(GENDER_LABELS) == set(GENDERS)
    assert tuple(PLOT_STAGE_LABELS) == PLOT_STAGES


@pytest.mark.parametrize(
    ("labels", "typed", "code"),
    [
        (GENDER_LABELS, "男", "male"),
        (GENDER_LABELS, "女", "female"),
        (GENDER_LABELS, "Female", "female"),
        (SESSION_KIND_LABELS, "进村培训", "village_training"),
        (SESSION_KIND_LABELS, "电视讲座", "tv_lecture"),
        (SESSION_KIND_LABELS, "large-training", "large_training"),
        (SESSION_KIND_LABELS, " 大型培训 ", "large_training"),
        (PLOT_STAGE_LABELS, "播种", "sowing"),
        (PLOT_STAGE_LABELS, "harvest", "harvest"),
    ],
)
def test_names_and_codes_give_the_code(labels: dict[str, str], typed: str, code: str) -> None:
    assert parse_choice(labels, typed, "field") == code


def test_an_unknown_word_lists_the_choices_in_chinese() -> None:
    with pytest.raises(InvalidChoice) as caught:
        parse_choice(GENDER_LABELS, "外星人", "gender")
    assert "gender" in caught.value.errors
    assert "男" in caught.value.message and "female" in caught.value.message


def test_every_kind_and_method_label_has_one_home() -> None:
    """Pages, exports and both command lines take these words from shared/choices.py; a copy
    elsewhere drifts (the same kind was 现场观摩 on one page and 田间观摩 on another)."""
    from pathlib import Path

    from shared.choices import CHECKIN_METHODS, SESSION_KINDS

    root = Path(__file__).resolve().parents[2]
    labels = {w.zh for w in (*SESSION_KINDS.values(), *CHECKIN_METHODS.values())} | {"田间观摩"}
    labels = {label for label in labels if len(label) >= 4}
    copies = [
        f"{path.relative_to(root)}: {label}"
        for folder in ("server", "field_client")
        for path in (root / folder).rglob("*.py")
        for label in labels
        if f'"{label}"' in path.read_text(encoding="utf-8")
    ]
    assert copies == []


def test_every_choice_has_chinese_and_english() -> None:
    from shared.choices import BY_FIELD, add_labels

    for choices in BY_FIELD.values():
        for code, words in choices.items():
            assert words.zh and words.en, code
            assert not words.zh.isascii() or code in (">", ">="), code
    row = add_labels({"kind": "field_day", "reason": "same_name_village_birth_year"})
    assert row["kind_zh"] == "现场观摩" and row["kind_en"] == "field day"
    assert row["reason_zh"] == "姓名、村和出生年相同"
