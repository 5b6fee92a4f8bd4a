"""Farmers checking themselves in on the server from the QR the phone app shows.

The QR (server/phone_app/static/js/session_qr.js) names the device, the session, the times its
window is made from and a token over them signed with the device's check-in key
(shared/checkin_tokens.py). The server need not hold the session yet: the check-in is made as
a change of the device's QR (a device id of its own, QR_NAMESPACE, so that the phone's next pull
brings it back) and goes through the push path, which holds it (server/sync/held.py) until the
session arrives from the phone, then stores it once (its id follows from session and farmer).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from server.farmers.matching import canonical_id
from server.store.db import get_state, integrity_errors, write_transaction
from server.store.records import fetch_states
from server.sync.batch import HeldLimits
from server.sync.device import Device
from server.sync.held import held_usage
from server.sync.push import apply_push
from shared import protocol as p
from shared.checkin_rules import (
    MAX_MARGIN_MINUTES,
    CheckinRefused,
    ForgedToken,
    NotProved,
    SessionDeleted,
    Window,
    check_open,
    same_name,
    window_between,
)
from shared.checkin_tokens import phone_token_matches
from shared.clock import to_iso, utc_now, wall_ms
from shared.ids import attendance_id, is_uuid, new_id
from shared.phone_marks import checkin_net, checkin_phone

# The QR's own device id, a UUID derived from the device's (records name their device by a
# UUID). Its changes are the device's envoy's, but the phone did not make them, so its pulls
# bring them (pull.py leaves out only what the pulling device made itself).
QR_NAMESPACE = uuid.UUID("3d0c7a52-9f1e-5b6a-8c47-52e1a9d0b6f3")
# Unix seconds a QR may name: up to 2100 (anything more is not a session's time).
MAX_SECONDS = 4_102_444_800
# Tries at numbering a check-in when two requests of one device's QR take the same number.
NUMBERING_TRIES = 5


class Refused(CheckinRefused):
    """The server refused the check-in (its reason, in both languages, is the message)."""

    status = 422
    reason = "refused_by_server"


def qr_device_id(device_id: str) -> str:
    return str(uuid.uuid5(QR_NAMESPACE, device_id))


class UnknownVillage(CheckinRefused):
    status = 422
    reason = "unknown_village"
    message = "请从列表中选择您的村 / choose your village from the list"


class HeldFull(CheckinRefused):
    """The session has not arrived and its QR's device holds as many check-ins as it may."""

    status = 503
    reason = "held_full"
    message = (
        "签到人数太多，服务器暂时无法再保存，请请特派员帮您签到 / too many check-ins are waiting "
        "for this session to reach the server: ask the envoy to check you in"
    )


@dataclass(frozen=True)
class QrTicket:
    """A QR the server checked: whose device, which session, its window, and the session as the
    server holds it (None until it arrives from the phone)."""

    device: Device
    session_id: str
    starts_at: str
    window: Window
    session: dict[str, Any] | None

    @property
    def qr_device(self) -> Device:
        """The device the check-ins are made as (see QR_NAMESPACE)."""
        return Device(
            qr_device_id(self.device.id), self.device.envoy_id, self.device.township_codes
        )


@dataclass(frozen=True)
class Done:
    farmer: dict[str, Any]
    new: bool
    checked_in_at: str


def open_ticket(
    db: Database,
    device_id: str,
    session_id: str,
    times: tuple[int, int, int],
    token: str,
    now: datetime | None = None,
) -> QrTicket:
    """The QR's session when the token is the device's and its window is open; else
    ForgedToken (any part changed, an unknown or revoked device), SessionDeleted, NotYetOpen
    or Expired. `times`: the session's start, end (0: none) and margin as the QR carries them."""
    starts, ends, margin = times
    if (
        not is_uuid(session_id)
        or not 0 < starts < MAX_SECONDS
        or not (ends == 0 or starts <= ends < MAX_SECONDS)
        or not 0 <= margin <= MAX_MARGIN_MINUTES
    ):
        raise ForgedToken()
    row = db.execute(
        "SELECT d.envoy_id, d.checkin_key, d.revoked_at, e.township_codes FROM devices d "
        "JOIN envoys e ON e.id = d.envoy_id WHERE d.id = ?",
        [device_id],
    ).fetchone()
    if row is None or row[2] or not row[1]:
        raise ForgedToken()
    if not phone_token_matches(row[1].encode(), session_id, starts, ends or None, margin, token):
        raise ForgedToken()
    envoy_id = str(row[0])
    session = fetch_states(db, p.SESSION, [session_id]).get(session_id)
    if session is not None:
        if session.get("deleted"):
            raise SessionDeleted()
        runs = (session.get("lead_envoy_id"), *(session.get("co_envoy_ids") or []))
        if envoy_id not in runs:
            raise ForgedToken()
    begins = datetime.fromtimestamp(starts, UTC)
    span = window_between(begins, datetime.fromtimestamp(ends, UTC) if ends else None, margin)
    check_open(span, now or utc_now())
    device = Device(device_id, envoy_id, tuple(json.loads(row[3] or "[]")))
    return QrTicket(device, session_id, to_iso(begins), span, session)


