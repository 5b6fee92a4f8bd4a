"""Applying a device's pushed changes and serving its pull pages: the server half of sync."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from server import farmers
from server.db import get_state, in_chunks, next_server_seq, set_state, write_transaction
from server.migrations import FIELD_TABLES
from server.records import (
    data_of,
    existing_ids,
    existing_ids_with,
    fetch_states,
    row_to_state,
    row_values,
    table_of,
    write_plan,
)
from shared import protocol as p
from shared.clock import HybridLogicalClock, parse_stamp, stamp_iso, to_iso, utc_now, wall_ms
from shared.errors import InvalidRecord
from shared.ids import attendance_id, attendance_id_and_digest, is_uuid
from shared.merge import STAMPS, merge, stamped_change, with_derived_meta
from shared.schemas.field import (
    CHECKIN_FIELDS,
    data_fields,
    is_canonical_checkin,
    is_canonical_farmer,
    load_defaults,
    validate_fields,
    validate_record,
)

# Which field of a kind points at which other field record: a change whose target has not
# arrived yet is held, not refused.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    p.ATTENDANCE: (("session_id", p.SESSION), ("farmer_id", p.FARMER)),
    p.LEAFLET_HANDOUT: (("session_id", p.SESSION),),
    p.PLOT_OBSERVATION: (("plot_id", p.PLOT),),
}
# Which field names reference data, which must already be known to the server.
CATALOGUE_REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    p.FARMER: (("village_code", p.UNIT),),
    p.SESSION: (("unit_code", p.UNIT), ("technology_ids", p.TECHNOLOGY)),
    p.LEAFLET_RECEIPT: (("leaflet_title_id", p.LEAFLET_TITLE),),
    p.LEAFLET_HANDOUT: (("leaflet_title_id", p.LEAFLET_TITLE), ("unit_code", p.UNIT)),
    p.PLOT: (("village_code", p.UNIT), ("variety_id", p.VARIETY), ("technology_ids", p.TECHNOLOGY)),
}


# Where a record without a place of its own takes its township from.
PARENT_OF: dict[str, tuple[str, str]] = {
    p.ATTENDANCE: (p.SESSION, "session_id"),
    p.LEAFLET_HANDOUT: (p.SESSION, "session_id"),
    p.PLOT_OBSERVATION: (p.PLOT, "plot_id"),
}
UNIT_OF = {p.SESSION: "unit_code", p.PLOT: "village_code"}


@dataclass(frozen=True)
class Device:
    id: str
    envoy_id: str
    township_codes: tuple[str, ...]


class Rejected(Exception):
    """A change that cannot be applied; its reason goes back to the device."""

    def __init__(self, reason: str, errors: dict[str, object] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or {}


class Held(Exception):
    """A change that refers to a record not yet arrived."""

    def __init__(self, kind: str, record_id: str) -> None:
        super().__init__(f"waiting for {kind} {record_id}")
        self.kind = kind
        self.record_id = record_id


_canonical_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
_SEPARATOR = "\x1f"


def prepare_change(change: dict[str, Any]) -> bytes:
    """Mark a well-formed new check-in and work out its id; return what the change said, in
    8 bytes, which tells a resent change from a reused number."""
    values = change["f"]
    short = change["h"]
    if (
        change["k"] == p.ATTENDANCE
        and not change.get("i")
        and not change.get("b")
        and type(values) is dict
        and is_canonical_checkin(values)
        and _is_short_stamp(short)
    ):
        # Most of a big push: the id and the hash come from one SHA-1 of the parts.
        change["_checkin"] = True
        change["_id"], digest = attendance_id_and_digest(
            values["session_id"],
            values["farmer_id"],
            f"{_SEPARATOR}{short}{_SEPARATOR}{values['checked_in_at']}{_SEPARATOR}{values['method']}",
        )
        return digest
    change["_checkin"] = False
    body = _canonical_json([change["k"], change.get("i"), short, change.get("b"), values])
    return hashlib.blake2b(body.encode(), digest_size=8).digest()


def _is_short_stamp(short: str) -> bool:
    """PPPPPPPPPPPPP.CCCCC: a stamp as a device sends it, without its device part."""
    return short[13:14] == "." and short.isascii() and short.replace(".", "", 1).isdigit()


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


class CheckinsCollided(Exception):
    """A check-in taken for new was already on the server: the push is applied again, carefully."""


def apply_push(db: Database, device: Device, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply a batch of changes in one transaction; answer each change on its own.

    The answer lists the sequence numbers applied just as sent under "applied" (nearly all of
    them) and answers every other change on its own under "answers".

    New check-ins are stored without first looking up whether their ids exist: almost always
    they do not, and the lookup cost a twentieth of a big push. The insert itself notices one
    that does (another device checked the same farmer into the same session); then nothing of
    the first attempt is kept and the push is applied again, looking everything up first.
    """
    try:
        return _apply_push(db, device, changes, careful=False)
    except CheckinsCollided:
        return _apply_push(db, device, changes, careful=True)


