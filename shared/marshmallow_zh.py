"""Chinese for marshmallow's own English messages ("Not a valid number." and the rest).

Schemas name their own errors in both languages where they write them; the messages marshmallow
writes itself (types, Range, Length, OneOf ...) arrive in English. `bilingual` turns each into
"中文 / English" wherever errors leave a schema: pages show the Chinese half (or the English
one when English is chosen), the API and the command lines carry both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

# Whole messages marshmallow writes, as it writes them.
_FIXED: Final = {
    "Missing data for required field.": "必填",
    "Field may not be null.": "不能为空",
    "Invalid value.": "值无效",
    "Not a valid number.": "不是有效的数字",
    "Number too large.": "数字太大",
    "Not a valid integer.": "不是有效的整数",
    "Special numeric values (nan or infinity) are not permitted.": "不能是 nan 或无穷大",
    "Not a valid string.": "不是有效的文字",
    "Not a valid utf-8 string.": "不是有效的 UTF-8 文字",
    "Not a valid boolean.": "不是有效的是/否",
    "Not a valid date.": "不是有效的日期",
    "Not a valid datetime.": "不是有效的日期时间",
    "Not a valid time.": "不是有效的时间",
    "Not a valid UUID.": "不是有效的编号（UUID）",
    "Not a valid email address.": "不是有效的电子邮箱",
    "Not a valid URL.": "不是有效的网址",
    "Not a valid list.": "应为列表",
    "Not a valid mapping type.": "应为键值表",
    "Not a valid tuple.": "应为元组",
    "Invalid type.": "类型无效",
    "Invalid input type.": "输入类型无效",
    "Unknown field.": "未知字段",
    "String does not match expected pattern.": "格式不对",
    "Invalid input.": "输入无效",
}
_OPS: Final = {
    "greater than or equal to": "不小于",
    "greater than": "大于",
    "less than or equal to": "不大于",
    "less than": "小于",
}
_OP = "(greater than or equal to|greater than|less than or equal to|less than)"


def _range(match: re.Match[str]) -> str:
    first = f"{_OPS[match['op1']]} {match['a']}"
    if match["op2"] is None:
        return f"须{first}"
    return f"须{first} 且{_OPS[match['op2']]} {match['b']}"


_PATTERNS: Final[tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]] = (
    (
        re.compile(
            rf"Must be {_OP.replace('(', '(?P<op1>', 1)} (?P<a>.+?)"
            rf"(?: and {_OP.replace('(', '(?P<op2>', 1)} (?P<b>.+?))?\.$"
        ),
        _range,
    ),
    (
        re.compile(r"Length must be between (?P<a>\S+) and (?P<b>\S+)\.$"),
        lambda m: f"长度须在 {m['a']} 到 {m['b']} 之间",
    ),
    (re.compile(r"Length must be (?P<a>\S+)\.$"), lambda m: f"长度须为 {m['a']}"),
    (re.compile(r"Longer than maximum length (?P<a>\S+)\.$"), lambda m: f"超过最大长度 {m['a']}"),
    (re.compile(r"Shorter than minimum length (?P<a>\S+)\.$"), lambda m: f"短于最小长度 {m['a']}"),
    (re.compile(r"Must be one of: (?P<a>.*)\.$"), lambda m: f"须为以下之一：{m['a']}"),
    (re.compile(r"Must be equal to (?P<a>.*)\.$"), lambda m: f"须等于 {m['a']}"),
    (
        re.compile(r'"(?P<a>.*)" cannot be formatted as a date\.$'),
        lambda m: f"“{m['a']}”无法作为日期",
    ),
)


def zh(message: str) -> str | None:
    """The Chinese of one of marshmallow's English messages; None for any other text."""
    if message in _FIXED:
        return _FIXED[message]
    for pattern, say in _PATTERNS:
        match = pattern.match(message)
        if match:
            return say(match)
    return None


def bilingual(messages: Any) -> Any:
    """The same messages (a string, a list, or a dict by field, nested), each of marshmallow's
    English ones as "中文 / English"; a message already written in Chinese is left as it is."""
    if isinstance(messages, dict):
        return {key: bilingual(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [bilingual(value) for value in messages]
    if isinstance(messages, str):
        chinese = zh(messages)
        return messages if chinese is None else f"{chinese} / {messages}"
    return messages


def one_line(messages: Any) -> str:
    """Errors by field as one readable line: `year：不是有效的整数 / Not a valid integer.`"""
    if isinstance(messages, dict):
        parts = []
        for key, value in messages.items():
            inner = one_line(value)
            parts.append(inner if key in ("_schema", "_") else f"{key}：{inner}")
        return "；".join(parts)
    if isinstance(messages, list | tuple):
        return "；".join(one_line(value) for value in messages)
    return str(bilingual(messages))
