"""Enrolling field devices: one-time codes, long random tokens stored hashed, revocation."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from server.accounts import audit
from server.reference.lookups import UnknownEnvoy, envoy_by_id, envoy_by_name
from server.store.db import write_transaction
from server.sync.device import Device
from shared.clock import parse_iso, to_iso, utc_now
from shared.errors import TianjianError
from shared.ids import new_id

if TYPE_CHECKING:
    from server.accounts.users import User

# No 0/O, 1/I/L: codes are read aloud over the phone and typed on small keyboards.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


# An enrolment code is valid from a minute to thirty days.
MAX_CODE_MINUTES = 30 * 24 * 60


class BadEnrolmentCode(TianjianError):
    """The code is unknown, already used or expired."""

    status = 403
    message = (
        "登记码无效、已使用或已过期，请向科技局索取新码 / "
        "enrolment code unknown, used or expired: ask the bureau for a new one"
    )


class BadCodeLifetime(TianjianError):
    """An enrolment code asked to stay valid for no time, or for too long."""

    status = 422

    def __init__(self, minutes: int) -> None:
        super().__init__(
            f"有效时间须为 1 到 {MAX_CODE_MINUTES} 分钟 / minutes must be between 1 and "
            f"{MAX_CODE_MINUTES}, not {minutes}",
            {"minutes": [f"须为 1 到 {MAX_CODE_MINUTES} 分钟 / 1 to {MAX_CODE_MINUTES} minutes"]},
        )


class BadServerUrl(TianjianError):
    """The server address to put in an enrolment QR is not an http(s) address."""

    status = 422

    def __init__(self, url: str) -> None:
        super().__init__(
            f"服务器地址须以 http:// 或 https:// 开头 / server URL must start with http:// or "
            f"https://: {url}",
            {"server_url": ["须以 http:// 或 https:// 开头 / must start with http:// or https://"]},
        )


class BadToken(TianjianError):
    """The device token is unknown or revoked."""

    status = 401
    message = "设备令牌无效或已被撤销 / device token unknown or revoked"


class UnknownDevice(TianjianError):
    """No active device has that id (unknown, or already revoked)."""

    status = 404

    def __init__(self, device_id: str) -> None:
        super().__init__(f"没有这台有效设备 / no active device {device_id}")


@dataclass(frozen=True)
class EnrolmentCode:
    """A one-time code just issued: shown once, stored hashed."""

    code: str
    envoy: dict[str, Any]
    minutes: int
    server_url: str = ""

    def qr_text(self) -> str:
        return enrolment_qr_text(self.server_url, self.code)

    def qr_png(self) -> bytes:
        return enrolment_qr_png(self.server_url, self.code)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_enrolment_code(
    db: Database,
    envoy_name: str,
    townships: Sequence[str] = (),
    minutes: int | None = None,
    server_url: str = "",
) -> EnrolmentCode:
    """A one-time code for one of the envoy's devices, valid `minutes` (default: the setting).

    An envoy not yet loaded is created when `townships` are given, else UnknownEnvoy.
    `server_url` is the address its QR code will carry (checked before anything is written).
    """
    check_server_url(server_url)
    from server.reference.load import ensure_envoy
    from server.settings import defaults_from_environment

    valid = defaults_from_environment()["ENROLMENT_CODE_MINUTES"] if minutes is None else minutes
    if not 1 <= valid <= MAX_CODE_MINUTES:
        raise BadCodeLifetime(valid)
    try:
        envoy = envoy_by_name(db, envoy_name)
    except UnknownEnvoy:
        if not townships:
            raise
        envoy = ensure_envoy(db, envoy_name, list(townships))
    with write_transaction(db):
        code = new_enrolment_code(db, envoy["id"], valid)
    return EnrolmentCode(code, envoy, valid, server_url)


def check_server_url(server_url: str) -> str:
    """The address, if empty or http(s); else BadServerUrl."""
    if server_url and not server_url.startswith(("http://", "https://")):
        raise BadServerUrl(server_url)
    return server_url


def enrolment_qr_text(server_url: str, code: str) -> str:
    """What an enrolment QR says: the server and the code only, no name, no phone number."""
    return f"tianjian-enroll:{check_server_url(server_url)}#{code}"


def enrolment_qr_png(server_url: str, code: str) -> bytes:
    """The enrolment QR as a PNG image, for a file or a page."""
    import qrcode

    out = io.BytesIO()
    qrcode.make(enrolment_qr_text(server_url, code)).save(out)
    return out.getvalue()


def new_enrolment_code(db: Database, envoy_id: str, minutes: int) -> str:
    """Store a new code's hash for the envoy (the caller commits) and return the code."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    now = utc_now()
    db.table("enrolment_codes").insert(
        {
            "code_hash": digest(raw),
            "envoy_id": envoy_id,
            "created_at": to_iso(now),
            "expires_at": to_iso(now + timedelta(minutes=minutes)),
            "used_at": None,
        }
    )
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def enrol_device(db: Database, code: str, device_name: str) -> dict[str, Any]:
    """Trade a one-time code for a device id and token; the token is shown once, kept hashed."""
    token = secrets.token_urlsafe(32)
    checkin = secrets.token_urlsafe(32)
    device_id = new_id()
    with write_transaction(db):
        rows = list(
            db.query(
                "SELECT * FROM enrolment_codes WHERE code_hash = ?", [digest(normalise_code(code))]
            )
        )
        if not rows or rows[0]["used_at"] or parse_iso(rows[0]["expires_at"]) < utc_now():
            raise BadEnrolmentCode()
        now = to_iso(utc_now())
        db.execute(
            "UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ?",
            [now, rows[0]["code_hash"]],
        )
        db.table("devices").insert(
            {
                "id": device_id,
                "envoy_id": rows[0]["envoy_id"],
                "name": device_name,
                "token_hash": digest(token),
                "enrolled_at": now,
                "max_seq": 0,
                "checkin_key": checkin,
            }
        )
    envoy = envoy_by_id(db, rows[0]["envoy_id"])
    return {"device_id": device_id, "token": token, "envoy": envoy, "checkin_key": checkin}


