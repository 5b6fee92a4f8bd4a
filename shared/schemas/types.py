"""Field types shared by the schemas: times, codes, mobiles, ids."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import ValidationError, fields

from shared.clock import parse_iso, to_iso
from shared.errors import InvalidMobile
from shared.ids import is_uuid
from shared.mobile import normalise_mobile


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


class Id(fields.String):
    """A UUID in its canonical text form."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_uuid(text):
            raise ValidationError(f"不是有效的编号 / not a UUID: {text!r}")
        return text.lower()


class DivisionCode(fields.String):
    """A statistical division code (统计用区划代码), padded to 12 digits."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text.isdigit() or len(text) not in (2, 4, 6, 9, 12):
            raise ValidationError(f"区划代码应为数字（6/9/12位） / not a division code: {text!r}")
        return text.ljust(12, "0")


class Mobile(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_mobile(text)
        except InvalidMobile as exc:
            raise ValidationError(str(exc)) from exc
