"""The monthly profile: what share of the year's work should be done by the end of each month.

Admins set one per year, for every indicator or for one; without one the work is expected
evenly through the year, day by day.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema
from sqlite_utils import Database

from server.accounts import audit
from server.plan.targets import InvalidTarget, _field_errors, _indicator
from server.store.db import write_transaction
from shared.clock import CHINA, to_iso, utc_now
from shared.indicators import INDICATOR_KEYS

if TYPE_CHECKING:
    from server.accounts.users import User

# How the audit log names a year without a profile of its own.
EVEN = "even"


def even_profile(year: int) -> list[float]:
    """Share of the year passed at the end of each month, day by day (the default profile)."""
    start = datetime(year, 1, 1, tzinfo=CHINA)
    length = (datetime(year + 1, 1, 1, tzinfo=CHINA) - start).days
    shares = []
    for month in range(1, 13):
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=CHINA)
        shares.append(round((end - start).days / length, 6))
    return shares


class ProfileSchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(2000, 2200))
    indicator = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(INDICATOR_KEYS, error="未知的指标 / unknown indicator"),
    )
    shares = fields.List(
        fields.Float(validate=validate.Range(0, 100)),
        required=True,
        validate=validate.Length(equal=12, error="应有 12 个月的数值 / give 12 monthly shares"),
    )

    @pre_load
    def _label(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and data.get("indicator"):
            data = {**data, "indicator": _indicator(data["indicator"])}
        return data

    @validates_schema
    def _cumulative(self, data: dict[str, Any], **_: Any) -> None:
        shares = data["shares"]
        # Percent or fraction; what matters is the shape.
        if any(b < a for a, b in zip(shares, shares[1:], strict=False)):
            raise ValidationError(
                "各月累计比例应逐月不减 / shares must not fall from month to month", "shares"
            )
        if shares[-1] <= 0:
            raise ValidationError(
                "12 月的累计比例应为全年 / December must hold the whole year", "shares"
            )


def set_profile(
    db: Database,
    year: int,
    shares: list[float],
    indicator: str | None = None,
    by: User | str = audit.SYSTEM,
) -> list[float]:
    """Set the cumulative share expected by each month's end (in % or fractions; scaled so
    December is the whole year), for every indicator or one. Returns the stored fractions."""
    try:
        loaded = ProfileSchema().load({"year": year, "shares": shares, "indicator": indicator})
    except ValidationError as exc:
        raise InvalidTarget(
            "月度进度比例有误 / invalid monthly profile", _field_errors(exc)
        ) from exc
    last = loaded["shares"][-1]
    fractions = [round(share / last, 6) for share in loaded["shares"]]
    with write_transaction(db):
        before = _stored_shares(db, year, loaded["indicator"])
        db.execute(
            "INSERT INTO target_profiles (year, indicator, shares, set_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (year, indicator) DO UPDATE SET shares = excluded.shares, "
            "set_at = excluded.set_at",
            [year, loaded["indicator"] or "", json.dumps(fractions), to_iso(utc_now())],
        )
        _audit(db, by, year, loaded["indicator"], before, fractions)
    return fractions


def clear_profile(
    db: Database, year: int, indicator: str | None = None, by: User | str = audit.SYSTEM
) -> None:
    """Back to even through the year (audited only when there was a profile to clear)."""
    with write_transaction(db):
        before = _stored_shares(db, year, indicator)
        db.execute(
            "DELETE FROM target_profiles WHERE year = ? AND indicator = ?", [year, indicator or ""]
        )
        if before != EVEN:
            _audit(db, by, year, indicator, before, EVEN)


def _stored_shares(db: Database, year: int, indicator: str | None) -> list[float] | str:
    row = db.execute(
        "SELECT shares FROM target_profiles WHERE year = ? AND indicator = ?",
        [year, indicator or ""],
    ).fetchone()
    return json.loads(row[0]) if row else EVEN


def _audit(
    db: Database,
    by: User | str,
    year: int,
    indicator: str | None,
    before: list[float] | str,
    after: list[float] | str,
) -> None:
    key = f"{year}:{indicator}" if indicator else str(year)
    audit.record(
        db, by, audit.TARGET_PROFILE, "target_profile", key, {"shares": before}, {"shares": after}
    )


def profiles_for(db: Database, year: int) -> dict[str, list[float]]:
    """Each indicator's profile for a year: its own, else the year's, else even through the year."""
    stored = {
        row[0]: json.loads(row[1])
        for row in db.execute(
            "SELECT indicator, shares FROM target_profiles WHERE year = ?", [year]
        )
    }
    default = stored.get("", even_profile(year))
    return {key: stored.get(key, default) for key in INDICATOR_KEYS}


def expected_share(profile: list[float], year: int, now: datetime) -> float:
    """The share of the year's work the profile expects by `now` (linear within a month)."""
    local = now.astimezone(CHINA)
    if local.year < year:
        return 0.0
    if local.year > year:
        return 1.0
    month = local.month
    start = datetime(year, month, 1, tzinfo=CHINA)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=CHINA)
    before = profile[month - 2] if month > 1 else 0.0
    within = (local - start) / (end - start)
    return round(before + (profile[month - 1] - before) * within, 6)
