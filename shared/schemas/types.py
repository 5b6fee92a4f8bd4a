"""Field types shared by the schemas: times, codes, mobiles, ids."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from marshmallow import ValidationError, fields

from shared.clock import parse_iso, to_iso
from shared.errors import InvalidMobile
from shared.ids import is_uuid
from shared.mobile import normalise_mobile
from shared.typed_digits import number_text


class Timestamp(fields.Field[str]):
    """A moment, stored and sent as UTC ISO text; a time typed without a zone is China time."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError("时间必须是 ISO 8601 文字 / must be ISO 8601 text")
        try:
            moment = parse_iso(value)
        except ValueError as exc:
            raise ValidationError(f"无法识别的时间 / not a time: {value!r}") from exc
        if not 1990 <= moment.year <= 2200:
            raise ValidationError(f"时间超出范围 / time out of range: {value!r}")
        return to_iso(moment)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class Day(fields.Field[str]):
    """A calendar day in China time, as YYYY-MM-DD text."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        try:
            day = date.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"日期应为 YYYY-MM-DD / not a date: {value!r}") from exc
        if not 1990 <= day.year <= 2200:
            raise ValidationError(f"日期超出范围 / date out of range: {value!r}")
        return day.isoformat()

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


# What the API's document says an id looks like: the canonical text form the server writes.
# The server reads a little more (uuid.UUID's other spellings); the document is never looser.
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class Id(fields.String):
    """A UUID in its canonical text form (documented with format and pattern)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"format": "uuid", "pattern": UUID_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_uuid(text):
            raise ValidationError(f"不是有效的编号 / not a UUID: {text!r}")
        return text.lower()


class DivisionCode(fields.String):
    """A statistical division code (统计用区划代码), padded to 12 digits."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = number_text(super()._deserialize(value, attr, data, **kwargs))
        if not text.isdigit() or len(text) not in (2, 4, 6, 9, 12):
            raise ValidationError(f"区划代码应为数字（6/9/12位） / not a division code: {text!r}")
        return text.ljust(12, "0")


class Whole(fields.Integer):
    """A whole number a person types (a year, a count): full-width or other digits read."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str):
            value = number_text(value)
        return super()._deserialize(value, attr, data, **kwargs)


class Number(fields.Float):
    """A number a person types (an area, a yield): １２．５ reads as 12.5."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, str):
            value = number_text(value)
        return super()._deserialize(value, attr, data, **kwargs)


class Mobile(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_mobile(text)
        except InvalidMobile as exc:
            raise ValidationError(str(exc)) from exc


# Letters that draw nothing (Hangul fillers, the blank Braille pattern): a "name" of them alone
# looks empty on every screen.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Categories that draw nothing on their own: separators (spaces), controls, format characters
# (zero-width space and joiners, direction marks), unassigned, private use, and marks, which
# only decorate the character before them.
_INVISIBLE_CATEGORIES = frozenset(("Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me"))
# Line breaks and tabs are fine in typed text; no other control character is.
_NOTE_WHITESPACE = frozenset("\t\n\r")


def name_problem(text: str) -> tuple[str, str] | None:
    """Why a name or title cannot be used, in Chinese and English; None if it can.

    Refused: what note_problem refuses, and a name made only of spaces, zero-width or other
    characters that show nothing (it would list as a blank line nobody can pick).
    """
    problem = note_problem(text)
    if problem is None and not any(
        ch not in _BLANK_LETTERS and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
        for ch in text
    ):
        problem = (
            "不能只有空格、零宽或控制字符",
            "must show something, not only spaces, zero-width or control characters",
        )
    return problem


def note_problem(text: str) -> tuple[str, str] | None:
    """Why typed text cannot be stored: NUL, or a control character other than a line break
    or tab (escape sequences would rewrite a terminal listing it). None if it can."""
    if "\x00" in text:
        return "不能含有空字符 (NUL)", "must not contain NUL"
    if not text.isprintable() and any(
        unicodedata.category(ch) == "Cc" and ch not in _NOTE_WHITESPACE for ch in text
    ):
        return "不能含有控制字符", "must not contain control characters"
    return None


# A name as the API's document describes it: no control character, and
# at least one letter or digit that shows. Stricter than name_problem (which also takes, say, a
# name of punctuation alone), never looser: tests/shared/test_text_fields.py checks it.
_NO_CONTROL = r"[^\x00-\x1f\x7f-\x9f]"
NAME_PATTERN = rf"^{_NO_CONTROL}*[0-9A-Za-z\u3400-\u4db5\u4e00-\u9fa5]{_NO_CONTROL}*$"


class Name(fields.String):
    """A name or title people type and pick from lists: one line that shows something."""

    check = staticmethod(name_problem)
    # What the API's document says of it (None: only its length).
    doc_pattern: str | None = NAME_PATTERN

    def __init__(self, **kwargs: Any) -> None:
        if self.doc_pattern is not None:
            kwargs["metadata"] = {"pattern": self.doc_pattern, **kwargs.pop("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        # Empty text is left to the field's Length: optional text may be empty.
        problem = self.check(text) if text else None
        if problem is not None:
            field = self.data_key or self.name
            raise ValidationError(f"{field}：{problem[0]} / {field}: {problem[1]}")
        return text


class Note(Name):
    """Free text such as a plot visit's notes: may be blank, but holds no control characters."""

    check = staticmethod(note_problem)
    doc_pattern = None
