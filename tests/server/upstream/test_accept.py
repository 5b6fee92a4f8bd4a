"""What a province accepts from a county's link, and that no one else edits a county's records."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from flask import Flask

from server.accounts import users
from server.quality import reviews
from server.reference import load as reference
from server.reference.county_envoys import envoy_id_up
from server.store.county_links import CountyRecordReadOnly
from server.sync import apply_push, devices
from server.sync.devices import Device
from server.upstream.accept import (
    HEADER_ENVOY,
    EnvoyNotOfCounty,
    LinkNeedsEnvoy,
    accept_envoys,
    act_for,
)
from server.upstream.codes import enrol_link, issue_link_code
from shared import protocol as p
from shared import review_status as rs
from shared.clock import wall_ms
from shared.ids import new_id
from tests.helpers import TECH_POTATO, VILLAGE_EAST, csrf_token, results_of, sign_in
from tests.server.fieldwork import Envoy
from tests.server.upstream.provinces import VILLAGE_B, Province

ZHANG = "张三"


def zhang_id(province: Province) -> str:
    return str(province.db.execute("SELECT id FROM envoys WHERE name = ?", [ZHANG]).fetchone()[0])


def session_change(
    q: int, envoy_id: str, unit_code: str, record_id: str | None = None
) -> dict[str, Any]:
    return {
        "q": q,
        "k": p.SESSION,
        "i": record_id or new_id(),
        "h": f"{wall_ms():013d}.{q:05d}",
        "f": {
            "kind": "village_training",
            "title": "县里的培训",
            "unit_code": unit_code,
            "starts_at": "2026-05-10T02:00:00Z",
            "lead_envoy_id": envoy_id,
            "technology_ids": [TECH_POTATO],
        },
    }


def push_one(province: Province, device: Device, change: dict[str, Any]) -> dict[str, Any]:
    [answer] = results_of(apply_push(province.db, device, [change]))
    return answer


def forwarded_session(province: Province) -> str:
    """A session of county A as its link forwarded it."""
    link = act_for(province.db, province.link_a, zhang_id(province))
    change = session_change(1, zhang_id(province), VILLAGE_EAST)
    assert push_one(province, link, change)["s"] == p.APPLIED
    return str(change["i"])


def test_a_link_acts_only_for_envoys_of_its_county(province: Province) -> None:
    acting = act_for(province.db, province.link_a, zhang_id(province))
    assert acting.envoy_id == zhang_id(province) and acting.county_code == "530102"
    for envoy in (province.envoy_b, new_id(), "../x"):
        with pytest.raises(EnvoyNotOfCounty) as refused:
            act_for(province.db, province.link_a, envoy)
        assert refused.value.status == 403
        assert (
            "不属于县 530102" in refused.value.message and "does not serve" in refused.value.message
        )
    with pytest.raises(LinkNeedsEnvoy):
        act_for(province.db, province.link_a, "")


def test_a_link_never_acts_for_a_name_only_envoy_id(province: Province) -> None:
    """An id from the name alone is the province's own envoy of that name (loaded there), not
    the county's: serving the county's townships does not make the link's records theirs."""
    own = reference.ensure_envoy(province.db, "孙七", ["530102001"])
    province.db.conn.commit()
    assert own["id"] != envoy_id_up("530102", "孙七")
    with pytest.raises(EnvoyNotOfCounty):
        act_for(province.db, province.link_a, own["id"])
    # Under the county's id for that name (as its link sends the envoy up) it is the county's.
    up = {"id": envoy_id_up("530102", "孙七"), "name": "孙七", "township_codes": ["530102001000"]}
    assert accept_envoys(province.db, province.link_a, [up]) == 1
    assert act_for(province.db, province.link_a, up["id"]).envoy_id == up["id"]


