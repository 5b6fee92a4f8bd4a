"""Per-field merge of record states, the same on device and server so replicas converge.

A record state is a dict of field values plus `_stamps`, a map of field name to the hybrid
logical clock stamp of the edit that set it. Merging takes, field by field, the value with
the later stamp (stamps compare as text: time, counter, then device id). Attendances are an
add-wins set: the earliest check-in time is kept and the devices that saw it are united.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared import protocol as p
from shared.clock import stamp_iso

STAMPS = "_stamps"
EARLIEST_WINS = {p.ATTENDANCE: ("checked_in_at",)}
UNION = {p.ATTENDANCE: ("seen_by",)}


@dataclass
class Conflict:
    """The same field edited concurrently on two devices: the loser is kept for staff to read."""

    field: str
    winning_value: Any
    winning_stamp: str
    losing_value: Any
    losing_stamp: str


@dataclass
class MergeResult:
    state: dict[str, Any]
    changed: bool
    conflicts: list[Conflict] = field(default_factory=list)


def stamped_change(values: dict[str, Any], stamp: str) -> dict[str, Any]:
    """Turn an edit (fields set at one moment) into a partial state."""
    state = dict(values)
    state[STAMPS] = {name: stamp for name in values}
    return state


def merge(
    kind: str, current: dict[str, Any] | None, incoming: dict[str, Any], base: str | None = None
) -> MergeResult:
    """Merge an incoming partial state into the current one.

    `base` is the record version the incoming edit was based on; a field changed by someone
    else after it, to a different value, is a conflict whatever the outcome.
    """
    if current is None:
        state = {k: v for k, v in incoming.items() if k != STAMPS}
        state[STAMPS] = dict(incoming.get(STAMPS, {}))
        return MergeResult(state, True)
    state = dict(current)
    stamps = dict(current.get(STAMPS, {}))
    state[STAMPS] = stamps
    changed = False
    conflicts: list[Conflict] = []
    earliest = EARLIEST_WINS.get(kind, ())
    union = UNION.get(kind, ())
    for name, value in incoming.items():
        if name == STAMPS:
            continue
        stamp = incoming[STAMPS][name]
        mine = stamps.get(name)
        if name in union:
            merged = sorted(set(state.get(name) or []) | set(value or []))
            if merged != state.get(name):
                state[name], changed = merged, True
            if mine is None or stamp > mine:
                stamps[name] = stamp
            continue
        if name in earliest:
            if (
                name not in state
                or state[name] is None
                or (value is not None and value < state[name])
            ):
                state[name], stamps[name], changed = value, stamp, True
            elif value == state[name] and (mine is None or stamp < mine):
                # Same time from two devices: keep the earlier stamp too, so replicas converge.
                stamps[name], changed = stamp, True
            continue
        if mine is None:
            state[name], stamps[name], changed = value, stamp, True
            continue
        if stamp == mine:
            continue
        concurrent = base is None or mine > base
        if concurrent and state.get(name) != value and name != "deleted":
            if stamp > mine:
                conflicts.append(Conflict(name, value, stamp, state.get(name), mine))
            else:
                conflicts.append(Conflict(name, state.get(name), mine, value, stamp))
        if stamp > mine:
            state[name], stamps[name], changed = value, stamp, True
    return MergeResult(state, changed, conflicts)


def latest_stamp(state: dict[str, Any]) -> str:
    return max(state.get(STAMPS, {}).values(), default="")


def earliest_stamp(state: dict[str, Any]) -> str:
    return min(state.get(STAMPS, {}).values(), default="")


def with_derived_meta(state: dict[str, Any]) -> dict[str, Any]:
    """created_at, updated_at and hlc follow from the stamps, so every replica agrees on them."""
    first, last = earliest_stamp(state), latest_stamp(state)
    state["hlc"] = last
    state["created_at"] = stamp_iso(first)
    state["updated_at"] = state["created_at"] if first[:13] == last[:13] else stamp_iso(last)
    state.setdefault("deleted", False)
    return state
