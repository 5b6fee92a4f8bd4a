"""Many farmers from one phone, end to end: three farmers check in from one phone (one cookie)
through a real `tianjian-field serve`, the device syncs to a real server, and the server's
reconciliation JSON lists their check-ins as shared_phone."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from field_client import qr_checkin
from server.figures.counted import Scope
from server.quality.checkin_flags import SHARED_ADDRESS
from server.quality.flags import FlagRules, flags
from server.store.db import init_db
from shared import protocol as p
from shared.clock import utc_now
from shared.schemas.field import PHONE_HASH
from tests.e2e.field_serve import FieldServer, phone_at
from tests.field_client.web.conftest import PIN
from tests.helpers import (
    VILLAGE_EAST,
    VILLAGE_WEST,
    LiveServer,
    enrolled_store,
    fast_client,
    report_token,
)


def check_in_new_farmer(phone: requests.Session, url: str, name: str, mobile: str) -> None:
    """What a farmer's browser does on the page (it has no script): the form, as posted."""
    page = phone.get(url, timeout=10)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = phone.post(
        url,
        data={
            "csrf_token": token.group(1),
            "action": "new",
            "name": name,
            "mobile": mobile,
            "village_code": VILLAGE_WEST,
            "gender": "female",
            "birth_year": "1966",
            "consent": "1",
        },
        timeout=10,
    )
    assert answer.status_code == 200 and 'data-answer="green"' in answer.text, answer.text


def test_three_farmers_from_one_phone_reach_reconciliation_as_shared_phone(
    tmp_path: Path, live_server: LiveServer
) -> None:
    field_path = str(tmp_path / "field.db")
    store = enrolled_store(live_server, field_path, "张三")
    starts = store.best_now_iso()
    session_id = store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "马铃薯晚疫病防治培训",
            "unit_code": VILLAGE_EAST,
            "starts_at": starts,
            "lead_envoy_id": store.get("envoy_id"),
        },
    )
    field = FieldServer(field_path, PIN)
    try:
        ticket = qr_checkin.poster(store, session_id)
        url = f"{field.url}/c/{ticket.code}/{ticket.token}"
        family = requests.Session()  # one browser: one cookie jar, one phone
        family_mobiles = ("13900001111", "13900002222", "13900003333")
        for n, mobile in enumerate(family_mobiles):
            check_in_new_farmer(family, url, f"王家{n}", mobile)
        assert len({c.value for c in family.cookies if c.name == "tj_phone"}) == 1
        check_in_new_farmer(requests.Session(), url, "李邻居", "13900004444")
    finally:
        field.stop()

    report = fast_client(store).sync()
    assert report.statuses.get(p.REJECTED, 0) == 0
    farmers = {f["mobile"]: f["id"] for f in store.records(p.FARMER)}
    family_ids = {farmers[mobile] for mobile in family_mobiles}
    store.close()

    db = init_db(live_server.db_path)
    try:
        stored = dict(
            db.execute(
                "SELECT farmer_id, phone FROM attendances WHERE session_id = ?", [session_id]
            ).fetchall()
        )
    finally:
        db.close()
    # On the server: one hash for the family's phone, another for the neighbour's; each a
    # 16-hex-digit hash, none of them a phone number.
    assert len(stored) == 4 and len(set(stored.values())) == 2
    assert all(PHONE_HASH.fullmatch(phone or "") for phone in stored.values())
    assert not set(stored.values()) & {*family_mobiles, "13900004444"}
    [family_phone] = {stored[farmer_id] for farmer_id in family_ids}

    answer = requests.get(
        f"{live_server.url}/api/v1/reconciliation/{starts[:4]}",
        headers=report_token(live_server.db_path),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    shared = [line for line in answer.json()["checkins"] if line["reason"] == "shared_phone"]
    assert {line["farmer_id"] for line in shared} == family_ids
    assert {(line["phone"], line["phone_farmers"], line["session_id"]) for line in shared} == {
        (family_phone, 3, session_id)
    }


def test_address_and_typed_code_reach_the_server_and_flag_the_session(
    tmp_path: Path, live_server: LiveServer
) -> None:
    """Six farmers registered from one address, each with a fresh cookie (a script's way), and
    one from another phone that typed the code: on the server the six share one `net` and the
    session is flagged shared_address; the typed one is marked typed_code."""
    field_path = str(tmp_path / "field.db")
    store = enrolled_store(live_server, field_path, "张三")
    starts = store.best_now_iso()
    session_id = store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "马铃薯晚疫病防治培训",
            "unit_code": VILLAGE_EAST,
            "starts_at": starts,
            "lead_envoy_id": store.get("envoy_id"),
        },
    )
    field = FieldServer(field_path, PIN)
    try:
        ticket = qr_checkin.poster(store, session_id)
        url = f"{field.url}/c/{ticket.code}/{ticket.token}"
        for n in range(6):
            check_in_new_farmer(phone_at("127.0.0.5"), url, f"脚本{n}", f"1390000555{n}")
        # A seventh from that address within the hour waits (NEW_PER_ADDRESS_PER_HOUR).
        seventh = phone_at("127.0.0.5")
        token = re.search(r'name="csrf_token" value="([^"]+)"', seventh.get(url, timeout=10).text)
        assert token is not None
        form = {"csrf_token": token.group(1), "action": "new", "name": "脚本6", "consent": "1"}
        form |= {"mobile": "13900005556", "village_code": VILLAGE_WEST, "gender": "male"}
        refused = seventh.post(url, data=form, timeout=10)
        assert refused.status_code == 429 and "新登记太多太快" in refused.text
        check_in_new_farmer(
            phone_at("127.0.0.9"), f"{field.url}/c/{ticket.code}", "打字者", "13900009999"
        )
    finally:
        field.stop()

    report = fast_client(store).sync()
    assert report.statuses.get(p.REJECTED, 0) == 0
    store.close()
    db = init_db(live_server.db_path)
    try:
        rows = db.execute(
            "SELECT f.name, a.net, a.typed_code FROM attendances a JOIN farmers f "
            "ON f.id = a.farmer_id WHERE a.session_id = ?",
            [session_id],
        ).fetchall()
        found = flags(db, Scope(int(starts[:4])), utc_now(), FlagRules())
    finally:
        db.close()
    nets = {name: net for name, net, _typed in rows}
    assert len(rows) == 7 and all(PHONE_HASH.fullmatch(net or "") for net in nets.values())
    assert len({nets[f"脚本{n}"] for n in range(6)}) == 1 and nets["打字者"] != nets["脚本0"]
    assert {name for name, _net, typed in rows if typed} == {"打字者"}
    assert [(f.kind, f.record_id, f.value) for f in found if f.kind == SHARED_ADDRESS] == [
        (SHARED_ADDRESS, session_id, 6)
    ]