def checkin_key(db: Database, device_id: str) -> str:
    """The key a device signs its check-in posters with; made now for a device enrolled before
    keys were handed out. Kept readable (not hashed): it is sent again to a device that lost
    it, and it opens no sync: it only makes a poster's QR hard to forge."""
    with write_transaction(db):
        row = db.execute("SELECT checkin_key FROM devices WHERE id = ?", [device_id]).fetchone()
        if row and row[0]:
            return str(row[0])
        key = secrets.token_urlsafe(32)
        db.execute("UPDATE devices SET checkin_key = ? WHERE id = ?", [key, device_id])
    return key


def authenticate(db: Database, token: str) -> Device:
    """The active device whose token this is, or BadToken."""
    return authenticate_reading(db, token)[0]


def authenticate_reading(
    db: Database, token: str, columns: str = ""
) -> tuple[Device, tuple[Any, ...]]:
    """The active device whose token this is (or BadToken), and the values of `columns`, more
    SQL read in the same statement from the device's row `d` (a pull's first read rides with
    the token's: one round trip). Read on every request, never cached: a device revoked through
    any app process is refused at once by all."""
    # execute, not query: sqlite_utils wraps a query in a savepoint, two more statements on
    # every request for a read that needs none.
    row = db.execute(
        "SELECT d.id, d.envoy_id, d.revoked_at, d.county_code, e.township_codes"
        f"{', ' + columns if columns else ''} FROM devices d "
        "LEFT JOIN envoys e ON e.id = d.envoy_id WHERE d.token_hash = ?",
        [digest(token)],
    ).fetchone()
    if row is None:
        raise BadToken()
    device_id, envoy_id, revoked_at, county_code, township_codes = row[:5]
    if revoked_at or not (envoy_id or county_code):
        raise BadToken()
    device = Device(
        device_id,
        envoy_id or "",
        tuple(json.loads(township_codes or "[]")),
        county_code=county_code or "",
    )
    return device, tuple(row[5:])


# A device's last contact is written at most this often: written on every request, devices
# polling for news kept the write-ahead log growing (megabytes a second on a busy server) and
# never let it be checkpointed. A pull that brings nothing is read-only in between.
CONTACT_WRITE_SECONDS = 60
_monotonic = time.monotonic
# Device id -> when its contact was last written (monotonic seconds) and with which protocol.
_contact_written: dict[str, tuple[float, int]] = {}
_contact_lock = threading.Lock()


def record_contact(db: Database, device_id: str, skew_ms: int | None, protocol: int) -> bool:
    """Note when a device was last heard from, its clock skew and protocol: at once the first
    time this process hears from it or when its protocol changes, else at most once a minute.
    True when written."""
    now = _monotonic()
    with _contact_lock:
        last = _contact_written.get(device_id)
        if last is not None and now - last[0] < CONTACT_WRITE_SECONDS and last[1] == protocol:
            return False
        _contact_written[device_id] = (now, protocol)
    db.execute(
        "UPDATE devices SET last_seen_at = ?, skew_ms = coalesce(?, skew_ms), protocol = ? WHERE id = ?",
        [to_iso(utc_now()), skew_ms, protocol, device_id],
    )
    db.conn.commit()
    return True


def revoke(db: Database, device_id: str, by: User | str = audit.SYSTEM) -> None:
    """Revoke an active device's token, or raise UnknownDevice; audited as done `by`."""
    now = to_iso(utc_now())
    with write_transaction(db):
        # A county's link (no envoy) is named by its county.
        row = db.execute(
            "SELECT d.name, coalesce(e.name, '县 county ' || d.county_code) FROM devices d "
            "LEFT JOIN envoys e ON e.id = d.envoy_id WHERE d.id = ? AND d.revoked_at IS NULL",
            [device_id],
        ).fetchone()
        if not row:
            raise UnknownDevice(device_id)
        db.execute("UPDATE devices SET revoked_at = ? WHERE id = ?", [now, device_id])
        device = {"device": row[0], "envoy": row[1]}
        audit.record(
            db,
            by,
            audit.DEVICE_REVOKE,
            "device",
            device_id,
            {**device, "revoked_at": None},
            {**device, "revoked_at": now},
        )


def list_devices(db: Database) -> list[dict[str, Any]]:
    """Every enrolled device with its envoy's name (a county's link: its county), last contact
    (UTC ISO) and clock skew (ms)."""
    return list(
        db.query(
            "SELECT d.id, coalesce(e.name, '县 county ' || d.county_code) AS envoy, d.name, "
            "d.enrolled_at, d.last_seen_at, d.skew_ms, d.max_seq, d.revoked_at FROM devices d "
            "LEFT JOIN envoys e ON e.id = d.envoy_id ORDER BY e.name, d.enrolled_at"
        )
    )
