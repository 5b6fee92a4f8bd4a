"""On a province: one-time codes for a county's link, and enrolling the link with one."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlite_utils import Database

from server.store.db import write_transaction
from server.sync.devices import (
    CODE_ALPHABET,
    MAX_CODE_MINUTES,
    BadCodeLifetime,
    digest,
    normalise_code,
)
from shared.clock import parse_iso, to_iso, utc_now
from shared.errors import TianjianError
from shared.ids import new_id

# A county link's code stays valid a week by default: it is sent to the county by letter or
# phone and typed in by whoever runs the county's server.
DEFAULT_CODE_MINUTES = 7 * 24 * 60


class BadUpstreamCode(TianjianError):
    """The county's link code is unknown, used or expired."""

    status = 403
    message = (
        "上报登记码无效、已使用或已过期，请向省级科技厅索取新码 / county link code unknown, "
        "used or expired: ask the province for a new one"
    )


class UnknownCounty(TianjianError):
    """A county link code was asked for a code that is not a county this server knows."""

    status = 422

    def __init__(self, code: str) -> None:
        super().__init__(
            f"没有这个县级单位（须为已导入的 6 位县代码）/ no such county: {code!r} (a 6-digit "
            "county code loaded with the units)",
            {"county_code": ["没有这个县 / no such county"]},
        )


@dataclass(frozen=True)
class LinkCode:
    """A county link code just issued: shown once, stored hashed."""

    code: str
    county_code: str
    county_name: str
    minutes: int


@dataclass(frozen=True)
class EnrolledLink:
    """What a county receives when it enrols: its link's id and token (shown once)."""

    device_id: str
    token: str
    county_code: str


def county_name(db: Database, county_code: str) -> str:
    """The name of a county loaded with the units, or UnknownCounty."""
    if not re.fullmatch(r"\d{6}", county_code or ""):
        raise UnknownCounty(county_code)
    row = db.execute(
        "SELECT name FROM units WHERE code = ? AND level = 'county'", [county_code.ljust(12, "0")]
    ).fetchone()
    if not row:
        raise UnknownCounty(county_code)
    return str(row[0])


def issue_link_code(
    db: Database, county_code: str, minutes: int = DEFAULT_CODE_MINUTES
) -> LinkCode:
    """A one-time code with which that county's server enrols its link to this province."""
    name = county_name(db, county_code)
    if not 1 <= minutes <= MAX_CODE_MINUTES:
        raise BadCodeLifetime(minutes)
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    now = utc_now()
    with write_transaction(db):
        db.execute(
            "INSERT INTO upstream_codes (code_hash, county_code, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            [digest(raw), county_code, to_iso(now), to_iso(now + timedelta(minutes=minutes))],
        )
    return LinkCode(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}", county_code, name, minutes)


def enrol_link(db: Database, code: str, name: str) -> EnrolledLink:
    """Trade a county's one-time code for its link's id and token (kept hashed here)."""
    token = secrets.token_urlsafe(32)
    device_id = new_id()
    with write_transaction(db):
        row = db.execute(
            "SELECT code_hash, county_code, expires_at, used_at FROM upstream_codes "
            "WHERE code_hash = ?",
            [digest(normalise_code(code))],
        ).fetchone()
        if not row or row[3] or parse_iso(row[2]) < utc_now():
            raise BadUpstreamCode()
        now = to_iso(utc_now())
        db.execute("UPDATE upstream_codes SET used_at = ? WHERE code_hash = ?", [now, row[0]])
        db.execute(
            "INSERT INTO devices (id, envoy_id, name, token_hash, enrolled_at, max_seq, "
            "county_code) VALUES (?, NULL, ?, ?, ?, 0, ?)",
            [device_id, name[:100] or row[1], digest(token), now, row[1]],
        )
    return EnrolledLink(device_id, token, row[1])
