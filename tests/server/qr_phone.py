"""A phone-app device for the server's tests of the QR it shows: enrolled, pushing over the API,
and the QR's path signed with its check-in key as session_qr.js signs it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from server.store.db import init_db
from server.sync import devices
from shared import protocol as p
from shared.checkin_tokens import phone_token
from shared.clock import parse_iso, to_iso, wall_ms
from shared.ids import new_id
from tests.helpers import VILLAGE_EAST


class Phone:
    """An enrolled device talking to the app over its HTTP interface."""

    def __init__(self, client: FlaskClient, db_path: str, envoy: str = "张三") -> None:
        db = init_db(db_path)
        try:
            found = devices.envoy_by_name(db, envoy)
            code = devices.new_enrolment_code(db, found["id"], 60)
            db.conn.commit()
            enrolled = devices.enrol_device(db, code, "phone")
        finally:
            db.close()
        self.token, self.key = enrolled["token"], enrolled["checkin_key"]
        self.device_id, self.envoy_id = enrolled["device_id"], found["id"]
        self.client = client
        self.seq = 0

    def headers(self) -> dict[str, str]:
        return {
            p.HEADER_PROTOCOL: "1",
            p.HEADER_CAPABILITIES: "gzip,held,aliases,renumber,phone,checkin_net",
            "Authorization": f"Bearer {self.token}",
        }

    def push(self, *changes: tuple[str, str | None, dict[str, Any]]) -> list[dict[str, Any]]:
        body = []
        for kind, record_id, fields in changes:
            self.seq += 1
            change: dict[str, Any] = {
                "q": self.seq,
                "k": kind,
                "h": f"{wall_ms():013d}.{self.seq:05d}",
                "f": fields,
            }
            if record_id:
                change["i"] = record_id
            body.append(change)
        response = self.client.post(
            "/api/v1/sync/push", json={"changes": body}, headers=self.headers()
        )
        assert response.status_code == 200, response.get_json()
        answer = response.get_json()
        applied = [{"q": q, "s": p.APPLIED} for a, b in answer["applied"] for q in range(a, b + 1)]
        return sorted(applied + answer["answers"], key=lambda item: item["q"])

    def pull(self) -> list[dict[str, Any]]:
        response = self.client.get("/api/v1/sync/pull?cursor=0", headers=self.headers())
        assert response.status_code == 200
        return list(response.get_json()["records"])

    def qr_path(self, session: dict[str, Any], margin: int = 60, key: str | None = None) -> str:
        """The path of the QR the app shows for this session (as session_qr.js builds it)."""
        starts = int(parse_iso(session["starts_at"]).timestamp())
        ends = int(parse_iso(session["ends_at"]).timestamp()) if session.get("ends_at") else 0
        token = phone_token((key or self.key).encode(), session["id"], starts, ends or None, margin)
        return f"/f/{self.device_id}/{session['id']}/{starts}/{ends}/{margin}/{token}"


def session_now(envoy_id: str, now: datetime | None = None, hours: float = 0) -> dict[str, Any]:
    """A session (not yet pushed) starting `hours` from now, with its id."""
    moment = (now or datetime.now(UTC)) + timedelta(hours=hours)
    return {
        "id": new_id(),
        "kind": "village_training",
        "title": "马铃薯晚疫病防治培训",
        "unit_code": VILLAGE_EAST,
        "starts_at": to_iso(moment.replace(microsecond=0)),
        "lead_envoy_id": envoy_id,
    }


def push_session(phone: Phone, session: dict[str, Any]) -> list[dict[str, Any]]:
    fields = {k: v for k, v in session.items() if k != "id"}
    return phone.push((p.SESSION, session["id"], fields))


def colour(page: str) -> str:
    found = re.search(r'data-answer="(\w+)"', page)
    return found.group(1) if found else ""


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page's forms carry a CSRF token"
    return found.group(1)
