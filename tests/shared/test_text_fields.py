"""Names and free text: refused when they show nothing or hold NUL or control characters, in
every schema both sides share; times outside Python's calendar are refused, not a crash."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields

from shared.clock import parse_iso
from shared.ids import is_uuid
from shared.schemas.field import FIELD_SCHEMAS
from shared.schemas.reference import REFERENCE_SCHEMAS
from shared.schemas.sync import EnrolmentRequestSchema
from shared.schemas.types import (
    NAME_PATTERN,
    UUID_PATTERN,
    Day,
    DivisionCode,
    Id,
    Mobile,
    Name,
    Note,
    Timestamp,
    name_problem,
    note_problem,
)

SCHEMAS: list[type[Schema]] = [
    *FIELD_SCHEMAS.values(),
    *REFERENCE_SCHEMAS.values(),
    EnrolmentRequestSchema,
]
NAME_FIELDS = [
    (schema, name)
    for schema in SCHEMAS
    for name, field in schema().fields.items()
    if isinstance(field, Name) and not isinstance(field, Note)
]
NOTE_FIELDS = [
    (schema, name)
    for schema in SCHEMAS
    for name, field in schema().fields.items()
    if isinstance(field, Note)
]
BLANK = [
    " ",
    "   ",
    "\u3000",  # ideographic space
    "\u200b",  # zero-width space
    "\u200b\u200c\u200d\ufeff",  # zero-width space, non-joiner, joiner, byte-order mark
    "\u2060\u200e\u200f",  # word joiner, direction marks
    "\t\n\r",
    "\u3164",  # Hangul filler: a letter that draws nothing
    "\u0301",  # a combining accent with nothing to sit on
    " \u00a0 ",
]
WITH_NUL = ["\x00", "张\x00三", "Ann\x00"]
WITH_CONTROL = ["张\x07三", "\x1b[31m王\x1b[0m", "李\x7f", "赵\x85"]
GOOD = ["张三", "Ann Lee", "张　三", "王 ", "李四（村医）", "O'Brien", "马铃薯\n晚疫病防治"]


# Text no person types: clock stamps, an enrolment code (normalised before use), ids and
# reasons the server makes itself.
MACHINE_TEXT = {
    *(f"{schema.__name__}.hlc" for schema in FIELD_SCHEMAS.values()),
    "EnrolmentRequestSchema.code",
    "TargetSchema.id",
    "FarmerAliasSchema.merged_at",
    "FarmerAliasSchema.reason",
    # 16 hex digits of a hash (its pattern admits nothing else).
    "AttendanceSchema.phone",
    "AttendanceSchema.net",
    # 64 hex digits of the photo's SHA-256 (its pattern admits nothing else).
    "PhotoSchema.sha256",
}


def test_the_rule_covers_every_name_like_field() -> None:
    """A new free-text field must choose Name or Note (or be a code, id, time or choice), so
    no text can skip the rule by being added later."""
    unruled = [
        f"{schema.__name__}.{name}"
        for schema in SCHEMAS
        for name, field in schema().fields.items()
        if isinstance(field, fields.String)
        and not isinstance(field, (Name, Id, DivisionCode, Mobile))
        and not getattr(field.validate, "choices", None)
        and f"{schema.__name__}.{name}" not in MACHINE_TEXT
    ]
    assert unruled == []
    assert {f"{schema.__name__}.{name}" for schema, name in NAME_FIELDS} >= {
        "FarmerSchema.name",
        "SessionSchema.title",
        "PlotSchema.host_name",
        "EnvoySchema.name",
        "UnitSchema.name",
        "LeafletTitleSchema.title",
        "EnrolmentRequestSchema.device_name",
    }


@pytest.mark.parametrize(("schema", "name"), NAME_FIELDS, ids=lambda x: getattr(x, "__name__", x))
@pytest.mark.parametrize("bad", BLANK + WITH_NUL + WITH_CONTROL)
def test_every_name_field_refuses_blank_nul_and_control(
    schema: type[Schema], name: str, bad: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        schema().load({name: bad}, partial=True)
    (message,) = caught.value.messages[name]
    # Chinese, then English, each naming the field.
    chinese, english = message.split(" / ")
    assert chinese.startswith(f"{name}：") and english.startswith(f"{name}: ")


@pytest.mark.parametrize(("schema", "name"), NAME_FIELDS, ids=lambda x: getattr(x, "__name__", x))
@pytest.mark.parametrize("good", GOOD)
def test_every_name_field_keeps_real_names(schema: type[Schema], name: str, good: str) -> None:
    field = schema().fields[name]
    limit = max(
        (v.max for v in getattr(field, "validators", []) if getattr(v, "max", None)), default=99
    )
    value = good[:limit]
    assert schema().load({name: value}, partial=True)[name] == value


@pytest.mark.parametrize(("schema", "name"), NOTE_FIELDS)
def test_notes_may_be_blank_but_hold_no_nul_or_control(schema: type[Schema], name: str) -> None:
    assert schema().load({name: "  \n\t"}, partial=True)[name] == "  \n\t"
    for bad in WITH_NUL + WITH_CONTROL:
        with pytest.raises(ValidationError) as caught:
            schema().load({name: bad}, partial=True)
        assert name in caught.value.messages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张三", None),
        ("   ", "must show something, not only spaces, zero-width or control characters"),
        ("\u200b", "must show something, not only spaces, zero-width or control characters"),
        ("张\x00三", "must not contain NUL"),
        ("张\x07三", "must not contain control characters"),
    ],
)
def test_name_problem_says_why(text: str, expected: str | None) -> None:
    problem = name_problem(text)
    assert (problem[1] if problem else None) == expected
    assert note_problem("line\nbreak") is None


# ---------------------------------------------------------------- times at the calendar's edges

OUTSIDE = [
    "0001-01-01T00:00:00",  # China time: an hour before Python's first UTC moment
    "0001-01-01T07:59:59+08:00",
    "9999-12-31T23:59:59-14:00",  # after Python's last UTC moment
    "9999-12-31T23:59:59+14:00",  # in range in UTC, but far outside any year counted
    "0001-01-01T00:00:00Z",
]


@pytest.mark.parametrize("text", OUTSIDE[:3])
def test_parse_iso_refuses_times_python_cannot_hold_in_utc(text: str) -> None:
    with pytest.raises(ValueError, match="calendar"):
        parse_iso(text)


TIME_FIELDS = [
    (schema, name)
    for schema in SCHEMAS
    for name, field in schema().fields.items()
    if isinstance(field, (Timestamp, Day))
]


@pytest.mark.parametrize(("schema", "name"), TIME_FIELDS, ids=lambda x: getattr(x, "__name__", x))
@pytest.mark.parametrize("text", [*OUTSIDE, "0001-01-01", "9999-12-31"])
def test_every_time_field_refuses_the_calendars_edges(
    schema: type[Schema], name: str, text: str
) -> None:
    values: dict[str, Any] = {name: text}
    with pytest.raises(ValidationError) as caught:
        schema().load(values, partial=True)
    assert name in caught.value.messages


# ---------------------------------------------------- what the API's document says of them


@given(st.from_regex(NAME_PATTERN, fullmatch=True))
def test_every_name_the_document_allows_is_accepted(text: str) -> None:
    assert name_problem(text) is None, repr(text)


@pytest.mark.parametrize(
    "text", ["", " ", "\u200b", "张\x07三", "\x1b[2J", "a\x00", "\u3000", "a\x85b", "\x7f"]
)
def test_the_documented_name_pattern_refuses_what_the_server_refuses(text: str) -> None:
    assert re.search(NAME_PATTERN, text) is None


@given(st.uuids())
def test_every_documented_id_is_accepted(value: uuid.UUID) -> None:
    text = str(value)
    assert re.search(UUID_PATTERN, text) and re.search(UUID_PATTERN, text.upper())
    assert is_uuid(text) and is_uuid(text.upper())