# ------------------------------------------------------------------ farmers and phones


def farmer_with_mobile(db: Database, mobile: str) -> dict[str, Any] | None:
    """The live farmer registered with this (normalised) number, merged ones as their canonical."""
    row = db.execute(
        "SELECT id FROM farmers WHERE mobile = ? AND deleted = 0 ORDER BY server_seq LIMIT 1",
        [mobile],
    ).fetchone()
    return farmer(db, canonical_id(db, row[0])) if row else None


def farmer(db: Database, farmer_id: str) -> dict[str, Any] | None:
    found = fetch_states(db, p.FARMER, [farmer_id]).get(farmer_id)
    return found if found is not None and not found.get("deleted") else None


def farmers_of_phone(db: Database, phone_hash: str | None) -> list[dict[str, Any]]:
    """Farmers this phone checked in on the server before (a family may share one phone)."""
    if not phone_hash:
        return []
    found: list[dict[str, Any]] = []
    for (farmer_id,) in db.execute(
        "SELECT farmer_id FROM qr_phones WHERE phone_hash = ? ORDER BY first_at", [phone_hash]
    ).fetchall():
        held = farmer(db, canonical_id(db, farmer_id))
        if held is not None and held["id"] not in {f["id"] for f in found}:
            found.append(held)
    return found


def claim(db: Database, mobile: str, name: str, phone_hash: str | None) -> str | None:
    """The id of the farmer with this mobile when the phone holds them or `name` is theirs as
    registered; None when nobody has the mobile; NotProved otherwise (nobody checked in)."""
    found = farmer_with_mobile(db, mobile)
    if found is None:
        return None
    if found["id"] in {f["id"] for f in farmers_of_phone(db, phone_hash)}:
        return str(found["id"])
    if same_name(name, found.get("name") or ""):
        return str(found["id"])
    raise NotProved()


def villages(db: Database, ticket: QrTicket) -> list[tuple[str, str]]:
    """(code, label) of every village: the session's first, then the envoy's townships', then
    the rest; a name the county has twice carries its township's."""
    units = db.execute(
        "SELECT v.code, v.name, t.name, v.parent_code FROM units v "
        "LEFT JOIN units t ON t.code = v.parent_code WHERE v.level = 'village'"
    ).fetchall()
    names = [row[1] for row in units]
    own = str((ticket.session or {}).get("unit_code") or "")
    served = set(ticket.device.township_codes)

    def order(row: tuple[Any, ...]) -> tuple[int, str]:
        code = str(row[0])
        township = str(row[3] or code[:9].ljust(12, "0"))
        return (0 if code == own else 1 if township in served else 2, code)

    return [
        (str(code), f"{name}（{township}）" if names.count(name) > 1 and township else str(name))
        for code, name, township, _parent in sorted(units, key=order)
    ]


# ------------------------------------------------------------------ checking in


def earlier_checkin(db: Database, ticket: QrTicket, farmer_id: str) -> str | None:
    """When this farmer was checked in to the ticket's session, stored or held; else None."""
    record_id = attendance_id(ticket.session_id, farmer_id)
    row = db.execute(
        "SELECT checked_in_at FROM attendances WHERE id = ? AND deleted = 0", [record_id]
    ).fetchone()
    if row:
        return str(row[0])
    for (text,) in db.execute(
        "SELECT change FROM held_changes WHERE waiting_id = ? AND device_id = ?",
        [ticket.session_id, ticket.qr_device.id],
    ).fetchall():
        values = json.loads(text).get("f") or {}
        if values.get("farmer_id") == farmer_id:
            return str(values.get("checked_in_at"))
    return None


