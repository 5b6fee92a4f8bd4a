"""What one push touches, read and kept so the database is read and written in bulk."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from server import settings
from server.store.records import (
    compact_stamps,
    existing_ids,
    existing_ids_with,
    fetch_states,
    row_to_state,
    row_values,
    table_of,
    write_plan,
)
from server.store.sql_text import in_chunks
from server.sync.device import Device
from server.sync.refusals import Refusal
from shared import protocol as p
from shared.clock import HybridLogicalClock
from shared.merge import STAMPS
from shared.schemas.field import CHECKIN_FIELDS

# Where a record without a place of its own takes its township from.
PARENT_OF: dict[str, tuple[str, str]] = {
    p.ATTENDANCE: (p.SESSION, "session_id"),
    p.LEAFLET_HANDOUT: (p.SESSION, "session_id"),
    p.PLOT_OBSERVATION: (p.PLOT, "plot_id"),
}
UNIT_OF = {p.SESSION: "unit_code", p.PLOT: "village_code"}

# What differs between one quick check-in row and the next, in the order the bulk path sets it.
QUICK_COLUMNS = (
    "id",
    "session_id",
    "farmer_id",
    "checked_in_at",
    "method",
    "created_at",
    "updated_at",
    "hlc",
    "township_code",
    "phone",
    "stamps",
)
# Then the columns every quick check-in from one device shares, then server_seq.
SHARED_COLUMNS = tuple(
    c for c in write_plan(p.ATTENDANCE).columns if c not in QUICK_COLUMNS and c != "server_seq"
)
QUICK_ROW_COLUMNS = (*QUICK_COLUMNS, *SHARED_COLUMNS, "server_seq")


def _uniform_stamps(names: tuple[str, ...]) -> str:
    """Stamps as stored when every one of `names` carries the record's own hlc (a mask)."""
    stamp = f"{'0' * 13}.{'0' * 5}.device"
    return compact_stamps(p.ATTENDANCE, dict.fromkeys(names, stamp), "device", stamp)


# A quick check-in's stored stamps: its fields and seen_by stamped at its hlc, and its phone
# when a phone made it (the general path stores the same, a test holds them to it).
QUICK_STAMPS = _uniform_stamps((*sorted(CHECKIN_FIELDS), "seen_by"))
QUICK_STAMPS_WITH_PHONE = _uniform_stamps((*sorted(CHECKIN_FIELDS), "seen_by", "phone"))


@dataclass(frozen=True)
class HeldLimits:
    """How much one device may keep held on the server (settings MAX_HELD_*)."""

    changes: int = field(default_factory=lambda: int(settings.default("MAX_HELD_CHANGES")))
    bytes: int = field(default_factory=lambda: int(settings.default("MAX_HELD_BYTES")))


def township_of_unit(code: str) -> str:
    """The township a unit is in: its first 9 digits, padded to a 12-digit code."""
    return code[:9].ljust(12, "0")


