"""Field work pushed straight into the sync engine, for tests of the figures built on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from server.store.db import init_db
from server.sync import apply_push, devices
from shared import protocol as p
from shared.clock import CHINA, wall_ms
from shared.ids import new_id
from tests.helpers import (
    LEAFLET_POTATO,
    VARIETY_POTATO,
    VILLAGE_EAST,
    load_demo_reference,
    results_of,
)

# A fixed moment inside 2026 so reports never depend on today's date.
MID_2026 = datetime(2026, 6, 1, tzinfo=CHINA)


def report_db(db_path: str) -> Iterator[Database]:
    """The demo county's reference data (targets of seed 000 included) in a fresh database."""
    load_demo_reference(db_path)
    database = init_db(db_path)
    yield database
    database.close()


class Envoy:
    """An envoy's enrolled device, pushing changes straight into the sync engine."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        envoy = devices.envoy_by_name(db, name)
        self.envoy_id = envoy["id"]
        code = devices.new_enrolment_code(db, envoy["id"], 60)
        db.conn.commit()
        token = devices.enrol_device(db, code, f"{name}的手机")["token"]
        self.device = devices.authenticate(db, token)
        self.seq = 0
        self.counter = 0

    def stamp(self) -> str:
        self.counter += 1
        return f"{wall_ms():013d}.{self.counter:05d}"

    def push(
        self,
        kind: str,
        fields: dict[str, Any],
        record_id: str | None = None,
        base: str | None = None,
    ) -> dict[str, Any]:
        self.seq += 1
        change: dict[str, Any] = {
            "q": self.seq,
            "k": kind,
            "h": self.stamp(),
            "b": base,
            "f": fields,
        }
        if record_id:
            change["i"] = record_id
        [result] = results_of(apply_push(self.db, self.device, [change]))
        assert result["s"] in (p.APPLIED, p.MERGED), result
        return result

    def update(self, kind: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        table = p.TABLES[kind]
        base = self.db.execute(f"SELECT hlc FROM [{table}] WHERE id = ?", [record_id]).fetchone()[0]
        return self.push(kind, fields, record_id, base)

    def session(
        self,
        kind: str = "village_training",
        unit_code: str = VILLAGE_EAST,
        starts_at: str = "2026-05-10T02:00:00Z",
        technology_ids: list[str] | None = None,
        reported_headcount: int | None = None,
    ) -> str:
        session_id = new_id()
        fields: dict[str, Any] = {
            "kind": kind,
            "title": "马铃薯晚疫病防治培训",
            "unit_code": unit_code,
            "starts_at": starts_at,
            "lead_envoy_id": self.envoy_id,
            "technology_ids": technology_ids or [],
        }
        if reported_headcount is not None:
            fields["reported_headcount"] = reported_headcount
        self.push(p.SESSION, fields, session_id)
        return session_id

    def farmer(
        self, name: str = "赵大", village_code: str = VILLAGE_EAST, mobile: str | None = None
    ) -> str:
        farmer_id = new_id()
        fields: dict[str, Any] = {"name": name, "village_code": village_code}
        if mobile:
            fields["mobile"] = mobile
        self.push(p.FARMER, fields, farmer_id)
        return farmer_id

    def checkin(self, session_id: str, farmer_id: str) -> dict[str, Any]:
        return self.push(
            p.ATTENDANCE,
            {
                "session_id": session_id,
                "farmer_id": farmer_id,
                "checked_in_at": "2026-05-10T02:15:00Z",
                "method": "qr_self",
            },
        )

    def handout(
        self,
        copies: int,
        unit_code: str | None = VILLAGE_EAST,
        session_id: str | None = None,
        at: str = "2026-05-10T03:00:00Z",
        correction_of: str | None = None,
    ) -> str:
        handout_id = new_id()
        fields: dict[str, Any] = {
            "leaflet_title_id": LEAFLET_POTATO,
            "copies": copies,
            "handed_out_at": at,
        }
        if unit_code:
            fields["unit_code"] = unit_code
        if session_id:
            fields["session_id"] = session_id
        if correction_of:
            fields["correction_of"] = correction_of
        self.push(p.LEAFLET_HANDOUT, fields, handout_id)
        return handout_id

    def receipt(self, copies: int, on: str = "2026-04-01", correction_of: str | None = None) -> str:
        receipt_id = new_id()
        fields: dict[str, Any] = {
            "leaflet_title_id": LEAFLET_POTATO,
            "copies": copies,
            "received_on": on,
        }
        if correction_of:
            fields["correction_of"] = correction_of
        self.push(p.LEAFLET_RECEIPT, fields, receipt_id)
        return receipt_id

    def plot(
        self,
        area_mu: float = 10.0,
        variety_id: str | None = VARIETY_POTATO,
        technology_ids: list[str] | None = None,
        village_code: str = VILLAGE_EAST,
        established_on: str = "2026-03-20",
    ) -> str:
        plot_id = new_id()
        fields: dict[str, Any] = {
            "village_code": village_code,
            "host_name": "李大户",
            "crop": "马铃薯",
            "area_mu": area_mu,
            "established_on": established_on,
            "technology_ids": technology_ids or [],
        }
        if variety_id:
            fields["variety_id"] = variety_id
        self.push(p.PLOT, fields, plot_id)
        return plot_id