def _apply_push(
    db: Database, device: Device, changes: list[dict[str, Any]], careful: bool
) -> dict[str, Any]:
    with write_transaction(db):
        hlc = HybridLogicalClock("server", get_state(db, "hlc"))
        batch = Batch(db, device, hlc, wall_ms(), careful=careful)
        seqs = [change["q"] for change in changes]
        device_max = _device_max_seq(db, device.id)
        # Numbers above any this device ever sent cannot have been seen: no lookup needed.
        seen = _previous_answers(db, device.id, seqs) if min(seqs, default=0) <= device_max else {}
        # New check-ins apart from everything else: they are stored in bulk.
        checkins: list[tuple[dict[str, Any], bytes]] = []
        others: list[tuple[dict[str, Any], bytes]] = []
        for change in changes:
            digest = prepare_change(change)
            earlier = seen.get(change["q"]) if seen else None
            if earlier is None:
                (checkins if change["_checkin"] else others).append((change, digest))
            elif earlier[0] != digest:
                batch.answers.append({"q": change["q"], "s": p.SEQ_REUSED})
            elif earlier[1] == p.REJECTED:
                batch.answers.append({"q": change["q"], "s": p.REJECTED, "r": earlier[2]})
            else:
                batch.answers.append({"q": change["q"], "s": p.DUPLICATE})
        _prefetch(batch, checkins, others)
        # Other records first, as a check-in's session or farmer may be among them; then new
        # check-ins in bulk; then edits of check-ins. Merges do not depend on order, so this
        # ends where applying them as sent would.
        for change, digest in others:
            if change.get("k") != p.ATTENDANCE:
                _apply_one(batch, device, change, digest)
        for change, digest in _store_checkins(batch, checkins):
            _apply_one(batch, device, change, digest)
        for change, digest in others:
            if change.get("k") == p.ATTENDANCE:
                _apply_one(batch, device, change, digest)
        batch.observe_quick_stamps()
        # Recorded before held changes are released, so a release can update its own row.
        _record_answers(db, device.id, batch.answered)
        _release_held(batch)
        _write_dirty(batch)
        farmers.check_new_farmers(db, [batch.states[p.FARMER][i] for i in batch.new_farmers])
        device_max = max(device_max, *seqs) if seqs else device_max
        db.execute("UPDATE devices SET max_seq = ? WHERE id = ?", [device_max, device.id])
        set_state(db, "hlc", hlc.last)
    batch.applied.sort()
    batch.answers.sort(key=lambda answer: answer["q"])
    return {
        "applied": batch.applied,
        "answers": batch.answers,
        "server_hlc": hlc.last,
        "device_max_seq": device_max,
    }