@dataclass
class Batch:
    """Everything one push touches, gathered so the database is read and written in bulk."""

    db: Database
    device: Device
    hlc: HybridLogicalClock
    now_ms: int
    states: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    dirty: dict[str, dict[str, str | None]] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    catalogue: dict[str, set[str]] = field(default_factory=dict)
    new_farmers: list[str] = field(default_factory=list)
    # Records only referred to (a check-in's session and farmer): whether they exist, and the
    # unit a session or plot is in, without loading whole states.
    present: dict[str, set[str]] = field(default_factory=dict)
    unit_codes: dict[str, str] = field(default_factory=dict)
    # Whether the ids of new check-ins were looked up before storing them (see apply_push).
    careful: bool = False
    # Check-ins stored by the quick path, as the values that differ from one to the next
    # (QUICK_COLUMNS); a later change to one in the same push turns it back into a state first.
    quick_rows: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    # The latest stamp (time part) of those check-ins, for the clock.
    latest_quick_stamp: str = ""
    townships: dict[str, str | None] = field(default_factory=dict)
    checkin_shared: tuple[Any, ...] | None = None
    # The sessions and farmers the push's new check-ins name.
    checkin_sessions: set[str] = field(default_factory=set)
    checkin_farmers: set[str] = field(default_factory=set)
    # Sequence numbers applied just as sent; every other change's answer; and for the
    # idempotency keys, each change's number, hash, status and reason.
    applied: list[int] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    answered: list[tuple[int, bytes, str, str | None]] = field(default_factory=list)
    # Changes refused in this push, with their records (server/sync/refusals.py).
    refused: list[Refusal] = field(default_factory=list)
    # Each session's lead and co-envoys, read without loading whole states.
    session_envoy_ids: dict[str, frozenset[str]] = field(default_factory=dict)
    # The corrections recorded against each corrected event looked at, this push's included.
    corrections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # This device's held changes: how many and their bytes, once read.
    held_usage: list[int] | None = None
    held_limits: HeldLimits = field(default_factory=HeldLimits)
    # On a province, its counties' links (device id -> county code), once read.
    county_links: dict[str, str] | None = None
    # Whether each envoy id a county's link named is of its county, once read.
    county_envoys: dict[str, bool] = field(default_factory=dict)

    def observe_quick_stamps(self) -> None:
        if self.latest_quick_stamp:
            self.hlc.observe(f"{self.latest_quick_stamp}.{self.device.id}")

    def state(self, kind: str, record_id: str) -> dict[str, Any] | None:
        if kind == p.ATTENDANCE and record_id in self.quick_rows:
            self._unquick(record_id)
        return self.states.setdefault(kind, {}).get(record_id)

    def _unquick(self, record_id: str) -> None:
        values = (*self.quick_rows.pop(record_id), *self.shared_checkin_values(), None)
        row = dict(zip(QUICK_ROW_COLUMNS, values, strict=True))
        self.states.setdefault(p.ATTENDANCE, {})[record_id] = row_to_state(p.ATTENDANCE, row)
        self.dirty.setdefault(p.ATTENDANCE, {})[record_id] = row["origin_device"]

    def shared_checkin_values(self) -> tuple[Any, ...]:
        if self.checkin_shared is None:
            self.checkin_shared = shared_checkin_values(self.device)
        return self.checkin_shared

    def loaded(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """The state of a record, read from the database if this batch has not yet."""
        state = self.state(kind, record_id)
        if state is None:
            self.states[kind].update(fetch_states(self.db, kind, [record_id]))
            state = self.states[kind].get(record_id)
        return state

    def session_township(self, session_id: str) -> str | None:
        if session_id not in self.townships:
            code = self.unit_code_of(p.SESSION, session_id)
            self.townships[session_id] = township_of_unit(code) if code else None
        return self.townships[session_id]

    def exists(self, kind: str, record_id: str) -> bool:
        if record_id in self.states.setdefault(kind, {}) or record_id in self.present.get(kind, ()):
            return True
        self.note_present(kind, [record_id])
        return record_id in self.present[kind]

    def note_present(self, kind: str, ids: Iterable[str]) -> None:
        found = self.present.setdefault(kind, set())
        if kind in UNIT_OF:
            column = UNIT_OF[kind]
            for record_id, code in existing_ids_with(self.db, kind, ids, column):
                found.add(record_id)
                self.unit_codes[record_id] = code
        else:
            found.update(existing_ids(self.db, kind, ids))

    def unit_code_of(self, kind: str, record_id: str) -> str | None:
        state = self.state(kind, record_id)
        if state is not None:
            return state.get(UNIT_OF[kind])
        if record_id not in self.unit_codes:
            self.note_present(kind, [record_id])
        return self.unit_codes.get(record_id)

    def catalogue_ids(self, kind: str) -> set[str]:
        if kind not in self.catalogue:
            table = table_of(kind)
            key = "code" if kind == p.UNIT else "id"
            self.catalogue[kind] = {
                row[0] for row in self.db.execute(f"SELECT [{key}] FROM [{table}]")
            }
        return self.catalogue[kind]

    def session_envoys(self, session_id: str) -> frozenset[str]:
        """The envoys who may add check-ins and hand-outs to a session: its lead and co-envoys."""
        state = self.states.get(p.SESSION, {}).get(session_id)
        if state is not None:
            return frozenset((state.get("lead_envoy_id"), *(state.get("co_envoy_ids") or [])))
        if session_id not in self.session_envoy_ids:
            self.note_session_envoys([session_id])
        return self.session_envoy_ids.get(session_id, frozenset())

    def note_session_envoys(self, ids: Iterable[str]) -> None:
        for chunk, marks in in_chunks(dict.fromkeys(ids)):
            for session_id, lead, co in self.db.execute(
                f"SELECT id, lead_envoy_id, co_envoy_ids FROM sessions WHERE id IN ({marks})",
                chunk,
            ):
                self.session_envoy_ids[session_id] = frozenset((lead, *json.loads(co or "[]")))

    def corrections_of(self, kind: str, target_id: str) -> list[dict[str, Any]]:
        """The corrections recorded against an event so far (their ids, copies and tombstones)."""
        if target_id not in self.corrections:
            self.corrections[target_id] = list(
                self.db.query(
                    f"SELECT id, copies, deleted FROM [{table_of(kind)}] WHERE correction_of = ?",
                    [target_id],
                )
            )
        return self.corrections[target_id]

    def township_of(self, kind: str, state: dict[str, Any]) -> str | None:
        """The township a record counts in: its own place's, or its session's or plot's."""
        code = state.get("village_code") or state.get("unit_code")
        if kind == p.PHOTO:
            code = self._photo_unit(state)
        if not code and kind in PARENT_OF:
            parent_kind, parent_field = PARENT_OF[kind]
            if state.get(parent_field):
                code = self.unit_code_of(parent_kind, state[parent_field])
        return township_of_unit(code) if code else None

    def _photo_unit(self, state: dict[str, Any]) -> str | None:
        """A photo counts where what it shows does: its session's unit, or its observation's
        plot's village."""
        subject_id = state.get("subject_id") or ""
        if state.get("subject_kind") == "session":
            return self.unit_code_of(p.SESSION, subject_id)
        observation = self.loaded(p.PLOT_OBSERVATION, subject_id) or {}
        plot_id = observation.get("plot_id")
        return self.unit_code_of(p.PLOT, plot_id) if plot_id else None


def shared_checkin_values(device: Device) -> tuple[Any, ...]:
    """The SHARED_COLUMNS of a new check-in's row from this device.

    They are the general path's values for such a check-in: every field stamped at its hlc,
    seen by this device alone, first made by this device.
    """
    stamp = f"{'0' * 13}.{'0' * 5}.{device.id}"
    state = {
        "seen_by": [device.id],
        STAMPS: dict.fromkeys((*CHECKIN_FIELDS, "seen_by"), stamp),
        "envoy_id": device.envoy_id,
        "device_id": device.id,
        "hlc": stamp,
        "deleted": False,
    }
    plan = write_plan(p.ATTENDANCE)
    row = dict(
        zip(plan.columns, row_values(plan, state, {"origin_device": device.id}), strict=True)
    )
    return tuple(row[c] for c in SHARED_COLUMNS)
