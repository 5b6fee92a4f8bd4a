"""When farmers may check themselves in: the window both apps judge by, and typed names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.checkin_rules import Expired, NotYetOpen, check_open, same_name, window, window_between

STARTS = datetime(2026, 5, 10, 2, 0, tzinfo=UTC)  # 10:00 China time


def test_a_session_without_an_end_is_open_to_its_day_end_in_china_plus_the_margin() -> None:
    span = window_between(STARTS, None, 60)
    assert span.opens == STARTS - timedelta(hours=1)
    # 23:59:59 China time is 15:59:59 UTC, plus an hour.
    assert span.closes == datetime(2026, 5, 10, 16, 59, 59, tzinfo=UTC)
    stored = window({"starts_at": "2026-05-10T02:00:00Z", "ends_at": "2026-05-10T04:00:00Z"}, 30)
    assert stored.closes == datetime(2026, 5, 10, 4, 30, tzinfo=UTC)


def test_check_open_says_whether_too_early_or_too_late() -> None:
    span = window_between(STARTS, STARTS + timedelta(hours=2), 60)
    check_open(span, STARTS)
    check_open(span, span.opens)
    with pytest.raises(NotYetOpen):
        check_open(span, span.opens - timedelta(seconds=1))
    with pytest.raises(Expired):
        check_open(span, span.closes + timedelta(seconds=1))


def test_a_typed_name_matches_whatever_its_width_case_and_spaces() -> None:
    assert (
        same_name("李 四", "李四")
        and same_name("ＡＢＣ", "abc")
        and same_name("买买提·艾力", "买买提艾力")
    )
    assert not same_name("", "") and not same_name("李五", "李四")