def _apply_one(batch: Batch, device: Device, change: dict[str, Any], digest: bytes) -> None:
    result = apply_change(batch, device, change)
    if result["s"] == p.HELD:
        _hold(batch.db, device, change, result.pop("_waiting"))
    if result["s"] == p.APPLIED and len(result) == 2:
        batch.applied.append(change["q"])
    else:
        batch.answers.append(result)
    batch.answered.append((change["q"], digest, result["s"], result.get("r")))


def _device_max_seq(db: Database, device_id: str) -> int:
    row = db.execute("SELECT max_seq FROM devices WHERE id = ?", [device_id]).fetchone()
    return int(row[0] or 0) if row else 0


# (device, seq) keys are kept as runs of consecutive numbers answered alike; a run is capped
# so a lookup knows how far back a run holding a number can start.
MAX_RUN = 10_000
# Statuses a resent change is answered `duplicate` for, whichever it was: kept in runs.
_RUN_STATUSES = frozenset((p.APPLIED, p.MERGED))


def _record_answers(
    db: Database, device_id: str, answered: list[tuple[int, bytes, str, str | None]]
) -> None:
    """Keep each change's number and hash; applied and merged ones in runs, the rest alone."""
    rows: list[tuple[str, int, int, bytes, str, str | None]] = []
    # The run being gathered: its first and last numbers and their hashes.
    first = last = -2
    hashes: list[bytes] = []
    for seq, digest, status, reason in sorted(answered, key=_seq_of):
        if status in _RUN_STATUSES and seq == last + 1 and len(hashes) < MAX_RUN:
            hashes.append(digest)
            last = seq
            continue
        if hashes:
            rows.append((device_id, first, last, b"".join(hashes), p.APPLIED, None))
        if status in _RUN_STATUSES:
            first = last = seq
            hashes = [digest]
        else:
            first = last = -2
            hashes = []
            rows.append((device_id, seq, seq, digest, status, reason))
    if hashes:
        rows.append((device_id, first, last, b"".join(hashes), p.APPLIED, None))
    db.conn.executemany("INSERT INTO device_change_runs VALUES (?, ?, ?, ?, ?, ?)", rows)


def _seq_of(answered: tuple[int, bytes, str, str | None]) -> int:
    return answered[0]


def _previous_answers(
    db: Database, device_id: str, seqs: list[int]
) -> dict[int, tuple[bytes, str, str | None]]:
    """The hash and answer of each of these numbers this device sent before."""
    wanted = set(seqs)
    answers: dict[int, tuple[bytes, str, str | None]] = {}
    if not wanted:
        return answers
    low, high = min(wanted), max(wanted)
    for first, last, hashes, status, reason in db.execute(
        "SELECT first_seq, last_seq, hashes, status, reason FROM device_change_runs "
        "WHERE device_id = ? AND first_seq BETWEEN ? AND ? AND last_seq >= ?",
        [device_id, low - MAX_RUN + 1, high, low],
    ):
        for seq in range(max(first, low), min(last, high) + 1):
            if seq in wanted:
                at = (seq - first) * 8
                answers[seq] = (hashes[at : at + 8], status, reason)
    return answers


def _prefetch(
    batch: Batch,
    checkins: list[tuple[dict[str, Any], bytes]],
    others: list[tuple[dict[str, Any], bytes]],
) -> None:
    """Read in a few queries what the batch's changes touch and refer to."""
    changed: dict[str, set[str]] = {kind: set() for kind in p.FIELD_KINDS}
    referred: dict[str, set[str]] = {kind: set() for kind in p.FIELD_KINDS}
    batch.checkin_sessions = {change["f"]["session_id"] for change, _ in checkins}
    batch.checkin_farmers = {change["f"]["farmer_id"] for change, _ in checkins}
    referred[p.SESSION].update(batch.checkin_sessions)
    referred[p.FARMER].update(batch.checkin_farmers)
    if batch.careful:
        changed[p.ATTENDANCE].update(change["_id"] for change, _ in checkins)
    for change, _ in others:
        kind = change.get("k")
        if kind not in p.FIELD_KINDS:
            continue
        record_id = change.get("i") or _derived_id(change)
        if isinstance(record_id, str):
            changed[kind].add(record_id)
        values = change.get("f") or {}
        for name, target in REFERENCES.get(kind, ()):
            if isinstance(values.get(name), str):
                referred[target].add(values[name])
    for kind, ids in changed.items():
        if ids:
            batch.states.setdefault(kind, {}).update(fetch_states(batch.db, kind, ids))
    for kind, ids in referred.items():
        if ids:
            batch.note_present(kind, ids - batch.states.get(kind, {}).keys())
    if referred[p.FARMER]:
        batch.states.setdefault(p.FARMER_ALIAS, {}).update(
            {
                alias: {"canonical_id": canonical}
                for alias, canonical in farmers.aliases_of(batch.db, referred[p.FARMER])
            }
        )


