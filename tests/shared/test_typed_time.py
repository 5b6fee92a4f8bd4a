"""Times and days typed as people type them, read in China time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.typed_time import InvalidTime, parse_day, parse_moment

# 2026-11-26 10:00 in China.
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-11-20 09:00", "2026-11-20T01:00:00Z"),
        ("2026-11-20T09:00:00", "2026-11-20T01:00:00Z"),
        ("2026/11/20 9:00", "2026-11-20T01:00:00Z"),
        ("2026.11.20 9:05", "2026-11-20T01:05:00Z"),
        ("11月20日 9:00", "2026-11-20T01:00:00Z"),
        ("11月20日9点", "2026-11-20T01:00:00Z"),
        ("11月20日 下午3点半", "2026-11-20T07:30:00Z"),
        ("2026年11月20日 上午9点15分", "2026-11-20T01:15:00Z"),
        ("２０２６－１１－２０ ０９：００", "2026-11-20T01:00:00Z"),
        ("11/20 9:00", "2026-11-20T01:00:00Z"),
        ("9:30", "2026-11-26T01:30:00Z"),
        ("今天 14:00", "2026-11-26T06:00:00Z"),
        ("昨天 14:00", "2026-11-25T06:00:00Z"),
        ("2026-11-20", "2026-11-19T16:00:00Z"),
        ("2026-05-29T01:00:00Z", "2026-05-29T01:00:00Z"),
        ("2026-05-29T09:00:00+08:00", "2026-05-29T01:00:00Z"),
        ("2026-05-29 03:00-0200", "2026-05-29T05:00:00Z"),
    ],
)
def test_typed_moments(typed: str, expected: str) -> None:
    assert parse_moment(typed, "starts_at", NOW) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "明年",
        "2026-13-01 09:00",
        "2026-02-30",
        "25:00",
        "9:61",
        "11月20日 9点 foo",
        "20266-11-20",
        "0001-01-01 00:00",
        "9999-12-31 23:59",
        "2026-11-20 09:00+15:00",
        "\x00",
    ],
)
def test_what_is_not_a_time_names_the_field(typed: str) -> None:
    with pytest.raises(InvalidTime) as caught:
        parse_moment(typed, "starts_at", NOW)
    assert "starts_at" in caught.value.errors
    assert "starts_at" in caught.value.message
    assert " / " in caught.value.message


def test_a_date_without_a_year_is_in_this_china_year() -> None:
    # 2026-12-31 20:00 UTC is already 2027 in China.
    new_year = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    assert parse_day("1月2日", "on", new_year) == "2027-01-02"
    assert parse_day("今天", "on", new_year) == "2027-01-01"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-11-20", "2026-11-20"),
        ("2026/11/20", "2026-11-20"),
        ("11月20日", "2026-11-20"),
        ("明天", "2026-11-27"),
    ],
)
def test_typed_days(typed: str, expected: str) -> None:
    assert parse_day(typed, "received_on", NOW) == expected


def test_a_day_refuses_a_time() -> None:
    with pytest.raises(InvalidTime) as caught:
        parse_day("2026-11-20 09:00", "received_on", NOW)
    assert "received_on" in caught.value.errors
