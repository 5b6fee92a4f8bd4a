"""Enrolling field devices: one-time codes, long random tokens stored hashed, revocation."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlite_utils import Database

from server.db import write_transaction
from shared.clock import parse_iso, to_iso, utc_now
from shared.ids import new_id

# No 0/O, 1/I/L: codes are read aloud over the phone and typed on small keyboards.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Device:
    """An enrolled device as a request authenticates it: whose it is and which townships it serves."""

    id: str
    envoy_id: str
    township_codes: tuple[str, ...]


class UnknownEnvoy(Exception):
    """No envoy has that name or id."""


class BadEnrolmentCode(Exception):
    """The code is unknown, already used or expired."""


class BadToken(Exception):
    """The device token is unknown or revoked."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_enrolment_code(db: Database, envoy_id: str, minutes: int) -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    now = utc_now()
    db["enrolment_codes"].insert(
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
    device_id = new_id()
    with write_transaction(db):
        rows = list(
            db.query(
                "SELECT * FROM enrolment_codes WHERE code_hash = ?", [digest(normalise_code(code))]
            )
        )
        if not rows or rows[0]["used_at"] or parse_iso(rows[0]["expires_at"]) < utc_now():
            raise BadEnrolmentCode(code)
        now = to_iso(utc_now())
        db.execute(
            "UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ?",
            [now, rows[0]["code_hash"]],
        )
        db["devices"].insert(
            {
                "id": device_id,
                "envoy_id": rows[0]["envoy_id"],
                "name": device_name,
                "token_hash": digest(token),
                "enrolled_at": now,
                "max_seq": 0,
            }
        )
    envoy = envoy_by_id(db, rows[0]["envoy_id"])
    return {"device_id": device_id, "token": token, "envoy": envoy}


def authenticate(db: Database, token: str) -> Device:
    rows = list(
        db.query(
            "SELECT d.id, d.envoy_id, d.revoked_at, e.township_codes FROM devices d "
            "JOIN envoys e ON e.id = d.envoy_id WHERE d.token_hash = ?",
            [digest(token)],
        )
    )
    if not rows or rows[0]["revoked_at"]:
        raise BadToken()
    row = rows[0]
    return Device(row["id"], row["envoy_id"], tuple(json.loads(row["township_codes"] or "[]")))


def record_contact(db: Database, device_id: str, skew_ms: int | None, protocol: int) -> None:
    db.execute(
        "UPDATE devices SET last_seen_at = ?, skew_ms = coalesce(?, skew_ms), protocol = ? WHERE id = ?",
        [to_iso(utc_now()), skew_ms, protocol, device_id],
    )
    db.conn.commit()


def revoke(db: Database, device_id: str) -> bool:
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            [to_iso(utc_now()), device_id],
        )
    return cursor.rowcount == 1


def list_devices(db: Database) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT d.id, e.name AS envoy, d.name, d.enrolled_at, d.last_seen_at, d.skew_ms, "
            "d.max_seq, d.revoked_at FROM devices d JOIN envoys e ON e.id = d.envoy_id "
            "ORDER BY e.name, d.enrolled_at"
        )
    )


def envoy_by_id(db: Database, envoy_id: str) -> dict[str, Any]:
    rows = list(db.query("SELECT id, name, township_codes FROM envoys WHERE id = ?", [envoy_id]))
    if not rows:
        raise UnknownEnvoy(envoy_id)
    return {**rows[0], "township_codes": json.loads(rows[0]["township_codes"] or "[]")}


def envoy_by_name(db: Database, name: str) -> dict[str, Any]:
    rows = list(db.query("SELECT id FROM envoys WHERE name = ?", [name]))
    if not rows:
        raise UnknownEnvoy(name)
    return envoy_by_id(db, rows[0]["id"])