def _derived_id(change: dict[str, Any]) -> str | None:
    """A check-in's id from its session and farmer, worked out once per change."""
    if "_id" in change:
        return change["_id"]
    values = change.get("f") or {}
    derived = None
    if change.get("k") == p.ATTENDANCE and values.get("session_id") and values.get("farmer_id"):
        derived = attendance_id(str(values["session_id"]), str(values["farmer_id"]))
    change["_id"] = derived
    return derived


def _store_checkins(
    batch: Batch, checkins: list[tuple[dict[str, Any], bytes]]
) -> list[tuple[dict[str, Any], bytes]]:
    """Store brand-new, well-formed check-ins whose session and farmer are known, in bulk;
    return the rest for the general path.

    Such check-ins are nearly all of a big push. The general path would store exactly these
    rows (a test holds the two to that) but takes several times as long; anything else — a
    check-in already known, a stamp from the future, a missing session — takes the general
    path, which also explains any refusal.
    """
    if not checkins:
        return []
    townships = {
        session_id: batch.session_township(session_id)
        for session_id in batch.checkin_sessions
        if batch.exists(p.SESSION, session_id)
    }
    aliases = batch.states.get(p.FARMER_ALIAS, {})
    known_farmers = {
        farmer_id
        for farmer_id in batch.checkin_farmers
        if farmer_id in aliases or batch.exists(p.FARMER, farmer_id)
    }
    known = batch.states.setdefault(p.ATTENDANCE, {})
    rows = batch.quick_rows
    applied, answered = batch.applied, batch.answered
    latest = batch.latest_quick_stamp
    limit = f"{batch.now_ms + p.MAX_CLOCK_AHEAD_MS:013d}"
    rest = []
    for item in checkins:
        change, digest = item
        record_id, values, short = change["_id"], change["f"], change["h"]
        session_id, farmer_id = values["session_id"], values["farmer_id"]
        if (
            record_id in known
            or record_id in rows
            or session_id not in townships
            or farmer_id not in known_farmers
            or short[:13] > limit
        ):
            rest.append(item)
            continue
        # Stamps of one device compare as their time parts: the clock sees the latest once.
        if short > latest:
            latest = short
        moment = stamp_iso(short)
        rows[record_id] = (
            record_id,
            session_id,
            farmer_id,
            values["checked_in_at"],
            values["method"],
            moment,
            moment,
            short,
            townships[session_id],
        )
        seq = change["q"]
        applied.append(seq)
        answered.append((seq, digest, p.APPLIED, None))
    batch.latest_quick_stamp = latest
    if rest and not batch.careful:
        # The general path needs their stored states, which were not looked up.
        found = fetch_states(batch.db, p.ATTENDANCE, [item[0]["_id"] for item in rest])
        if found.keys() & rows.keys():
            raise CheckinsCollided()
        known.update(found)
    return rest


# What differs between one quick check-in row and the next, in the order _store_checkins sets it.
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
)
# Then the columns every quick check-in from one device shares, then server_seq.
SHARED_COLUMNS = tuple(
    c for c in write_plan(p.ATTENDANCE).columns if c not in QUICK_COLUMNS and c != "server_seq"
)
QUICK_ROW_COLUMNS = (*QUICK_COLUMNS, *SHARED_COLUMNS, "server_seq")


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


