"""A device whose check-ins carry phones, syncing with a server that may not know the field."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import requests
from flask import Flask

from field_client import local, phones, qr_checkin
from field_client.store import FieldStore
from field_client.sync import SyncClient, enrol
from server.store.db import init_db
from shared import protocol as p
from tests.e2e.wsgi_transport import WsgiAdapter
from tests.helpers import VILLAGE_EAST, enrolment_code

URL = "http://bureau.test"
# What a server of protocol 1 announced before check-ins carried phones.
OLD_CAPABILITIES = "gzip,held,aliases,renumber"


class Bureau(WsgiAdapter):
    """The real app in-process; as an older server, it announces no "phone" and fails the test
    if a change carries one (its schema would refuse the change for an unknown field)."""

    def __init__(self, app: Flask, old: bool) -> None:
        super().__init__(app, lambda request: None)
        self.old = old
        self.requests: list[str] = []
        self.pushed: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append(f"{request.method} {request.path_url.split('?')[0]}")
        if request.path_url.startswith("/api/v1/sync/push"):
            body = request.body if isinstance(request.body, bytes) else b""
            for change in json.loads(gzip.decompress(body))["changes"]:
                self.pushed.append(change)
                assert not (self.old and "phone" in change["f"]), change
        response = super().send(request, **kwargs)
        if self.old:
            response.headers[p.HEADER_CAPABILITIES] = OLD_CAPABILITIES
        return response


def device(
    tmp_path: Path, app: Flask, db_path: str, old: bool
) -> tuple[FieldStore, Bureau, requests.Session]:
    """An enrolled device holding two farmers' check-ins made from one phone, not yet sent."""
    bureau = Bureau(app, old)
    http = requests.Session()
    http.mount(URL, bureau)
    store = FieldStore(str(tmp_path / "field.db"))
    enrol(store, URL, enrolment_code(db_path, "张三"), "field device", session=http)
    local.prepare(store)
    session_id = store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "马铃薯晚疫病防治培训",
            "unit_code": VILLAGE_EAST,
            "starts_at": store.best_now_iso(),
            "lead_envoy_id": store.get("envoy_id"),
        },
    )
    for name, mobile in (("王一", "13900001111"), ("王二", "13900002222")):
        farmer = {"name": name, "mobile": mobile, "village_code": VILLAGE_EAST}
        qr_checkin.self_checkin(store, session_id, "one-phone-cookie", None, farmer)
    return store, bureau, http


def server_phones(db_path: str) -> list[str | None]:
    db = init_db(db_path)
    try:
        return [row[0] for row in db.execute("SELECT phone FROM attendances")]
    finally:
        db.close()


def test_a_server_that_does_not_know_the_field_gets_check_ins_without_it(
    tmp_path: Path, app: Flask, db_path: str
) -> None:
    store, bureau, http = device(tmp_path, app, db_path, old=True)
    assert store.get(phones.SERVER_CAPABILITIES) == OLD_CAPABILITIES  # learnt at enrolment
    report = SyncClient(store, session=http).sync()
    assert report.statuses.get(p.REJECTED, 0) == 0 and store.counts() == {}
    assert [c["k"] for c in bureau.pushed].count(p.ATTENDANCE) == 2
    assert server_phones(db_path) == [None, None]
    # The device keeps its own record of the phone.
    assert all(record.get("phone") for record in store.records(p.ATTENDANCE))
    store.close()


def test_a_device_that_has_not_heard_from_the_server_since_asks_before_sending_phones(
    tmp_path: Path, app: Flask, db_path: str
) -> None:
    store, bureau, http = device(tmp_path, app, db_path, old=False)
    with store.transaction():
        # As a device enrolled before check-ins carried phones: it never heard.
        store.db.execute("DELETE FROM meta WHERE key = ?", [phones.SERVER_CAPABILITIES])
    bureau.requests.clear()
    SyncClient(store, session=http).sync()
    assert bureau.requests[0] == "GET /api/v1/sync/pull"
    assert "POST /api/v1/sync/push" in bureau.requests
    assert phones.server_takes_phone(store.get(phones.SERVER_CAPABILITIES))
    [phone] = {c["f"]["phone"] for c in bureau.pushed if c["k"] == p.ATTENDANCE}
    assert server_phones(db_path) == [phone, phone]
    store.close()


PHONE_ONLY = "gzip,held,aliases,renumber,reviews,phone"


class PhoneOnlyBureau(Bureau):
    """A server of the release before `net`: takes `phone`, would refuse `net`/`typed_code`."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app, old=False)
        self.upgraded = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().send(request, **kwargs)
        if not self.upgraded:
            for change in self.pushed:
                assert "net" not in change["f"] and "typed_code" not in change["f"], change
            response.headers[p.HEADER_CAPABILITIES] = PHONE_ONLY
        return response


def test_net_and_typed_code_go_only_to_a_server_that_announced_them(
    tmp_path: Path, app: Flask, db_path: str
) -> None:
    bureau = PhoneOnlyBureau(app)
    http = requests.Session()
    http.mount(URL, bureau)
    store = FieldStore(str(tmp_path / "field.db"))
    enrol(store, URL, enrolment_code(db_path, "张三"), "field device", session=http)
    local.prepare(store)
    session_id = store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "马铃薯晚疫病防治培训",
            "unit_code": VILLAGE_EAST,
            "starts_at": store.best_now_iso(),
            "lead_envoy_id": store.get("envoy_id"),
        },
    )

    def self_checkin(name: str, mobile: str) -> None:
        farmer = {"name": name, "mobile": mobile, "village_code": VILLAGE_EAST}
        qr_checkin.self_checkin(
            store, session_id, f"cookie-{name}", None, farmer, address="10.0.0.9", typed=True
        )

    self_checkin("王一", "13900001111")
    report = SyncClient(store, session=http).sync()
    assert report.statuses.get(p.REJECTED, 0) == 0 and store.counts() == {}
    assert [c["f"].get("phone") is not None for c in bureau.pushed if c["k"] == p.ATTENDANCE] == [
        True
    ]
    # The server is upgraded; the device still remembers the old answer, so it asks first.
    bureau.upgraded = True
    bureau.requests.clear()
    self_checkin("王二", "13900002222")
    SyncClient(store, session=http).sync()
    assert bureau.requests[0] == "GET /api/v1/sync/pull"
    [sent] = [c["f"] for c in bureau.pushed if c["k"] == p.ATTENDANCE and "net" in c["f"]]
    assert sent["typed_code"] is True
    db = init_db(db_path)
    try:
        stored = db.execute("SELECT net, typed_code FROM attendances ORDER BY net").fetchall()
    finally:
        db.close()
    assert stored == [(None, None), (sent["net"], 1)]
    store.close()
