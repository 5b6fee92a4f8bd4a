"""Clock helpers: UTC text, China-time periods, and the hybrid logical clock's stamps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.clock import (
    CHINA,
    HybridLogicalClock,
    format_stamp,
    local_date,
    parse_iso,
    parse_stamp,
    stamp_iso,
    stamp_node,
    to_iso,
    year_bounds,
    year_fraction_elapsed,
)

NODE_A = "0a0a0a0a-0000-4000-8000-000000000001"
NODE_B = "0b0b0b0b-0000-4000-8000-000000000002"
MAY_2026_MS = 1_780_000_000_000  # 2026-05-28T20:26:40Z


class FakeWall:
    """A wall clock a test can set, move back, or reset to 1970."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


# ------------------------------------------------------------------ UTC text


def test_to_iso_is_utc_second_precision_with_z() -> None:
    moment = datetime(2026, 3, 1, 8, 15, 30, 999_999, tzinfo=CHINA)
    assert to_iso(moment) == "2026-03-01T00:15:30Z"


def test_to_iso_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_iso(datetime(2026, 3, 1, 8, 0))


def test_parse_iso_of_zone_less_text_is_china_time() -> None:
    parsed = parse_iso("2026-03-01T08:00:00")
    assert parsed == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)


def test_parse_iso_of_zone_less_date_and_time_just_after_midnight_is_previous_utc_day() -> None:
    assert to_iso(parse_iso("2026-01-01T00:30:00")) == "2025-12-31T16:30:00Z"


@pytest.mark.parametrize(
    "text",
    ["2026-03-01T00:00:00Z", "2026-03-01T00:00:00+00:00", "2026-03-01T08:00:00+08:00"],
)
def test_parse_iso_respects_an_explicit_zone(text: str) -> None:
    assert parse_iso(text) == datetime(2026, 3, 1, tzinfo=UTC)


def test_parse_iso_round_trips_with_to_iso() -> None:
    text = "2026-07-15T03:04:05Z"
    assert to_iso(parse_iso(text)) == text


def test_parse_iso_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        parse_iso("yesterday afternoon")


def test_iso_text_sorts_in_time_order() -> None:
    moments = [
        datetime(2026, 1, 1, 0, 30, tzinfo=CHINA),
        datetime(2025, 12, 31, 23, 0, tzinfo=UTC),
        datetime(2025, 12, 31, 15, 0, tzinfo=UTC),
    ]
    texts = [to_iso(m) for m in moments]
    assert sorted(texts) == [to_iso(m) for m in sorted(moments)]


# ------------------------------------------------------------------ China-time periods


def test_local_date_uses_china_time() -> None:
    late_utc = datetime(2025, 12, 31, 16, 30, tzinfo=UTC)
    assert local_date(late_utc) == date(2026, 1, 1)
    assert local_date(datetime(2025, 12, 31, 15, 59, tzinfo=UTC)) == date(2025, 12, 31)


def test_year_bounds_are_china_midnights_in_utc() -> None:
    assert year_bounds(2026) == ("2025-12-31T16:00:00Z", "2026-12-31T16:00:00Z")


def test_half_past_midnight_on_new_year_china_time_belongs_to_the_new_year() -> None:
    checked_in = to_iso(parse_iso("2026-01-01T00:30:00+08:00"))
    start_2026, end_2026 = year_bounds(2026)
    start_2025, end_2025 = year_bounds(2025)
    assert start_2026 <= checked_in < end_2026
    assert not (start_2025 <= checked_in < end_2025)


def test_half_past_eleven_on_new_years_eve_china_time_belongs_to_the_old_year() -> None:
    checked_in = to_iso(parse_iso("2025-12-31T23:30:00"))
    start_2025, end_2025 = year_bounds(2025)
    assert start_2025 <= checked_in < end_2025
    assert checked_in < year_bounds(2026)[0]


def test_consecutive_years_meet_without_gap_or_overlap() -> None:
    assert year_bounds(2025)[1] == year_bounds(2026)[0]