def test_envoys_of_another_county_are_refused_all_or_nothing(province: Province) -> None:
    before = province.db.execute("SELECT count(*), max(server_seq) FROM envoys").fetchone()
    mine = {"id": envoy_id_up("530102", "新人"), "name": "新人", "township_codes": ["530102001000"]}
    theirs = {
        "id": envoy_id_up("530102", "外人"),
        "name": "外人",
        "township_codes": ["530103001000"],
    }
    renamed = {**mine, "id": new_id()}
    moved = {"id": province.envoy_b, "name": "赵丽", "township_codes": ["530102001000"]}
    for batch in ([mine, theirs], [renamed], [moved]):
        with pytest.raises(EnvoyNotOfCounty):
            accept_envoys(province.db, province.link_a, batch)
    assert province.db.execute("SELECT count(*), max(server_seq) FROM envoys").fetchone() == before
    assert accept_envoys(province.db, province.link_a, [mine]) == 1
    # Sent again: nothing to write.
    assert accept_envoys(province.db, province.link_a, [mine]) == 0


def test_two_counties_envoys_of_one_name_stay_two_envoys(province: Province) -> None:
    """Envoy ids on the province come from county and name: county B's 新人 is not county A's,
    and neither link can send the other's id."""
    a = {"id": envoy_id_up("530102", "新人"), "name": "新人", "township_codes": ["530102001000"]}
    b = {"id": envoy_id_up("530103", "新人"), "name": "新人", "township_codes": ["530103001000"]}
    assert a["id"] != b["id"]
    assert accept_envoys(province.db, province.link_a, [a]) == 1
    assert accept_envoys(province.db, province.link_b, [b]) == 1
    rows = province.db.execute(
        "SELECT id, township_codes FROM envoys WHERE name = '新人' ORDER BY township_codes"
    ).fetchall()
    assert rows == [(a["id"], '["530102001000"]'), (b["id"], '["530103001000"]')]
    for link, other in ((province.link_a, b), (province.link_b, a)):
        with pytest.raises(EnvoyNotOfCounty):
            accept_envoys(province.db, link, [other])
        with pytest.raises(EnvoyNotOfCounty):
            act_for(province.db, link, other["id"])
    assert act_for(province.db, province.link_b, b["id"]).envoy_id == b["id"]


def test_a_links_record_outside_its_county_is_refused(province: Province) -> None:
    link = act_for(province.db, province.link_a, zhang_id(province))
    answer = push_one(province, link, session_change(1, zhang_id(province), VILLAGE_B))
    assert answer["s"] == p.REJECTED
    assert (
        "县 530102 只能上报本县的记录" in answer["r"] and "may report only its own" in answer["r"]
    )
    assert province.db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def test_a_county_record_is_edited_by_no_other_link_or_device(province: Province) -> None:
    session_id = forwarded_session(province)
    owner = province.db.execute("SELECT device_id FROM sessions WHERE id = ?", [session_id])
    assert owner.fetchone()[0] == province.link_a.id
    # The other county's link, even acting for an envoy of its own.
    link_b = act_for(province.db, province.link_b, province.envoy_b)
    edit = session_change(1, zhang_id(province), VILLAGE_EAST, session_id)
    answer = push_one(province, link_b, {**edit, "f": {"title": "改了"}})
    assert answer["s"] == p.REJECTED and "省级副本只读" in answer["r"]
    # A device enrolled on the province for the same envoy may neither edit it nor add to it.
    zhang = Envoy(province.db, ZHANG)
    answer = push_one(province, zhang.device, {**edit, "q": 1001, "f": {"title": "改了"}})
    assert answer["s"] == p.REJECTED and "read-only" in answer["r"]
    farmer = zhang.farmer("本省农户")
    checkin = {
        "q": 1009,
        "k": p.ATTENDANCE,
        "h": f"{wall_ms():013d}.00009",
        "f": {
            "session_id": session_id,
            "farmer_id": farmer,
            "checked_in_at": "2026-05-10T02:15:00Z",
            "method": "qr_self",
        },
    }
    answer = push_one(province, zhang.device, checkin)
    assert answer["s"] == p.REJECTED and "属于县 530102" in answer["r"]
    title = province.db.execute("SELECT title FROM sessions WHERE id = ?", [session_id]).fetchone()
    assert title[0] == "县里的培训"
    assert province.db.execute("SELECT count(*) FROM attendances").fetchone()[0] == 0
    # The province's own records are its own to edit.
    own = zhang.session()
    zhang.update(p.SESSION, own, {"title": "省里改"})
    edited = province.db.execute("SELECT title FROM sessions WHERE id = ?", [own]).fetchone()
    assert edited[0] == "省里改"


