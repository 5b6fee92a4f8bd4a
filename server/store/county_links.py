"""Which records on a province are a county's read-only copies: those its link forwarded.

A record keeps the device that first wrote it (`device_id`); on a province a county's link
(a `devices` row with a `county_code`) is that device for every record it forwarded, so the
county owning a copy is the link's county and never has to be carried in a column of every
record table. Everything that may edit a record on the province asks here first.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from server.store.records import table_of
from shared.errors import TianjianError


class CountyRecordReadOnly(TianjianError):
    """A record a county forwarded may be changed only by that county (through its link)."""

    status = 403

    def __init__(self, county_code: str) -> None:
        super().__init__(
            f"这条记录属于县 {county_code}，省级副本只读，只能由该县修改后上报 / this record "
            f"belongs to county {county_code}: the province's copy is read-only, only that "
            "county can change it and report it up"
        )
        self.county_code = county_code


class NotACountysRecord(TianjianError):
    """A county's link sent a change to a record made on the province itself."""

    status = 403
    message = (
        "这条记录由省级自己建立，不属于任何县，县级上报不能修改 / this record was made on the "
        "province, not sent up by a county: a county's link cannot change it"
    )


class OutsideCounty(TianjianError):
    """A county's link sent a record whose place is not in that county."""

    status = 403

    def __init__(self, county_code: str, township: str | None) -> None:
        super().__init__(
            f"县 {county_code} 只能上报本县的记录（此记录在 {township or '未知地点'}）/ county "
            f"{county_code} may report only its own records (this one is in "
            f"{township or 'an unknown place'})"
        )


def links(db: Database) -> dict[str, str]:
    """Every county link's device id -> its county code (a handful of rows on a province)."""
    return {
        row[0]: row[1]
        for row in db.execute("SELECT id, county_code FROM devices WHERE county_code IS NOT NULL")
    }


def owning_county(known_links: dict[str, str], state: dict[str, Any] | None) -> str | None:
    """The county whose copy a record is, or None for a record made on this server."""
    if not state:
        return None
    return known_links.get(state.get("device_id") or "")


def check_editable(db: Database, kind: str, record_id: str) -> None:
    """CountyRecordReadOnly if the record is a county's copy: pages and staff commands call
    this before they change a record (the push path checks in server/sync/checks.py)."""
    row = db.execute(
        f"SELECT device_id FROM [{table_of(kind)}] WHERE id = ?", [record_id]
    ).fetchone()
    county = links(db).get(row[0]) if row and row[0] else None
    if county:
        raise CountyRecordReadOnly(county)


def in_county(township: str | None, county_code: str) -> bool:
    """Whether a township code (12 digits) lies in a county (its first 6 digits)."""
    return bool(township) and str(township)[: len(county_code)] == county_code