def test_year_fraction_elapsed_in_china_time() -> None:
    assert year_fraction_elapsed(2026, datetime(2025, 12, 31, 15, 59, tzinfo=UTC)) == 0.0
    assert year_fraction_elapsed(2026, datetime(2025, 12, 31, 16, 0, tzinfo=UTC)) == 0.0
    assert year_fraction_elapsed(2026, datetime(2026, 12, 31, 16, 0, tzinfo=UTC)) == 1.0
    halfway = datetime(2026, 7, 2, 12, 0, tzinfo=CHINA)
    assert year_fraction_elapsed(2026, halfway) == pytest.approx(0.5, abs=0.002)


# ------------------------------------------------------------------ stamps


def test_stamp_format_is_fixed_width_time_counter_node() -> None:
    stamp = format_stamp(MAY_2026_MS, 7, NODE_A)
    assert stamp == f"1780000000000.00007.{NODE_A}"
    assert parse_stamp(stamp) == (MAY_2026_MS, 7)
    assert stamp_node(stamp) == NODE_A


def test_stamp_of_1970_is_zero_padded() -> None:
    assert format_stamp(5, 0, NODE_A).startswith("0000000000005.00000.")


def test_stamp_node_may_contain_dots() -> None:
    stamp = format_stamp(1, 2, "host.example.cn")
    assert stamp_node(stamp) == "host.example.cn"
    assert parse_stamp(stamp) == (1, 2)


def test_stamp_iso_is_the_wall_time_of_the_stamp() -> None:
    assert stamp_iso(format_stamp(MAY_2026_MS, 3, NODE_A)) == "2026-05-28T20:26:40Z"


def test_stamps_compare_as_text_by_time_then_counter_then_node() -> None:
    ordered = [
        format_stamp(999, 99, NODE_B),  # fewer digits of time still sorts first
        format_stamp(1000, 0, NODE_B),
        format_stamp(1000, 1, NODE_A),
        format_stamp(1000, 1, NODE_B),  # same time and counter: node breaks the tie
        format_stamp(1000, 10, NODE_A),  # counter 10 after counter 1 (not text "10" < "2")
        format_stamp(MAY_2026_MS, 0, NODE_A),
    ]
    assert sorted(reversed(ordered)) == ordered
    assert sorted(ordered, key=lambda s: (*parse_stamp(s), stamp_node(s))) == ordered


def test_node_tie_break_is_deterministic_whichever_side_compares() -> None:
    a = format_stamp(MAY_2026_MS, 4, NODE_A)
    b = format_stamp(MAY_2026_MS, 4, NODE_B)
    assert a < b
    assert max(a, b) == max(b, a) == b


# ------------------------------------------------------------------ hybrid logical clock


