"""A bureau user's level and area: the province, city or county whose rows they see.

A user with none sees the whole server (as before levels existed). The level says how much of
a unit code the area covers (province: 2 digits, city: 4, county: 6); what lies in an area is
said here (`in_area`, `AreaRows`), and who may see which rows is applied in one place,
server/api/scope.py. Envoy users see their own rows and have no area.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlite_utils import Database

from server.accounts import audit
from server.accounts.users import ENVOY, BadUser, UnknownUser, User
from server.store.db import write_transaction
from shared.choices import AREA_LEVELS

# How many leading digits of a 12-digit unit code a level's area covers.
AREA_PREFIX = {"province": 2, "city": 4, "county": 6}


def area_prefix(user: User | None) -> str | None:
    """The unit-code prefix of the rows this user may see; None: every row."""
    if user is None or not user.level or not user.area:
        return None
    return user.area[: AREA_PREFIX[user.level]]


def in_area(area: str, code: str | None) -> bool:
    """Whether a unit code (2 to 12 digits) lies in an area's prefix ("" holds every code)."""
    return not area or (code or "").ljust(12, "0").startswith(area)


def serves(area: str, township_codes: Iterable[str]) -> bool:
    """Whether an envoy serving these townships serves the area (every envoy serves "")."""
    return not area or any(in_area(area, code) for code in township_codes)


def envoys_in_area(db: Database, area: str, envoy_ids: set[str]) -> bool:
    """Whether one of these envoys serves a township in the area (a record's owners, for one
    record or photo; server/api/scope.py holds the policy)."""
    if not area:
        return True
    ids = sorted(envoy_id for envoy_id in envoy_ids if envoy_id)
    if not ids:
        return False
    marks = ",".join("?" * len(ids))
    rows = db.execute(
        f'SELECT "township_codes" FROM "envoys" WHERE "id" IN ({marks})', ids
    ).fetchall()
    return any(serves(area, json.loads(row[0] or "[]")) for row in rows)


@dataclass(frozen=True)
class AreaRows:
    """What lies in one area, loaded once for a staff list or one check: the unit-code prefix
    ("" holds everything), the envoys serving a township in it, and the devices in it (those of
    its envoys, and a county's link whose county lies in it)."""

    prefix: str
    envoys: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()

    def holds(self, place: str | None, envoy_id: str | None = None) -> bool:
        """A thing with a place (a farmer's village) by that place; one with none by its envoy."""
        if not self.prefix:
            return True
        if place:
            return in_area(self.prefix, place)
        return bool(envoy_id) and envoy_id in self.envoys

    def holds_farmers(self, *farmers: tuple[str | None, str | None]) -> bool:
        """Farmers given as (village, registering envoy) all in the area: a candidate pair or a
        merge is the area's only when each farmer it touches is."""
        return all(self.holds(village, envoy_id) for village, envoy_id in farmers)

    def holds_device(self, device_id: str | None) -> bool:
        """A device, and what it sent (held changes, losing edits), by the device's owner."""
        return not self.prefix or (bool(device_id) and device_id in self.devices)


def rows_in(db: Database, area: str) -> AreaRows:
    """What lies in the area with this unit-code prefix ("" for the whole server)."""
    if not area:
        return AreaRows("")
    envoys = frozenset(
        str(row[0])
        for row in db.execute('SELECT "id", "township_codes" FROM "envoys"').fetchall()
        if serves(area, json.loads(row[1] or "[]"))
    )
    devices = frozenset(
        str(row[0])
        for row in db.execute('SELECT "id", "envoy_id", "county_code" FROM "devices"').fetchall()
        if (row[2] and in_area(area, row[2])) or (row[1] and row[1] in envoys)
    )
    return AreaRows(area, envoys, devices)


def users_in(db: Database, rows: AreaRows) -> list[str]:
    """The names of the users an area holds: bureau users whose own area lies in it, envoy users
    whose envoy serves a township in it (what they did is the area's, on the audit log)."""
    found = db.execute('SELECT "name", "role", "area", "envoy_id" FROM "users"').fetchall()
    return sorted(
        str(row[0])
        for row in found
        if (row[1] == ENVOY and row[3] in rows.envoys)
        or (row[1] != ENVOY and row[2] and in_area(rows.prefix, row[2]))
    )


def _bad(field: str, zh: str, en: str) -> BadUser:
    return BadUser(f"查看范围有误 / invalid area: {zh} / {en}", {field: f"{zh} / {en}"})


def checked_area(db: Database, level: str | None, area: str | None) -> tuple[str | None, str]:
    """The level and the area's 12-digit code, or BadUser naming what is wrong: the area must be
    a unit of that level loaded with the units. No level and no area: the whole server."""
    if not level and not area:
        return None, ""
    if level is None or level not in AREA_LEVELS:
        choices = "、".join(f"{key}（{w.zh}）" for key, w in AREA_LEVELS.items())
        raise _bad("level", f"级别须为 {choices}", "level must be province, city or county")
    text = (area or "").strip()
    if not re.fullmatch(r"\d{2,12}", text):
        raise _bad("area", "请填写区划代码（数字）", "give the area's unit code (digits)")
    code = text.ljust(12, "0")
    row = db.execute('SELECT "level" FROM "units" WHERE "code" = ?', [code]).fetchone()
    if not row:
        raise _bad("area", f"没有这个单位 {text}", f"no such unit {text}")
    if row[0] != level:
        raise _bad(
            "area",
            f"{text} 不是{AREA_LEVELS[level].zh}单位",
            f"{text} is not a {AREA_LEVELS[level].en} unit",
        )
    return level, code


def set_area(
    db: Database,
    user_id: int,
    level: str | None,
    area: str | None,
    by: User | str = audit.SYSTEM,
) -> None:
    """Set the area a bureau user sees (no level and no area: the whole server); audited."""
    level, code = checked_area(db, level, area)
    with write_transaction(db):
        row = db.execute(
            'SELECT "name", "role", "level", "area" FROM "users" WHERE "id" = ?', [user_id]
        ).fetchone()
        if not row:
            raise UnknownUser()
        if row[1] == ENVOY and level:
            raise _bad(
                "level",
                "特派员用户只看自己的数据，不设查看范围",
                "an envoy user sees only their own rows",
            )
        db.execute(
            'UPDATE "users" SET "level" = ?, "area" = ? WHERE "id" = ?',
            [level, code or None, user_id],
        )
        audit.record(
            db,
            by,
            audit.USER_AREA,
            "user",
            user_id,
            {"name": row[0], "level": row[2], "area": row[3]},
            {"name": row[0], "level": level, "area": code or None},
        )
