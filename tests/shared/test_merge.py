"""Per-field merge: last writer wins by stamp, tombstones, add-wins attendances, convergence."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared import protocol as p
from shared.clock import format_stamp
from shared.merge import (
    STAMPS,
    earliest_stamp,
    latest_stamp,
    merge,
    stamped_change,
)

DEV_A = "0a0a0a0a-0000-4000-8000-000000000001"
DEV_B = "0b0b0b0b-0000-4000-8000-000000000002"
T0 = 1_780_000_000_000


def stamp(ms_after: int, device: str = DEV_A, counter: int = 0) -> str:
    return format_stamp(T0 + ms_after, counter, device)


def farmer(
    name: str = "王芳", mobile: str = "13800138000", at: str | None = None
) -> dict[str, Any]:
    return stamped_change(
        {"name": name, "mobile": mobile, "village_code": "530102001001"}, at or stamp(0)
    )


# ------------------------------------------------------------------ basics


def test_stamped_change_stamps_every_field_with_one_stamp() -> None:
    change = stamped_change({"name": "a", "mobile": None}, stamp(5))
    assert change == {"name": "a", "mobile": None, STAMPS: {"name": stamp(5), "mobile": stamp(5)}}


def test_stamped_change_does_not_alias_the_values_given() -> None:
    values = {"name": "a"}
    change = stamped_change(values, stamp(1))
    change["name"] = "b"
    assert values == {"name": "a"}


def test_merge_into_nothing_takes_the_incoming_state() -> None:
    incoming = farmer()
    result = merge(p.FARMER, None, incoming)
    assert result.changed
    assert result.state == incoming
    assert result.conflicts == []
    result.state[STAMPS]["name"] = "tampered"
    assert incoming[STAMPS]["name"] == stamp(0)


def test_merge_does_not_modify_its_inputs() -> None:
    current = farmer()
    incoming = stamped_change({"name": "李梅"}, stamp(10, DEV_B))
    before_current, before_incoming = copy.deepcopy(current), copy.deepcopy(incoming)
    merge(p.FARMER, current, incoming)
    assert current == before_current
    assert incoming == before_incoming


def test_latest_and_earliest_stamp() -> None:
    state = {"a": 1, "b": 2, STAMPS: {"a": stamp(3), "b": stamp(9, DEV_B)}}
    assert latest_stamp(state) == stamp(9, DEV_B)
    assert earliest_stamp(state) == stamp(3)
    assert latest_stamp({}) == ""
    assert earliest_stamp({STAMPS: {}}) == ""


# ------------------------------------------------------------------ last writer wins per field


def test_edits_to_different_fields_both_survive() -> None:
    base = farmer()
    on_a = stamped_change({"name": "王芳芳"}, stamp(10, DEV_A))
    on_b = stamped_change({"mobile": "13900139000"}, stamp(20, DEV_B))
    state = merge(p.FARMER, base, on_a, base=stamp(0)).state
    result = merge(p.FARMER, state, on_b, base=stamp(0))
    assert result.state["name"] == "王芳芳"
    assert result.state["mobile"] == "13900139000"
    assert result.state[STAMPS]["name"] == stamp(10, DEV_A)
    assert result.state[STAMPS]["mobile"] == stamp(20, DEV_B)
    assert result.conflicts == []


def test_same_field_later_stamp_wins_whichever_arrives_first() -> None:
    base = farmer()
    early = stamped_change({"name": "早"}, stamp(10, DEV_B))
    late = stamped_change({"name": "晚"}, stamp(20, DEV_A))
    one = merge(p.FARMER, merge(p.FARMER, base, early).state, late).state
    two = merge(p.FARMER, merge(p.FARMER, base, late).state, early).state
    assert one["name"] == two["name"] == "晚"
    assert one[STAMPS]["name"] == two[STAMPS]["name"] == stamp(20, DEV_A)


def test_older_edit_arriving_late_changes_nothing() -> None:
    state = merge(p.FARMER, farmer(), stamped_change({"name": "新"}, stamp(50))).state
    result = merge(p.FARMER, state, stamped_change({"name": "旧"}, stamp(40, DEV_B)), base=stamp(0))
    assert result.state["name"] == "新"
    assert result.changed is False


def test_device_id_breaks_a_tie_of_time_and_counter() -> None:
    base = farmer()
    from_a = stamped_change({"name": "甲"}, stamp(10, DEV_A, counter=3))
    from_b = stamped_change({"name": "乙"}, stamp(10, DEV_B, counter=3))
    one = merge(p.FARMER, merge(p.FARMER, base, from_a).state, from_b).state
    two = merge(p.FARMER, merge(p.FARMER, base, from_b).state, from_a).state
    # DEV_B sorts after DEV_A as text, so B wins on both replicas.
    assert one["name"] == two["name"] == "乙"


def test_counter_orders_edits_in_the_same_millisecond() -> None:
    state = merge(p.FARMER, farmer(), stamped_change({"name": "一"}, stamp(10, DEV_B, 1))).state
    result = merge(p.FARMER, state, stamped_change({"name": "二"}, stamp(10, DEV_A, 2)))
    assert result.state["name"] == "二"


def test_concurrent_edit_of_one_field_records_a_conflict_with_the_losing_value() -> None:
    base = farmer(name="王芳")
    mine = merge(p.FARMER, base, stamped_change({"name": "王芳A"}, stamp(30, DEV_A))).state
    result = merge(
        p.FARMER, mine, stamped_change({"name": "王芳B"}, stamp(20, DEV_B)), base=stamp(0)
    )
    assert result.state["name"] == "王芳A"
    assert len(result.conflicts) == 1
    conflict = result.conflicts[0]
    assert conflict.field == "name"
    assert conflict.winning_value == "王芳A"
    assert conflict.winning_stamp == stamp(30, DEV_A)
    assert conflict.losing_value == "王芳B"
    assert conflict.losing_stamp == stamp(20, DEV_B)


def test_conflict_when_the_incoming_edit_wins() -> None:
    base = farmer(name="王芳")
    mine = merge(p.FARMER, base, stamped_change({"name": "王芳A"}, stamp(20, DEV_A))).state
    result = merge(
        p.FARMER, mine, stamped_change({"name": "王芳B"}, stamp(30, DEV_B)), base=stamp(0)
    )
    assert result.state["name"] == "王芳B"
    assert [(c.winning_value, c.losing_value) for c in result.conflicts] == [("王芳B", "王芳A")]
    assert result.conflicts[0].losing_stamp == stamp(20, DEV_A)


def test_edit_based_on_the_current_version_is_not_a_conflict() -> None:
    mine = merge(p.FARMER, farmer(), stamped_change({"name": "一"}, stamp(20, DEV_A))).state
    result = merge(p.FARMER, mine, stamped_change({"name": "二"}, stamp(30, DEV_B)), base=stamp(20))
    assert result.state["name"] == "二"
    assert result.conflicts == []


def test_concurrent_edits_to_the_same_value_are_not_a_conflict() -> None:
    mine = merge(p.FARMER, farmer(), stamped_change({"name": "同"}, stamp(20, DEV_A))).state
    result = merge(p.FARMER, mine, stamped_change({"name": "同"}, stamp(30, DEV_B)), base=stamp(0))
    assert result.conflicts == []
    assert result.state[STAMPS]["name"] == stamp(30, DEV_B)


def test_the_same_change_twice_is_a_no_op() -> None:
    change = stamped_change({"name": "二"}, stamp(30, DEV_B))
    once = merge(p.FARMER, farmer(), change).state
    again = merge(p.FARMER, once, change, base=stamp(0))
    assert again.changed is False
    assert again.conflicts == []
    assert again.state == once


# ------------------------------------------------------------------ tombstones


def test_tombstone_beats_an_older_edit_in_either_order() -> None:
    base = farmer()
    edit = stamped_change({"name": "改"}, stamp(10, DEV_B))
    tombstone = stamped_change({"deleted": True}, stamp(20, DEV_A))
    one = merge(p.FARMER, merge(p.FARMER, base, edit).state, tombstone, base=stamp(0)).state
    two = merge(p.FARMER, merge(p.FARMER, base, tombstone).state, edit, base=stamp(0)).state
    assert one["deleted"] is True
    assert two["deleted"] is True
    assert one == two


def test_a_tombstone_is_never_reported_as_a_conflict() -> None:
    alive = merge(p.FARMER, farmer(), stamped_change({"deleted": False}, stamp(15, DEV_B))).state
    result = merge(
        p.FARMER, alive, stamped_change({"deleted": True}, stamp(20, DEV_A)), base=stamp(0)
    )
    assert result.state["deleted"] is True
    assert result.conflicts == []


def test_older_undelete_does_not_resurrect_a_record() -> None:
    gone = merge(p.FARMER, farmer(), stamped_change({"deleted": True}, stamp(20, DEV_A))).state
    result = merge(p.FARMER, gone, stamped_change({"deleted": False}, stamp(10, DEV_B)))
    assert result.state["deleted"] is True
    assert result.changed is False


def checkin(at: str, device: str, when: str) -> dict[str, Any]:
    return stamped_change(
        {
            "session_id": "5e55e55e-0000-4000-8000-000000000001",
            "farmer_id": "fa12fa12-0000-4000-8000-000000000001",
            "checked_in_at": at,
            "method": "roster",
            "seen_by": [device],
        },
        when,
    )


def test_later_re_check_in_overrides_the_tombstone() -> None:
    state = merge(p.ATTENDANCE, None, checkin("2026-05-28T01:00:00Z", DEV_A, stamp(0))).state
    state = merge(p.ATTENDANCE, state, stamped_change({"deleted": True}, stamp(10))).state
    assert state["deleted"] is True
    again = checkin("2026-05-28T02:00:00Z", DEV_A, stamp(20))
    again["deleted"] = False
    again[STAMPS]["deleted"] = stamp(20)
    result = merge(p.ATTENDANCE, state, again, base=stamp(10))
    assert result.state["deleted"] is False
    assert result.changed
    assert result.state["checked_in_at"] == "2026-05-28T01:00:00Z"


def test_re_check_in_older_than_the_tombstone_stays_deleted() -> None:
    state = merge(p.ATTENDANCE, None, checkin("2026-05-28T01:00:00Z", DEV_A, stamp(0))).state
    state = merge(p.ATTENDANCE, state, stamped_change({"deleted": True}, stamp(30, DEV_B))).state
    stale = checkin("2026-05-28T02:00:00Z", DEV_A, stamp(20))
    stale.update({"deleted": False})
    stale[STAMPS]["deleted"] = stamp(20)
    assert merge(p.ATTENDANCE, state, stale).state["deleted"] is True


# ------------------------------------------------------------------ attendances are add-wins


def test_attendance_keeps_the_earliest_check_in_time_whichever_order() -> None:
    on_a = checkin("2026-05-28T01:05:00Z", DEV_A, stamp(100, DEV_A))
    on_b = checkin("2026-05-28T01:00:00Z", DEV_B, stamp(200, DEV_B))
    one = merge(p.ATTENDANCE, merge(p.ATTENDANCE, None, on_a).state, on_b).state
    two = merge(p.ATTENDANCE, merge(p.ATTENDANCE, None, on_b).state, on_a).state
    assert one["checked_in_at"] == two["checked_in_at"] == "2026-05-28T01:00:00Z"


def test_earliest_check_in_wins_even_with_an_older_stamp() -> None:
    state = merge(p.ATTENDANCE, None, checkin("2026-05-28T01:00:00Z", DEV_A, stamp(10))).state
    later_time_newer_stamp = checkin("2026-05-28T03:00:00Z", DEV_B, stamp(99, DEV_B))
    result = merge(p.ATTENDANCE, state, later_time_newer_stamp)
    assert result.state["checked_in_at"] == "2026-05-28T01:00:00Z"
    assert result.state[STAMPS]["checked_in_at"] == stamp(10)


def test_same_check_in_time_from_two_devices_keeps_the_earlier_stamp_in_either_order() -> None:
    on_a = checkin("2026-05-28T01:00:00Z", DEV_A, stamp(10, DEV_A))
    on_b = checkin("2026-05-28T01:00:00Z", DEV_B, stamp(10, DEV_B))
    one = merge(p.ATTENDANCE, merge(p.ATTENDANCE, None, on_a).state, on_b).state
    two = merge(p.ATTENDANCE, merge(p.ATTENDANCE, None, on_b).state, on_a).state
    assert one[STAMPS]["checked_in_at"] == two[STAMPS]["checked_in_at"] == stamp(10, DEV_A)
    assert earliest_stamp(one) == earliest_stamp(two)
    assert one == two


def test_attendance_seen_by_is_the_union_of_devices() -> None:
    on_a = checkin("2026-05-28T01:05:00Z", DEV_A, stamp(100, DEV_A))
    on_b = checkin("2026-05-28T01:00:00Z", DEV_B, stamp(50, DEV_B))
    result = merge(p.ATTENDANCE, merge(p.ATTENDANCE, None, on_a).state, on_b)
    assert result.changed
    assert sorted(result.state["seen_by"]) == sorted([DEV_A, DEV_B])
    assert result.state[STAMPS]["seen_by"] == stamp(100, DEV_A)
    assert result.conflicts == []


def test_attendance_union_never_drops_a_device() -> None:
    state = merge(p.ATTENDANCE, None, checkin("2026-05-28T01:00:00Z", DEV_A, stamp(0))).state
    state = merge(
        p.ATTENDANCE, state, checkin("2026-05-28T01:00:00Z", DEV_B, stamp(5, DEV_B))
    ).state
    emptied = stamped_change({"seen_by": []}, stamp(900, DEV_B))
    result = merge(p.ATTENDANCE, state, emptied)
    assert set(result.state["seen_by"]) == {DEV_A, DEV_B}


def test_attendance_check_in_time_is_not_a_conflict() -> None:
    state = merge(p.ATTENDANCE, None, checkin("2026-05-28T01:05:00Z", DEV_A, stamp(10))).state
    result = merge(
        p.ATTENDANCE, state, checkin("2026-05-28T01:00:00Z", DEV_B, stamp(5, DEV_B)), base=""
    )
    assert [c.field for c in result.conflicts if c.field in ("checked_in_at", "seen_by")] == []


def test_earliest_and_union_rules_apply_only_to_attendances() -> None:
    state = {"checked_in_at": "2026-05-28T03:00:00Z", STAMPS: {"checked_in_at": stamp(1)}}
    incoming = stamped_change({"checked_in_at": "2026-05-28T09:00:00Z"}, stamp(2))
    assert merge(p.SESSION, state, incoming).state["checked_in_at"] == "2026-05-28T09:00:00Z"


# ------------------------------------------------------------------ convergence (property-based)

DEVICES = st.sampled_from([DEV_A, DEV_B, "0c0c0c0c-0000-4000-8000-000000000003"])
STAMPS_ST = st.builds(
    format_stamp,
    st.integers(T0, T0 + 5),
    st.integers(0, 3),
    DEVICES,
)


@st.composite
def farmer_changes(draw: st.DrawFn) -> dict[str, Any]:
    values = draw(
        st.dictionaries(
            st.sampled_from(["name", "mobile", "village_code", "deleted"]),
            st.sampled_from(["x", "y", "z", None, True, False]),
            min_size=1,
        )
    )
    return {**values, STAMPS: {name: draw(STAMPS_ST) for name in values}}


@st.composite
def attendance_changes(draw: st.DrawFn) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if draw(st.booleans()):
        values["checked_in_at"] = draw(
            st.sampled_from(
                ["2026-05-28T01:00:00Z", "2026-05-28T01:05:00Z", "2026-05-28T02:00:00Z"]
            )
        )
    if draw(st.booleans()):
        values["seen_by"] = sorted(set(draw(st.lists(DEVICES, max_size=3))))
    if draw(st.booleans()) or not values:
        values["deleted"] = draw(st.booleans())
    return {**values, STAMPS: {name: draw(STAMPS_ST) for name in values}}


def fold(kind: str, changes: list[dict[str, Any]]) -> dict[str, Any] | None:
    state = None
    for change in changes:
        state = merge(kind, state, change).state
    return state


def distinct_stamps(changes: list[dict[str, Any]]) -> bool:
    """Real stamps are unique per (field, edit); equal stamps with different values never occur."""
    seen: dict[tuple[str, str], Any] = {}
    for change in changes:
        for name, value in change.items():
            if name == STAMPS:
                continue
            key = (name, change[STAMPS][name])
            if key in seen and seen[key] != value:
                return False
            seen[key] = value
    return True


@settings(max_examples=300, deadline=None)
@given(st.lists(farmer_changes(), min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_farmer_merge_converges_in_any_order(changes: list[dict[str, Any]], rnd: Any) -> None:
    if not distinct_stamps(changes):
        return
    shuffled = list(changes)
    rnd.shuffle(shuffled)
    assert fold(p.FARMER, changes) == fold(p.FARMER, shuffled)


@settings(max_examples=300, deadline=None)
@given(st.lists(attendance_changes(), min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_attendance_merge_converges_in_any_order(changes: list[dict[str, Any]], rnd: Any) -> None:
    if not distinct_stamps(changes):
        return
    shuffled = list(changes)
    rnd.shuffle(shuffled)
    assert fold(p.ATTENDANCE, changes) == fold(p.ATTENDANCE, shuffled)


@settings(max_examples=200, deadline=None)
@given(farmer_changes(), farmer_changes())
def test_merge_is_commutative_for_two_states(a: dict[str, Any], b: dict[str, Any]) -> None:
    if not distinct_stamps([a, b]):
        return
    assert merge(p.FARMER, a, b).state == merge(p.FARMER, b, a).state


@settings(max_examples=200, deadline=None)
@given(st.lists(attendance_changes(), min_size=1, max_size=4), attendance_changes())
def test_merge_is_idempotent(changes: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    if not distinct_stamps([*changes, extra]):
        return
    state = fold(p.ATTENDANCE, changes)
    once = merge(p.ATTENDANCE, state, extra).state
    twice = merge(p.ATTENDANCE, once, extra)
    assert twice.state == once
    assert twice.changed is False
    assert merge(p.ATTENDANCE, once, once).changed is False
