"""Every coded choice people see, in Chinese with English beside it, in one place.

Session kinds, check-in methods, genders, plot stages, target statuses, record kinds, farmer-candidate reasons,
merge ways and target comparators: pages, exports and both command lines take their words from
here (the indicators' own names live beside this module, in shared/indicators.py). Records store
the English codes; people see and type the Chinese names. `parse_choice` takes either (or the
code in any letter case, with spaces or dashes for underscores) and gives the code, so a command
line and a web form accept the same words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Final, NamedTuple

from shared.errors import TianjianError


class Words(NamedTuple):
    """A choice's name in Chinese and in English."""

    zh: str
    en: str


SESSION_KINDS: Final[Mapping[str, Words]] = {
    "village_training": Words("进村培训", "village training"),
    "large_training": Words("大型培训", "large training"),
    "tv_lecture": Words("电视讲座", "TV lecture"),
    "field_day": Words("现场观摩", "field day"),
    "science_week": Words("科技活动周", "science week"),
    "other": Words("其他活动", "other"),
}
GENDERS: Final[Mapping[str, Words]] = {
    "female": Words("女", "female"),
    "male": Words("男", "male"),
    "unspecified": Words("未说明", "not given"),
}
PLOT_STAGES: Final[Mapping[str, Words]] = {
    "sowing": Words("播种", "sowing"),
    "seedling": Words("出苗", "seedling"),
    "growing": Words("生长", "growing"),
    "flowering": Words("开花", "flowering"),
    "harvest": Words("收获", "harvest"),
    "other": Words("其他", "other"),
}
# What a photo shows (shared/schemas/field.py PHOTO_KINDS).
PHOTO_KINDS: Final[Mapping[str, Words]] = {
    "site": Words("现场照片", "site photo"),
    "signin_sheet": Words("签到表", "sign-in sheet"),
    "display_board": Words("展板", "display board"),
    "observation": Words("观察照片", "observation photo"),
}
# How a unit stands against a target (server/plan/progress.py judges; "no_basis" is a growth target
# with no last-year figure, never met).
TARGET_STATUSES: Final[Mapping[str, Words]] = {
    "met": Words("已达标", "met"),
    "on_track": Words("进度正常", "on track"),
    "behind": Words("落后", "behind"),
    "not_met": Words("未达标", "not met"),
    "no_basis": Words("无上年数据", "no last-year data"),
}
CHECKIN_METHODS: Final[Mapping[str, Words]] = {
    "qr_self": Words("扫码签到", "scanned the QR"),
    "card_scan": Words("刷卡签到", "card scanned"),
    "roster": Words("名单签到", "ticked on the roster"),
}
RECORD_KINDS: Final[Mapping[str, Words]] = {
    "session": Words("培训场次", "session"),
    "farmer": Words("农户", "farmer"),
    "attendance": Words("签到", "check-in"),
    "leaflet_handout": Words("资料发放", "leaflet hand-out"),
    "leaflet_receipt": Words("资料领取", "leaflet receipt"),
    "plot": Words("示范田", "demonstration plot"),
    "plot_observation": Words("田间观测", "plot observation"),
    "photo": Words("照片", "photo"),
    "target": Words("目标", "target"),
    "monthly_profile": Words("月度进度", "monthly profile"),
    "review": Words("审核", "review"),
}
# Why two farmer records may be one person, and how two were made one.
CANDIDATE_REASONS: Final[Mapping[str, Words]] = {
    "same_mobile_and_name": Words("手机号和姓名相同", "same mobile and name"),
    "same_mobile": Words("手机号相同", "same mobile"),
    "same_name_village_birth_year": Words(
        "姓名、村和出生年相同", "same name, village and birth year"
    ),
    "auto": Words("自动（手机号和姓名相同）", "automatic (same mobile and name)"),
    "staff": Words("工作人员合并", "merged by staff"),
}
# Who a user of the bureau's pages is.
ROLES: Final[Mapping[str, Words]] = {
    "admin": Words("管理员", "admin"),
    "staff": Words("工作人员", "staff"),
    "envoy": Words("特派员", "envoy"),
}
# What a bureau user sees (server/accounts/areas.py): their province, city or county; a user
# with none sees the whole server.
AREA_LEVELS: Final[Mapping[str, Words]] = {
    "province": Words("省级", "province"),
    "city": Words("市级", "city"),
    "county": Words("县级", "county"),
}
# How a target is judged met: "超过" (more than) is strict; "不少于" (at least) is not.
COMPARATORS: Final[Mapping[str, Words]] = {
    ">": Words("超过", "more than"),
    ">=": Words("不少于", "at least"),
}

# The Chinese names alone, as forms and command lines list them.
SESSION_KIND_LABELS: Final[Mapping[str, str]] = {k: w.zh for k, w in SESSION_KINDS.items()}
GENDER_LABELS: Final[Mapping[str, str]] = {k: w.zh for k, w in GENDERS.items()}
PLOT_STAGE_LABELS: Final[Mapping[str, str]] = {k: w.zh for k, w in PLOT_STAGES.items()}
CHECKIN_METHOD_LABELS: Final[Mapping[str, str]] = {k: w.zh for k, w in CHECKIN_METHODS.items()}
PHOTO_KIND_LABELS: Final[Mapping[str, str]] = {k: w.zh for k, w in PHOTO_KINDS.items()}

# Every labelled field by the name records give it.
BY_FIELD: Final[Mapping[str, Mapping[str, Words]]] = {
    "kind": SESSION_KINDS,
    "session_kind": SESSION_KINDS,
    "method": CHECKIN_METHODS,
    "gender": GENDERS,
    "stage": PLOT_STAGES,
    "photo_kind": PHOTO_KINDS,
    "record_kind": RECORD_KINDS,
    "reason": CANDIDATE_REASONS,
    "comparator": COMPARATORS,
}


def words(choices: Mapping[str, Words], code: str | None) -> Words:
    """Both names of a code; an unknown code is shown as it is in both languages."""
    if code is None:
        return Words("", "")
    return choices.get(code) or Words(code, code)


def add_labels(row: dict[str, object]) -> dict[str, object]:
    """Give each coded field of a record row its names beside it: kind -> kind_zh, kind_en."""
    for name, choices in BY_FIELD.items():
        value = row.get(name)
        if name in row and (value is None or isinstance(value, str)):
            row[f"{name}_zh"], row[f"{name}_en"] = words(choices, value)
    return row


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
    "现场": "site",
    "现场照": "site",
    "site_photo": "site",
    "sign_in_sheet": "signin_sheet",
    "签到单": "signin_sheet",
    "board": "display_board",
    "观察": "observation",
    "observation_photo": "observation",
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