def check_in(
    db: Database,
    ticket: QrTicket,
    farmer_id: str | None,
    new_farmer: dict[str, Any] | None,
    phone_hash: str,
    address: str,
    held_limits: HeldLimits | None = None,
) -> Done:
    """Check a farmer in (registered first when new) as a change of the device's QR: stored now
    when the session is here, held until it arrives otherwise. A farmer already checked in, or
    held, adds nothing and is answered with the first time. The phone is remembered."""
    if farmer_id is not None:
        first = earlier_checkin(db, ticket, farmer_id)
        found = farmer(db, farmer_id)
        if found is None:
            raise Refused("找不到这位学员 / no such farmer")
        if first is not None:
            remember_phone(db, phone_hash, farmer_id)
            return Done(found, False, first)
    limits = held_limits or HeldLimits()
    if not _room_to_hold(db, ticket, limits):
        # Refused before anything is written: a new farmer is not left registered unchecked-in.
        raise HeldFull()
    key = str(get_state(db, "qr_phone_key") or "")
    moment = to_iso(utc_now())
    stamp = f"{wall_ms():013d}.00000"
    changes: list[dict[str, Any]] = []
    if farmer_id is None:
        if new_farmer is None:
            raise Refused("须指明学员 / name the farmer")
        village = new_farmer.get("village_code")
        if not db.execute(
            "SELECT 1 FROM units WHERE code = ? AND level = 'village'", [village]
        ).fetchone():
            # Checked first: a farmer refused for it would leave the check-in waiting for them.
            raise UnknownVillage()
        farmer_id = new_id()
        changes.append({"k": p.FARMER, "i": farmer_id, "h": stamp, "f": new_farmer})
    values = {
        "session_id": ticket.session_id,
        "farmer_id": farmer_id,
        "checked_in_at": moment,
        "method": "qr_self",
        "phone": checkin_phone(key, phone_hash),
    }
    if address:
        values["net"] = checkin_net(key, address)
    changes.append({"k": p.ATTENDANCE, "h": stamp, "f": values})
    answer = _push(db, ticket.qr_device, changes, limits)
    for refusal in answer["answers"]:
        if refusal["s"] == p.REJECTED:
            raise Refused(str(refusal.get("r") or "签到未被接受 / not accepted"))
    remember_phone(db, phone_hash, farmer_id)
    return Done(farmer(db, farmer_id) or {"id": farmer_id, "name": ""}, True, moment)


def _room_to_hold(db: Database, ticket: QrTicket, limits: HeldLimits) -> bool:
    """Whether a check-in can be kept (the session is here, or the QR's device holds fewer
    than its limit of changes); a farmer's registration adds a few hundred bytes at most."""
    if db.execute("SELECT 1 FROM sessions WHERE id = ?", [ticket.session_id]).fetchone():
        return True
    count, used = held_usage(db, ticket.qr_device.id)
    return count + 1 <= limits.changes and used + 2048 <= limits.bytes


def _push(
    db: Database, device: Device, changes: list[dict[str, Any]], limits: HeldLimits | None
) -> dict[str, Any]:
    """The changes applied as a push of the QR's device, numbered after its last change."""
    for attempt in range(NUMBERING_TRIES):
        last = db.execute(
            "SELECT coalesce(max(last_seq), 0) FROM device_change_runs WHERE device_id = ?",
            [device.id],
        ).fetchone()[0]
        numbered = [{"q": int(last) + 1 + n, **change} for n, change in enumerate(changes)]
        try:
            return apply_push(db, device, numbered, limits)
        except integrity_errors():
            # Another request of this QR took the numbers meanwhile: number again.
            if attempt == NUMBERING_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def remember_phone(db: Database, phone_hash: str, farmer_id: str) -> None:
    with write_transaction(db):
        db.execute(
            "INSERT OR IGNORE INTO qr_phones (phone_hash, farmer_id, first_at) VALUES (?, ?, ?)",
            [phone_hash, farmer_id, to_iso(utc_now())],
        )
