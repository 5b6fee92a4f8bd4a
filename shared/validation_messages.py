"""marshmallow's own English messages in Chinese and English ("Not a valid number." as
"不是有效的数字 / not a valid number"), for every page and command line that shows them."""

from __future__ import annotations

import re

# marshmallow's default messages (fields and validators), matched from their start.
_KNOWN: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"^Missing data for required field"), "必填", "required"),
    (re.compile(r"^Field may not be null"), "不能为空", "may not be empty"),
    (re.compile(r"^Not a valid integer"), "应为整数", "must be a whole number"),
    (re.compile(r"^Not a valid number"), "应为数字", "must be a number"),
    (re.compile(r"^Number too large"), "数字太大", "number too large"),
    (re.compile(r"^Special numeric values"), "不能是 NaN 或无穷大", "must be a finite number"),
    (re.compile(r"^Not a valid string"), "应为文字", "must be text"),
    (re.compile(r"^Not a valid boolean"), "应为是或否", "must be yes or no"),
    (re.compile(r"^Not a valid list"), "应为列表", "must be a list"),
    (re.compile(r"^Not a valid (date|datetime)"), "不是有效的日期", "not a valid date"),
    (re.compile(r"^Unknown field"), "未知字段", "unknown field"),
    (re.compile(r"^Must be one of"), "不在可选范围内", "not one of the choices"),
    (re.compile(r"^Invalid value"), "无效的值", "invalid value"),
    (
        re.compile(r"^Shorter than minimum length (\d+)"),
        "至少 {0} 个字符",
        "at least {0} characters",
    ),
    (re.compile(r"^Longer than maximum length (\d+)"), "最多 {0} 个字符", "at most {0} characters"),
    (
        re.compile(r"^Length must be between (\d+) and (\d+)"),
        "长度须在 {0} 到 {1} 之间",
        "length {0} to {1}",
    ),
    (
        re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+?)\.?$"),
        "应在 {0} 到 {1} 之间",
        "must be {0} to {1}",
    ),
    (
        re.compile(r"^Must be greater than (\S+) and less than or equal to (\S+?)\.?$"),
        "应大于 {0} 且不超过 {1}",
        "must be more than {0} and at most {1}",
    ),
    (
        re.compile(r"^Must be greater than or equal to (\S+?)\.?$"),
        "应不小于 {0}",
        "must be at least {0}",
    ),
    (re.compile(r"^Must be greater than (\S+?)\.?$"), "应大于 {0}", "must be more than {0}"),
    (
        re.compile(r"^Must be less than or equal to (\S+?)\.?$"),
        "应不大于 {0}",
        "must be at most {0}",
    ),
    (re.compile(r"^Must be less than (\S+?)\.?$"), "应小于 {0}", "must be less than {0}"),
]


def bilingual_validation_message(message: str) -> str:
    """One marshmallow message as "中文 / English"; a message already bilingual (it holds
    " / ") or one not known here is returned as it is."""
    if " / " in message:
        return message
    for pattern, chinese, english in _KNOWN:
        found = pattern.match(message)
        if found:
            return f"{chinese.format(*found.groups())} / {english.format(*found.groups())}"
    return message
