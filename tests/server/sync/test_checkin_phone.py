"""A check-in's `phone` (the hash of the phone that made it): stored by both push paths,
refused when it is anything but a hash, and invisible to devices and pushes that predate it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.store.db import init_db
from server.store.records import expand_stamps, stamp_names
from server.sync import devices
from shared import protocol as p
from shared.clock import wall_ms
from shared.ids import attendance_id, new_id
from shared.merge import STAMPS
from tests.helpers import VILLAGE_EAST

PHONE = "0f1e2d3c4b5a6978"
# What a device of protocol 1 said it understood before check-ins carried phones.
OLD_CAPABILITIES = "gzip,held,aliases,renumber"


def test_stamp_masks_stored_before_the_phone_keep_their_meaning() -> None:
    """`phone` takes the bit after `deleted`: a mask stored before it existed means the same."""
    assert stamp_names(p.ATTENDANCE) == {
        "session_id": 1,
        "farmer_id": 2,
        "checked_in_at": 4,
        "method": 8,
        "seen_by": 16,
        "deleted": 32,
        "phone": 64,
        "net": 128,
        "typed_code": 256,
    }
    hlc = "1795316892918.00000.dev"
    old = expand_stamps(p.ATTENDANCE, "*3f", "dev", hlc)  # every field and the tombstone
    assert set(old) == {"session_id", "farmer_id", "checked_in_at", "method", "seen_by", "deleted"}


class Device:
    """An enrolled device talking to the app over its HTTP interface, as old or new."""

    def __init__(self, client: FlaskClient, db_path: str, capabilities: str) -> None:
        db = init_db(db_path)
        try:
            envoy = devices.envoy_by_name(db, "张三")
            code = devices.new_enrolment_code(db, envoy["id"], 60)
            db.conn.commit()
            self.token = devices.enrol_device(db, code, "phone")["token"]
        finally:
            db.close()
        self.envoy_id = envoy["id"]
        self.client = client
        self.capabilities = capabilities
        self.seq = 0

    def headers(self) -> dict[str, str]:
        return {
            p.HEADER_PROTOCOL: "1",
            p.HEADER_CAPABILITIES: self.capabilities,
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

    def pulled_attendances(self) -> dict[str, dict[str, Any]]:
        response = self.client.get("/api/v1/sync/pull?cursor=0", headers=self.headers())
        assert response.status_code == 200
        return {
            item["r"]["id"]: item["r"]
            for item in response.get_json()["records"]
            if item["k"] == p.ATTENDANCE
        }


def checkin(session_id: str, farmer_id: str, phone: str | None = None) -> dict[str, Any]:
    fields = {
        "session_id": session_id,
        "farmer_id": farmer_id,
        "checked_in_at": "2026-05-10T02:15:00Z",
        "method": "qr_self",
    }
    if phone is not None:
        fields["phone"] = phone
    return fields


def session_and_farmers(device: Device, count: int) -> tuple[str, list[str]]:
    session_id, farmers = new_id(), [new_id() for _ in range(count)]
    session = {
        "kind": "village_training",
        "title": "马铃薯晚疫病防治培训",
        "unit_code": VILLAGE_EAST,
        "starts_at": "2026-05-10T02:00:00Z",
        "lead_envoy_id": device.envoy_id,
    }
    answers = device.push(
        (p.SESSION, session_id, session),
        *(
            (p.FARMER, f, {"name": f"农户{n}", "village_code": VILLAGE_EAST})
            for n, f in enumerate(farmers)
        ),
    )
    assert {a["s"] for a in answers} == {p.APPLIED}
    return session_id, farmers


def stored_phones(db_path: str) -> dict[str, str | None]:
    db = init_db(db_path)
    try:
        return dict(db.execute("SELECT farmer_id, phone FROM attendances").fetchall())
    finally:
        db.close()


def test_an_old_shape_push_still_works_and_old_devices_are_never_sent_the_phone(
    app: Flask, db_path: str
) -> None:
    """A device that predates the field pushes check-ins of four fields and announces no
    "phone" capability: accepted as before; pulling, it never meets a field its schema would
    refuse. A new device's phone is stored, and sent to new devices only."""
    client = app.test_client()
    old, new = Device(client, db_path, OLD_CAPABILITIES), Device(client, db_path, "")
    new.capabilities = ",".join(p.CAPABILITIES)
    session_id, farmers = session_and_farmers(old, 3)
    # The old shape exactly: no phone, no id (derived), no base. Bulk path, then general path.
    assert old.push((p.ATTENDANCE, None, checkin(session_id, farmers[0])))[0]["s"] == p.APPLIED
    derived = attendance_id(session_id, farmers[1])
    assert old.push((p.ATTENDANCE, derived, checkin(session_id, farmers[1])))[0]["s"] == p.APPLIED
    assert new.push((p.ATTENDANCE, None, checkin(session_id, farmers[2], PHONE)))[0]["s"] == (
        p.APPLIED
    )
    assert stored_phones(db_path) == {farmers[0]: None, farmers[1]: None, farmers[2]: PHONE}

    # A second device of each kind pulls (a device does not pull back its own creates).
    old_view = Device(client, db_path, OLD_CAPABILITIES).pulled_attendances()
    new_view = Device(client, db_path, ",".join(p.CAPABILITIES)).pulled_attendances()
    assert len(old_view) == len(new_view) == 3
    for record in old_view.values():
        assert "phone" not in record and "phone" not in record[STAMPS]
    with_phone = new_view[attendance_id(session_id, farmers[2])]
    assert with_phone["phone"] == PHONE and "phone" in with_phone[STAMPS]
    # Check-ins without one do not carry an empty field down (bytes on every check-in).
    assert "phone" not in new_view[attendance_id(session_id, farmers[0])]

    # The old device edits the check-in that has a phone (a tombstone): accepted, phone kept.
    record_id = attendance_id(session_id, farmers[2])
    base = old_view[record_id]["hlc"]
    old.seq += 1
    response = client.post(
        "/api/v1/sync/push",
        json={
            "changes": [
                {
                    "q": old.seq,
                    "k": p.ATTENDANCE,
                    "i": record_id,
                    "h": f"{wall_ms():013d}.00099",
                    "b": base,
                    "f": {"deleted": True},
                }
            ]
        },
        headers=old.headers(),
    )
    assert response.status_code == 200
    assert stored_phones(db_path)[farmers[2]] == PHONE


