"""Chinese names of the coded choices (session kinds, genders, plot stages, check-in methods).

Records store the English codes; people see and type the Chinese names. `parse_choice` takes
either (or the code in any letter case, with spaces or dashes for underscores) and gives the
code, so a command line and a web form accept the same words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Final

from shared.errors import TianjianError

SESSION_KIND_LABELS: Final[Mapping[str, str]] = {
    "village_training": "进村培训",
    "large_training": "大型培训",
    "tv_lecture": "电视讲座",
    "field_day": "现场观摩",
    "science_week": "科技活动周",
    "other": "其他活动",
}
GENDER_LABELS: Final[Mapping[str, str]] = {
    "female": "女",
    "male": "男",
    "unspecified": "未说明",
}
PLOT_STAGE_LABELS: Final[Mapping[str, str]] = {
    "sowing": "播种",
    "seedling": "出苗",
    "growing": "生长",
    "flowering": "开花",
    "harvest": "收获",
    "other": "其他",
}
CHECKIN_METHOD_LABELS: Final[Mapping[str, str]] = {
    "qr_self": "扫码签到",
    "card_scan": "刷卡签到",
    "roster": "名单签到",
}

# Other words people type for the same choice.
_SYNONYMS: Final[Mapping[str, str]] = {
    "男性": "male",
    "女性": "female",
    "m": "male",
    "f": "female",
    "不详": "unspecified",
    "未知": "unspecified",
    "培训": "village_training",
    "村培训": "village_training",
    "讲座": "tv_lecture",
    "观摩": "field_day",
    "田间日": "field_day",
    "科技周": "science_week",
    "其他": "other",
    "生长期": "growing",
    "开花期": "flowering",
    "扫码": "qr_self",
    "刷卡": "card_scan",
    "点名": "roster",
    "名单": "roster",
}


class InvalidChoice(TianjianError, ValueError):
    """A typed word is none of the choices for its field."""

    status = 422


def choice_help(labels: Mapping[str, str]) -> str:
    """The choices as people read them: 进村培训(village_training), ..."""
    return ", ".join(f"{label}({code})" for code, label in labels.items())


def label(labels: Mapping[str, str], code: str | None) -> str:
    """The Chinese name of a code; an unknown code is shown as it is."""
    if code is None:
        return ""
    return labels.get(code, code)


def parse_choice(labels: Mapping[str, str], text: str, field: str) -> str:
    """The code for what a person typed: the code itself or its Chinese name.

    Raises InvalidChoice naming `field` and listing the choices.
    """
    word = unicodedata.normalize("NFKC", text).strip()
    if word in labels:
        return word
    by_label = {name: code for code, name in labels.items()}
    if word in by_label:
        return by_label[word]
    folded = word.lower().replace("-", "_").replace(" ", "_")
    if folded in labels:
        return folded
    synonym = _SYNONYMS.get(word) or _SYNONYMS.get(folded)
    if synonym is not None and synonym in labels:
        return synonym
    reason = f"应为 {choice_help(labels)} 之一 / must be one of {', '.join(labels)}"
    raise InvalidChoice(
        f"{field}: “{text}”不是可选值，应为 {choice_help(labels)} 之一 / "
        f"{text!r} is not one of {', '.join(labels)}",
        {field: reason},
    )