def apply_change(batch: Batch, device: Device, change: dict[str, Any]) -> dict[str, Any]:
    seq = change["q"]
    try:
        kind, record_id, values, trusted = _checked_envelope(change)
        stamp = _checked_stamp(batch, device, change)
        return {
            "q": seq,
            **_apply(batch, device, kind, record_id, values, stamp, change.get("b"), trusted),
        }
    except Rejected as exc:
        answer: dict[str, Any] = {"q": seq, "s": p.REJECTED, "r": exc.reason}
        if exc.errors:
            answer["e"] = exc.errors
        current = _current_for(batch, change)
        if current is not None:
            # The device drops its refused edit and takes the server's version back.
            answer["x"] = dict(current)
        return answer
    except Held as exc:
        return {"q": seq, "s": p.HELD, "_waiting": (exc.kind, exc.record_id)}


def _current_for(batch: Batch, change: dict[str, Any]) -> dict[str, Any] | None:
    kind = change.get("k")
    record_id = change.get("i") or _derived_id(change)
    if kind not in p.FIELD_KINDS or not isinstance(record_id, str):
        return None
    return batch.state(kind, record_id)


def _checked_envelope(change: dict[str, Any]) -> tuple[str, str, dict[str, Any], bool]:
    """Kind, id and loaded fields of a change, and whether they were canonical as sent."""
    kind = change.get("k")
    if kind in p.REFERENCE_KINDS:
        raise Rejected(f"参考数据只能由科技局修改 / {kind} is reference data: it flows down only")
    if kind not in p.FIELD_KINDS:
        raise Rejected(f"未知的记录类型 / unknown kind {kind!r}")
    values = change.get("f")
    if not isinstance(values, dict) or not values:
        raise Rejected("变更内容为空 / change has no fields", {"f": "required"})
    if change.get("_checkin"):
        return kind, _derived_id(change) or "", values, True
    record_id = change.get("i") or _derived_id(change)
    if not isinstance(record_id, str) or not is_uuid(record_id):
        raise Rejected("记录编号无效 / record id missing or not a UUID", {"i": "not a UUID"})
    if kind == p.FARMER and is_canonical_farmer(values):
        return kind, record_id, values, True
    try:
        values = validate_fields(kind, values)
    except InvalidRecord as exc:
        raise Rejected(f"{kind} {record_id}: 字段无效 / invalid fields", exc.errors) from exc
    if kind == p.ATTENDANCE and change.get("i") and values.get("session_id"):
        if attendance_id(values["session_id"], values.get("farmer_id", "")) != record_id:
            raise Rejected(
                "签到编号与场次、农户不符 / attendance id does not match its session and farmer"
            )
    return kind, record_id, values, False


def _checked_stamp(batch: Batch, device: Device, change: dict[str, Any]) -> tuple[str, bool]:
    """The full stamp of a change, and whether the server had to replace a stamp from the future."""
    short = change.get("h")
    try:
        physical, counter = parse_stamp(f"{short}.x")
    except (ValueError, AttributeError, TypeError) as exc:
        raise Rejected(
            "时间戳无效 / bad clock stamp", {"h": "expected PPPPPPPPPPPPP.CCCCC"}
        ) from exc
    if physical > batch.now_ms + p.MAX_CLOCK_AHEAD_MS:
        # A device clock running ahead must not let its edits beat everyone else's for days.
        batch.observe_quick_stamps()
        return batch.hlc.now(), True
    stamp = f"{physical:013d}.{counter:05d}.{device.id}"
    batch.hlc.observe(stamp)
    return stamp, False