@pytest.mark.parametrize(
    "bad", ["13800138000", "+8613800138000", "138-0013-8000", "0F1E2D3C4B5A6978", PHONE + "0", ""]
)
def test_a_phone_that_is_not_a_hash_is_refused_naming_the_field(
    app: Flask, db_path: str, bad: str
) -> None:
    """Never a phone number: only 16 lowercase hex digits are taken; anything else rejects the
    change (on both paths), naming `phone`, and nothing is stored."""
    client = app.test_client()
    device = Device(client, db_path, ",".join(p.CAPABILITIES))
    session_id, [farmer] = session_and_farmers(device, 1)
    for record_id in (None, attendance_id(session_id, farmer)):
        [answer] = device.push((p.ATTENDANCE, record_id, checkin(session_id, farmer, bad)))
        assert answer["s"] == p.REJECTED
        assert "phone" in answer["e"], answer
        assert "手机号" in json.dumps(answer["e"], ensure_ascii=False)
    assert stored_phones(db_path) == {}


def test_net_and_typed_code_are_stored_and_sent_only_to_devices_that_take_them(
    app: Flask, db_path: str
) -> None:
    client = app.test_client()
    new = Device(client, db_path, ",".join(p.CAPABILITIES))
    session_id, farmers = session_and_farmers(new, 1)
    fields = {**checkin(session_id, farmers[0], PHONE), "net": "a1b2c3d4e5f60718"}
    fields["typed_code"] = True
    assert new.push((p.ATTENDANCE, None, fields))[0]["s"] == p.APPLIED
    # An address is never stored as itself: the schema takes only the 16-hex-digit hash.
    refused = new.push(
        (p.ATTENDANCE, None, {**checkin(session_id, farmers[0]), "net": "192.168.137.23"})
    )
    assert refused[0]["s"] == p.REJECTED
    record_id = attendance_id(session_id, farmers[0])
    phone_only = Device(client, db_path, "gzip,held,aliases,renumber,reviews,phone")
    seen = phone_only.pulled_attendances()[record_id]
    assert seen["phone"] == PHONE and "net" not in seen and "typed_code" not in seen
    assert not {"net", "typed_code"} & set(seen[STAMPS])
    full = Device(client, db_path, ",".join(p.CAPABILITIES)).pulled_attendances()[record_id]
    assert (full["net"], full["typed_code"]) == ("a1b2c3d4e5f60718", True)