def test_a_province_user_may_not_review_a_county_record(province: Province) -> None:
    session_id = forwarded_session(province)
    staff = users.add_user(province.db, "省里的人", users.STAFF, "staff-password")
    with pytest.raises(CountyRecordReadOnly) as refused:
        reviews.set_review(province.db, staff, p.SESSION, session_id, rs.RETURNED, "不实")
    assert refused.value.status == 403
    assert "省级副本只读" in refused.value.message and "read-only" in refused.value.message
    assert province.db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
    assert (
        province.db.execute("SELECT count(*) FROM audit_log WHERE action = 'review'").fetchone()[0]
        == 0
    )


def api_headers(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION), **more}


def test_the_link_over_http_pushes_only_as_a_named_envoy_and_never_pulls(
    app: Flask, province: Province
) -> None:
    client = app.test_client()
    body = gzip.compress(
        json.dumps({"changes": [session_change(1, zhang_id(province), VILLAGE_EAST)]}).encode()
    )
    gz = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    bare = client.post("/api/v1/sync/push", data=body, headers=api_headers(province.token_a, **gz))
    assert bare.status_code == 400 and HEADER_ENVOY in bare.get_json()["message"]
    other = client.post(
        "/api/v1/sync/push",
        data=body,
        headers=api_headers(province.token_a, **gz, **{HEADER_ENVOY: province.envoy_b}),
    )
    assert (
        other.status_code == 403 and "does not serve county 530102" in other.get_json()["message"]
    )
    assert province.db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    ok = client.post(
        "/api/v1/sync/push",
        data=body,
        headers=api_headers(province.token_a, **gz, **{HEADER_ENVOY: zhang_id(province)}),
    )
    assert ok.status_code == 200 and ok.get_json()["applied"] == [[1, 1]]
    pull = client.get("/api/v1/sync/pull?cursor=0", headers=api_headers(province.token_a))
    assert pull.status_code == 403 and "只能推送记录" in pull.get_json()["message"]
    # A field device is not a link.
    li = devices.envoy_by_name(province.db, "李梅")
    code = devices.new_enrolment_code(province.db, li["id"], 60)
    province.db.conn.commit()
    device_token = devices.enrol_device(province.db, code, "李梅的手机")["token"]
    envoys = client.post(
        "/api/v1/upstream/envoys", json={"envoys": []}, headers=api_headers(device_token)
    )
    assert envoys.status_code == 403 and "只供县级上报链接使用" in envoys.get_json()["message"]
    for method, path, body in (
        ("GET", "/api/v1/upstream/catalogue", None),
        ("GET", "/api/v1/upstream/targets", None),
        ("POST", "/api/v1/upstream/merges", {"merges": []}),
    ):
        refused = client.open(path, method=method, json=body, headers=api_headers(device_token))
        assert (
            refused.status_code == 403 and "只供县级上报链接使用" in refused.get_json()["message"]
        )
    # The link reads the province's catalogue, every kind of it.
    catalogue = client.get("/api/v1/upstream/catalogue", headers=api_headers(province.token_a))
    assert catalogue.status_code == 200
    kinds = {row["kind"] for row in catalogue.get_json()["catalogue"]}
    assert kinds == {p.TECHNOLOGY, p.VARIETY, p.LEAFLET_TITLE}
    # A merge list too long, or not a list, is refused whole, in both languages.
    too_many = {"merges": [{"id": "a", "canonical_id": "b"}] * 2001}
    for bad in (too_many, {"merges": "all"}, {"merges": [{"id": "a"}]}):
        answer = client.post(
            "/api/v1/upstream/merges", json=bad, headers=api_headers(province.token_a)
        )
        assert answer.status_code == 422, answer.get_json()
    enrolled = client.post(
        "/api/v1/upstream/enrol",
        json={"code": "NOPE-NOPE-NOPE", "name": "x"},
        headers={p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)},
    )
    assert enrolled.status_code == 403 and "上报登记码无效" in enrolled.get_json()["message"]


