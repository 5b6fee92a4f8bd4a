"""The report a device sends with every sync request: stored per device (only when it changes,
so a no-op pull stays read-only), listed with silent devices, and refused when malformed."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.figures.counted import Scope
from server.quality.reconciliation import silent_devices
from server.store.db import init_db
from shared import protocol as p
from shared.ids import new_id
from tests.server.fieldwork import MID_2026
from tests.server.sync.test_contact import Watcher
from tests.server.test_api import PULL, PUSH, Device, farmer_fields
from tests.server.test_bad_input import assert_refused, stored


@pytest.fixture
def zhang(client: FlaskClient, db_path: str) -> Device:
    return Device(client, db_path, "张三")


@pytest.fixture
def quiet_client(app: Flask) -> FlaskClient:
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    return app.test_client()


def device_row(db_path: str, device_id: str) -> tuple[int | None, str | None, str | None]:
    conn = init_db(db_path)
    try:
        return conn.execute(
            "SELECT outbox_waiting, device_report, reported_at FROM devices WHERE id = ?",
            [device_id],
        ).fetchone()
    finally:
        conn.close()


def test_a_pull_stores_the_report_and_the_same_report_again_writes_nothing(
    client: FlaskClient, zhang: Device, db_path: str
) -> None:
    report = "c=0,farmer=3/2/2,attendance=10/4/3/1/1"
    headers = {**zhang.headers, p.HEADER_DEVICE_REPORT: report}
    assert client.get(PULL, headers=headers).status_code == 200
    waiting, stored_report, reported_at = device_row(db_path, zhang.id)
    assert waiting == 6
    assert reported_at
    assert json.loads(stored_report or "") == {
        "cursor": 0,
        "kinds": {
            "farmer": {"live": 3, "waiting": 2, "new": 2, "gone": 0, "refused": 0},
            "attendance": {"live": 10, "waiting": 4, "new": 3, "gone": 1, "refused": 1},
        },
    }
    watching = Watcher(db_path)
    try:
        # Within the minute of the last contact, the same report: nothing is written.
        assert client.get(PULL, headers=headers).status_code == 200
        assert not watching.written()
        # A new report is written at once.
        changed = {**zhang.headers, p.HEADER_DEVICE_REPORT: "c=0,farmer=3"}
        assert client.get(PULL, headers=changed).status_code == 200
        assert watching.written()
    finally:
        watching.close()
    assert device_row(db_path, zhang.id)[0] == 0


def test_a_push_keeps_its_report_once_applied_and_silent_devices_show_it(
    client: FlaskClient, zhang: Device, db_path: str
) -> None:
    farmer = zhang.change(p.FARMER, farmer_fields(), new_id())
    headers = {**zhang.headers, p.HEADER_DEVICE_REPORT: "c=0,farmer=1,session=2/7/7"}
    response = client.post(PUSH, json={"changes": [farmer]}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert device_row(db_path, zhang.id)[0] == 7
    db = init_db(db_path)
    try:
        db.execute("UPDATE devices SET last_seen_at = '2026-05-01T00:00:00Z'")
        db.conn.commit()
        [line] = silent_devices(db, Scope(2026), MID_2026, 14)
    finally:
        db.close()
    assert (line.device_id, line.waiting) == (zhang.id, 7)
    assert line.reported_at is not None


def test_a_device_that_never_reported_shows_no_waiting(
    client: FlaskClient, zhang: Device, db_path: str
) -> None:
    assert client.get(PULL, headers=zhang.headers).status_code == 200
    assert device_row(db_path, zhang.id) == (None, None, None)
    db = init_db(db_path)
    try:
        db.execute("UPDATE devices SET last_seen_at = '2026-05-01T00:00:00Z'")
        db.conn.commit()
        [line] = silent_devices(db, Scope(2026), MID_2026, 14)
    finally:
        db.close()
    assert (line.waiting, line.reported_at) == (None, None)


BAD_REPORTS = [
    "farmer=1",  # no cursor
    "c=1,farmer=1,farmer=2",
    "c=1,unit=3",  # reference data is not reported
    "c=1,farmer=1/2/3/4/5/6",
    "c=1,farmer=-1",
    "c=1,farmer=1.5",
    "c=1,farmer=2000000000",
    "c=１",
    "c=1;farmer=1",
    "c=1,farmer",
    "c=1/2",
    "c=1," + ",".join(f"farmer{n}=1" for n in range(60)),
]


@pytest.mark.parametrize("value", BAD_REPORTS)
def test_a_bad_report_header_is_a_400_naming_it_and_nothing_is_written(
    quiet_client: FlaskClient, zhang: Device, db_path: str, value: str
) -> None:
    before = stored(db_path)
    farmer = zhang.change(p.FARMER, farmer_fields(), new_id())
    headers = {**zhang.headers, p.HEADER_DEVICE_REPORT: value}
    push = quiet_client.post(PUSH, json={"changes": [farmer]}, headers=headers)
    body = assert_refused(push, 400, naming=p.HEADER_DEVICE_REPORT)
    assert p.HEADER_DEVICE_REPORT in body["errors"]
    assert stored(db_path) == before
    assert_refused(quiet_client.get(PULL, headers=headers), 400, naming=p.HEADER_DEVICE_REPORT)
    assert device_row(db_path, zhang.id) == (None, None, None)


def test_reports_are_written_per_device(client: FlaskClient, db_path: str) -> None:
    zhang, wang = Device(client, db_path, "张三"), Device(client, db_path, "王五")
    for device, report in ((zhang, "c=0,plot=1/1/1"), (wang, "c=0,plot=1/1/1")):
        headers = {**device.headers, p.HEADER_DEVICE_REPORT: report}
        assert client.get(PULL, headers=headers).status_code == 200
    assert device_row(db_path, zhang.id)[0] == device_row(db_path, wang.id)[0] == 1