def _apply(
    batch: Batch,
    device: Device,
    kind: str,
    record_id: str,
    values: dict[str, Any],
    stamp_info: tuple[str, bool],
    base: str | None,
    trusted: bool = False,
) -> dict[str, Any]:
    stamp, clamped = stamp_info
    current = batch.state(kind, record_id)
    if current is not None and kind in p.APPEND_ONLY_KINDS:
        raise Rejected(
            "此类记录只能追加，更正请新建一条 / append-only: record a correction as a new event"
        )
    _check_owner(batch, device, kind, current, values)
    _check_catalogue(batch, kind, values)
    _check_references(batch, kind, values, current)
    incoming = stamped_change(values, stamp)
    if kind == p.ATTENDANCE:
        incoming["seen_by"] = [device.id]
        incoming[STAMPS]["seen_by"] = stamp
    result = merge(kind, current, incoming, base)
    state = result.state
    if current is None:
        state.update({"id": record_id, "envoy_id": device.envoy_id, "device_id": device.id})
    with_derived_meta(state)
    if trusted and current is None:
        # Canonical fields of a new record load as sent: the schema would add only defaults.
        clean = load_defaults(kind)
    else:
        try:
            clean = validate_record(kind, data_of(kind, state))
        except InvalidRecord as exc:
            raise Rejected(
                f"{kind} {record_id}: 记录不完整或无效 / incomplete or invalid record", exc.errors
            ) from exc
    if current is None:
        # Store the schema's defaults for fields a create left out: a NULL in a field that may
        # not be null would make every later edit of the record fail validation.
        for name in data_fields(kind):
            if name not in state and name in clean:
                state[name] = clean[name]
                state[STAMPS][name] = stamp
    batch.states.setdefault(kind, {})[record_id] = state
    if result.changed or current is None:
        origin = device.id if current is None and not clamped else None
        previous = batch.dirty.setdefault(kind, {}).get(record_id, origin)
        batch.dirty[kind][record_id] = origin if previous == origin else None
    for conflict in result.conflicts:
        batch.conflicts.append(
            {
                "kind": kind,
                "record_id": record_id,
                "field": conflict.field,
                "winning_value": json.dumps(conflict.winning_value, ensure_ascii=False),
                "winning_stamp": conflict.winning_stamp,
                "losing_value": json.dumps(conflict.losing_value, ensure_ascii=False),
                "losing_stamp": conflict.losing_stamp,
                "device_id": device.id,
                "recorded_at": to_iso(utc_now()),
            }
        )
    if kind == p.FARMER and current is None:
        batch.new_farmers.append(record_id)
    if current is None:
        return {"s": p.APPLIED}
    if result.conflicts or kind == p.ATTENDANCE:
        answer: dict[str, Any] = {"s": p.MERGED}
        if result.conflicts:
            answer["c"] = [c.field for c in result.conflicts]
        return answer
    return {"s": p.APPLIED}


def _check_owner(
    batch: Batch, device: Device, kind: str, current: dict[str, Any] | None, values: dict[str, Any]
) -> None:
    me = device.envoy_id
    if kind == p.SESSION:
        # Who may edit is decided by the session as stored, so an edit cannot name its own
        # sender lead and take over another envoy's session.
        session = current if current is not None else values
        if me != session.get("lead_envoy_id") and me not in (session.get("co_envoy_ids") or []):
            if current is None or current.get("envoy_id") != me:
                raise Rejected(
                    "只能记录本人主持或协办的培训 / a session must be led or co-run by this envoy"
                )
        return
    if current is None or current.get("envoy_id") == me:
        return
    if kind == p.ATTENDANCE:
        session = batch.loaded(p.SESSION, current["session_id"]) or {}
        if me in (
            session.get("lead_envoy_id"),
            session.get("envoy_id"),
            *(session.get("co_envoy_ids") or []),
        ):
            return
    raise Rejected("这条记录属于另一位特派员 / this record belongs to another envoy")