def test_the_province_lists_and_revokes_a_countys_link(province: Province) -> None:
    listed = {row["id"]: row for row in devices.list_devices(province.db)}
    assert listed[province.link_a.id]["envoy"] == "县 county 530102"
    devices.revoke(province.db, province.link_a.id)
    with pytest.raises(devices.BadToken):
        devices.authenticate(province.db, province.token_a)
    entry = province.db.execute(
        "SELECT after FROM audit_log WHERE action = 'device.revoke'"
    ).fetchone()[0]
    assert "530102" in entry


def test_the_review_page_refuses_a_county_record_saying_why(app: Flask, province: Province) -> None:
    session_id = forwarded_session(province)
    users.add_user(province.db, "省里的人", users.STAFF, "staff-password")
    client = app.test_client()
    assert sign_in(client, "省里的人", "staff-password").status_code == 302
    path = f"/review/session/{session_id}"
    answer = client.post(
        path, data={"csrf_token": csrf_token(client, path), "status": rs.RETURNED, "note": "不实"}
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 403
    assert "省级副本只读" in page and "Traceback" not in page
    assert province.db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_a_county_enrolled_again_carries_on_with_its_copies(province: Province) -> None:
    session_id = forwarded_session(province)
    token = enrol_link(province.db, issue_link_code(province.db, "530102").code, "新服务器").token
    again = act_for(province.db, devices.authenticate(province.db, token), zhang_id(province))
    edit = session_change(1, zhang_id(province), VILLAGE_EAST, session_id)
    assert push_one(province, again, {**edit, "f": {"title": "新服务器改"}})["s"] in (
        p.APPLIED,
        p.MERGED,
    )
    title = province.db.execute("SELECT title FROM sessions WHERE id = ?", [session_id]).fetchone()
    assert title[0] == "新服务器改"
    # A record the province made itself is no county's: no link may edit it.
    own = Envoy(province.db, "王五").session(unit_code="530102002001")
    answer = push_one(
        province,
        again,
        {**session_change(2, zhang_id(province), VILLAGE_EAST, own), "f": {"title": "x"}},
    )
    assert answer["s"] == p.REJECTED and "由省级自己建立" in answer["r"]
    assert "a county's link cannot change it" in answer["r"]


def test_a_province_device_may_not_put_a_photo_on_a_county_session(province: Province) -> None:
    session_id = forwarded_session(province)
    zhang = Envoy(province.db, ZHANG)
    photo = {
        "q": 2001,
        "k": p.PHOTO,
        "i": new_id(),
        "h": f"{wall_ms():013d}.02001",
        "f": {
            "subject_kind": "session",
            "subject_id": session_id,
            "photo_kind": "site",
            "sha256": "a" * 64,
            "size_bytes": 1000,
            "width": 100,
            "height": 100,
            "taken_at": "2026-05-10T02:15:00Z",
            "recorded_at": "2026-05-10T02:16:00Z",
        },
    }
    answer = push_one(province, zhang.device, photo)
    assert answer["s"] == p.REJECTED and "省级副本只读" in answer["r"]
    assert province.db.execute("SELECT count(*) FROM photos").fetchone()[0] == 0
    # On a session of the province's own it goes.
    own = zhang.session()
    mine = {**photo, "q": 2002, "i": new_id(), "f": {**photo["f"], "subject_id": own}}
    assert push_one(province, zhang.device, mine)["s"] == p.APPLIED


def test_a_link_may_not_credit_another_countys_envoy(province: Province) -> None:
    link = act_for(province.db, province.link_a, zhang_id(province))
    theirs = session_change(1, zhang_id(province), VILLAGE_EAST)
    theirs["f"]["co_envoy_ids"] = [province.envoy_b]
    mine = session_change(2, zhang_id(province), VILLAGE_EAST)
    answers = results_of(apply_push(province.db, link, [theirs, mine]))
    assert answers[0]["s"] == p.REJECTED and "co_envoy_ids" in answers[0]["r"]
    assert (
        "不是县 530102 的特派员" in answers[0]["r"] and "not an envoy of county" in answers[0]["r"]
    )
    assert answers[1]["s"] == p.APPLIED
    assert province.db.execute("SELECT id FROM sessions").fetchall() == [(mine["i"],)]
    again = results_of(apply_push(province.db, link, [theirs, mine]))
    assert again[0]["s"] == p.REJECTED
    assert province.db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