def test_hlc_stamps_strictly_increase_with_a_frozen_wall() -> None:
    clock = HybridLogicalClock(NODE_A, wall=FakeWall(MAY_2026_MS))
    stamps = [clock.now() for _ in range(50)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 50
    assert parse_stamp(stamps[-1]) == (MAY_2026_MS, 49)


def test_hlc_follows_the_wall_and_resets_the_counter_when_time_moves_on() -> None:
    wall = FakeWall(MAY_2026_MS)
    clock = HybridLogicalClock(NODE_A, wall=wall)
    clock.now()
    clock.now()
    wall.ms += 1000
    assert parse_stamp(clock.now()) == (MAY_2026_MS + 1000, 0)


def test_hlc_never_runs_backwards_when_the_wall_clock_goes_back() -> None:
    wall = FakeWall(MAY_2026_MS)
    clock = HybridLogicalClock(NODE_A, wall=wall)
    before = clock.now()
    wall.ms -= 3 * 24 * 3600 * 1000  # set back three days
    after = clock.now()
    assert after > before
    assert parse_stamp(after) == (MAY_2026_MS, 1)


def test_hlc_never_runs_backwards_when_the_wall_clock_resets_to_1970() -> None:
    wall = FakeWall(MAY_2026_MS)
    clock = HybridLogicalClock(NODE_A, wall=wall)
    before = clock.now()
    wall.ms = 0
    later = [clock.now() for _ in range(3)]
    assert all(stamp > before for stamp in later)
    assert later == sorted(later)
    assert stamp_iso(later[-1]) == "2026-05-28T20:26:40Z"


def test_hlc_resumes_from_a_saved_stamp_even_if_the_wall_is_behind_it() -> None:
    saved = format_stamp(MAY_2026_MS, 12, NODE_A)
    clock = HybridLogicalClock(NODE_A, last=saved, wall=FakeWall(0))
    assert clock.last == saved
    nxt = clock.now()
    assert nxt > saved
    assert parse_stamp(nxt) == (MAY_2026_MS, 13)


def test_hlc_last_is_the_latest_stamp_issued() -> None:
    clock = HybridLogicalClock(NODE_A, wall=FakeWall(MAY_2026_MS))
    stamp = clock.now()
    assert clock.last == stamp


def test_fresh_hlc_with_a_1970_wall_still_issues_increasing_stamps() -> None:
    clock = HybridLogicalClock(NODE_A, wall=FakeWall(0))
    start = clock.last
    assert start == format_stamp(0, 0, NODE_A)
    first, second = clock.now(), clock.now()
    assert start < first < second


def test_observe_moves_past_a_stamp_from_a_device_whose_clock_is_ahead() -> None:
    clock = HybridLogicalClock(NODE_A, wall=FakeWall(MAY_2026_MS))
    clock.now()
    remote = format_stamp(MAY_2026_MS + 60_000, 5, NODE_B)
    clock.observe(remote)
    nxt = clock.now()
    assert nxt > remote
    assert parse_stamp(nxt) == (MAY_2026_MS + 60_000, 6)
    assert stamp_node(nxt) == NODE_A


def test_observe_ignores_an_older_stamp() -> None:
    clock = HybridLogicalClock(NODE_A, wall=FakeWall(MAY_2026_MS))
    mine = clock.now()
    clock.observe(format_stamp(MAY_2026_MS - 10_000, 99, NODE_B))
    assert clock.last == mine
    assert parse_stamp(clock.now()) == (MAY_2026_MS, 1)


def test_observe_a_stamp_equal_in_time_and_counter_still_orders_after_it() -> None:
    clock = HybridLogicalClock(NODE_A, wall=FakeWall(MAY_2026_MS))
    clock.now()
    remote = format_stamp(MAY_2026_MS, 0, NODE_B)  # NODE_B sorts after NODE_A
    clock.observe(remote)
    assert clock.now() > remote


def test_observe_rescues_a_1970_device_so_its_edits_order_after_the_server() -> None:
    clock = HybridLogicalClock(NODE_A, wall=FakeWall(0))
    server = format_stamp(MAY_2026_MS, 0, "server")
    clock.observe(server)
    edits = [clock.now() for _ in range(3)]
    assert all(edit > server for edit in edits)
    assert stamp_iso(edits[0]) == "2026-05-28T20:26:40Z"


def test_observe_keeps_our_node_in_later_stamps() -> None:
    clock = HybridLogicalClock(NODE_A, wall=FakeWall(1))
    clock.observe(format_stamp(MAY_2026_MS, 0, NODE_B))
    assert stamp_node(clock.last) == NODE_A


def test_two_devices_exchanging_stamps_keep_a_causal_order() -> None:
    ahead = HybridLogicalClock(NODE_A, wall=FakeWall(MAY_2026_MS + 3_600_000))
    behind = HybridLogicalClock(NODE_B, wall=FakeWall(MAY_2026_MS))
    first = ahead.now()
    behind.observe(first)
    reply = behind.now()
    ahead.observe(reply)
    third = ahead.now()
    assert first < reply < third


def test_counter_never_outgrows_its_five_digits() -> None:
    """A stuck wall clock for 100,000 edits borrows milliseconds instead of widening the stamp."""
    from shared.clock import HybridLogicalClock

    clock = HybridLogicalClock("dev", wall=lambda: 1_000)
    stamps = [clock.now() for _ in range(100_002)]
    assert all(len(stamp) == len(stamps[0]) for stamp in stamps)
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