def _check_catalogue(batch: Batch, kind: str, values: dict[str, Any]) -> None:
    errors: dict[str, object] = {}
    for name, target in CATALOGUE_REFERENCES.get(kind, ()):
        value = values.get(name)
        if value is None:
            continue
        wanted = value if isinstance(value, list) else [value]
        unknown = [v for v in wanted if v not in batch.catalogue_ids(target)]
        if unknown:
            errors[name] = f"服务器上没有 / not known to the server: {', '.join(unknown)}"
    if errors:
        raise Rejected(f"{kind}: 引用了未知的参考数据 / refers to unknown reference data", errors)


def _check_references(
    batch: Batch, kind: str, values: dict[str, Any], current: dict[str, Any] | None
) -> None:
    for name, target in REFERENCES.get(kind, ()):
        value = values.get(name) or (current or {}).get(name)
        if not value:
            continue
        if target == p.FARMER and value in batch.states.get(p.FARMER_ALIAS, {}):
            continue
        if not batch.exists(target, value):
            raise Held(target, value)


def _hold(db: Database, device: Device, change: dict[str, Any], waiting: tuple[str, str]) -> None:
    db["held_changes"].insert(
        {
            "device_id": device.id,
            "seq": change["q"],
            "envoy_id": device.envoy_id,
            "change": json.dumps(
                {k: v for k, v in change.items() if not k.startswith("_")}, ensure_ascii=False
            ),
            "waiting_kind": waiting[0],
            "waiting_id": waiting[1],
            "held_at": to_iso(utc_now()),
        },
        replace=True,
    )


def _release_held(batch: Batch) -> None:
    """Apply held changes whose missing record has now arrived, until nothing more moves."""
    while True:
        arrived = [
            rid for kind in (p.SESSION, p.FARMER, p.PLOT) for rid in batch.dirty.get(kind, {})
        ]
        if not arrived:
            return
        held = []
        for chunk, marks in in_chunks(arrived):
            held += list(
                batch.db.query(f"SELECT * FROM held_changes WHERE waiting_id IN ({marks})", chunk)
            )
        if not held:
            return
        progressed = False
        for row in held:
            # Applied as the device that sent it, whichever device's push let it through.
            device = Device(row["device_id"], row["envoy_id"], ())
            change = json.loads(row["change"])
            result = apply_change(batch, device, change)
            if result["s"] == p.HELD:
                waiting = result["_waiting"]
                if waiting[1] == row["waiting_id"]:
                    continue
                _hold(batch.db, device, change, waiting)
                progressed = True
                continue
            batch.db.execute(
                "DELETE FROM held_changes WHERE device_id = ? AND seq = ?",
                [row["device_id"], row["seq"]],
            )
            # A held change was recorded on its own, so its run is the one number.
            batch.db.execute(
                "UPDATE device_change_runs SET status = ?, reason = ? "
                "WHERE device_id = ? AND first_seq = ?",
                [result["s"], result.get("r"), row["device_id"], row["seq"]],
            )
            progressed = True
        if not progressed:
            return
        # Only records made by released changes can release more.
        released_kinds = {json.loads(r["change"]).get("k") for r in held}
        if not released_kinds & {p.SESSION, p.FARMER, p.PLOT}:
            return


def _write_dirty(batch: Batch) -> None:
    total = sum(len(ids) for ids in batch.dirty.values()) + len(batch.quick_rows)
    if not total:
        return
    seq = next_server_seq(batch.db, total)
    for kind, ids in batch.dirty.items():
        plan = write_plan(kind)
        rows = []
        for record_id, origin in ids.items():
            state = batch.states[kind][record_id]
            internal = {
                "township_code": _township_of(batch, kind, state),
                "origin_device": origin,
                "server_seq": seq,
            }
            seq += 1
            rows.append(row_values(plan, state, internal))
        _insert_rows(batch.db, kind, rows)
    # After the records they refer to, so a device pulling in order meets a session first.
    if batch.quick_rows:
        shared = batch.shared_checkin_values()
        rows = [row + shared + (n,) for n, row in enumerate(batch.quick_rows.values(), seq)]
        # Taken for new, so an insert that skips a row whose id is already there, and a count
        # of the rows stored tells whether that happened.
        stored = _insert_rows(batch.db, p.ATTENDANCE, rows, "INSERT OR IGNORE", QUICK_ROW_COLUMNS)
        if stored != len(rows):
            raise CheckinsCollided()
        batch.quick_rows.clear()
    if batch.conflicts:
        batch.db["conflicts"].insert_all(batch.conflicts)
    batch.dirty.clear()


def _insert_rows(
    db: Database,
    kind: str,
    rows: list[Any],
    verb: str = "INSERT OR REPLACE",
    columns: tuple[str, ...] | None = None,
) -> int:
    """Write rows of a table's columns (or of `columns`); return how many were stored."""
    columns = columns or write_plan(kind).columns
    marks = ",".join("?" * len(columns))
    names = ",".join(f"[{c}]" for c in columns)
    sql = f"{verb} INTO [{table_of(kind)}] ({names}) VALUES ({marks})"
    return int(db.conn.executemany(sql, rows).rowcount)


def _township_of(batch: Batch, kind: str, state: dict[str, Any]) -> str | None:
    code = state.get("village_code") or state.get("unit_code")
    if not code and kind in PARENT_OF:
        parent_kind, parent_field = PARENT_OF[kind]
        if state.get(parent_field):
            code = batch.unit_code_of(parent_kind, state[parent_field])
    return township_of_unit(code) if code else None


def township_of_unit(code: str) -> str:
    """The township a unit is in: its first 9 digits, padded to a 12-digit code."""
    return code[:9].ljust(12, "0")


# ---------------------------------------------------------------- pull


class ResyncRequired(Exception):
    """The device's cursor is older than purged tombstones: it must start again from zero."""


def pull_page(
    db: Database, device: Device, cursor: int, limit: int, include_own: bool
) -> dict[str, Any]:
    """One page of records changed after `cursor` that this device should hold."""
    db.execute("BEGIN")
    try:
        purged = int(get_state(db, "purged_seq") or 0)
        if 0 < cursor < purged:
            raise ResyncRequired()
        high = int(get_state(db, "seq") or 0)
        found: list[tuple[int, str, dict[str, Any]]] = []
        for kind in p.ALL_KINDS:
            for row in _changed_rows(db, device, kind, cursor, limit, include_own):
                found.append((row["server_seq"], kind, row))
        found.sort(key=lambda item: item[0])
        page = found[:limit]
        more = len(found) > limit
        records = [{"k": kind, "r": _wire_record(kind, row)} for _seq, kind, row in page]
        next_cursor = page[-1][0] if more else max(high, cursor)
        device_max = db.execute("SELECT max_seq FROM devices WHERE id = ?", [device.id]).fetchone()
    finally:
        db.execute("COMMIT")
    return {
        "records": records,
        "cursor": next_cursor,
        "more": more,
        "device_max_seq": (device_max[0] if device_max else 0) or 0,
    }


def _changed_rows(
    db: Database, device: Device, kind: str, cursor: int, limit: int, include_own: bool
) -> list[dict[str, Any]]:
    table = table_of(kind)
    where = ["server_seq > ?"]
    params: list[Any] = [cursor]
    if table in FIELD_TABLES:
        scope = ["envoy_id = ?"]
        params.append(device.envoy_id)
        if device.township_codes:
            scope.append(f"township_code IN ({','.join('?' * len(device.township_codes))})")
            params.extend(device.township_codes)
        where.append(f"({' OR '.join(scope)})")
        if not include_own:
            where.append("(origin_device IS NULL OR origin_device != ?)")
            params.append(device.id)
    sql = f"SELECT * FROM [{table}] WHERE {' AND '.join(where)} ORDER BY server_seq LIMIT ?"
    return list(db.query(sql, [*params, limit + 1]))


def _wire_record(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    state = row_to_state(kind, row)
    if kind == p.ENVOY:
        # Envoys' phone numbers stay on the server.
        state.pop("mobile", None)
    return state
