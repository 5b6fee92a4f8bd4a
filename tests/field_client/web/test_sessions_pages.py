"""The envoy's session pages: start, edit, close, delete, roster check-in, undo; errors in Chinese."""

from __future__ import annotations

import pytest

from shared import protocol as p
from shared.ids import attendance_id
from shared.merge import stamped_change
from tests.field_client.web.conftest import DEVICE, ENVOY, new_farmer, new_session
from tests.field_client.web.envoy_forms import (
    OTHER_ENVOY,
    OTHER_ENVOY_NAME,
    TECH,
    TECH_NAME,
    add_reference,
    post_form,
)
from tests.helpers import VILLAGE_EAST

NEW = {
    "kind": "village_training",
    "title": "马铃薯晚疫病防治培训",
    "village": "东村",
    "place": "东村村委会",
    "starts_at": "2026-11-20 09:00",
    "ends_at": "11月20日 11:30",
    "technologies": [TECH],
    "co_envoys": [OTHER_ENVOY],
    "boards": "2",
    "headcount": "",
}


@pytest.fixture(autouse=True)
def reference(store) -> None:
    add_reference(store)


def sessions(store) -> list[dict]:
    return store.records(p.SESSION)


def test_start_a_session_with_names_picked(envoy, store) -> None:
    form = envoy.get("/envoy/sessions/new").get_data(as_text=True)
    # Picked by name: the village list, the technology and the other envoy appear by name.
    assert "城关镇/东村" in form and TECH_NAME in form and OTHER_ENVOY_NAME in form
    assert "张三" not in form.split("co_envoys")[-1]  # not oneself as a co-envoy
    answer = post_form(envoy, "/envoy/sessions/new", NEW)
    assert answer.status_code == 302
    [made] = sessions(store)
    assert answer.location == f"/envoy/sessions/{made['id']}"
    assert made["unit_code"] == VILLAGE_EAST and made["lead_envoy_id"] == ENVOY
    assert made["technology_ids"] == [TECH] and made["co_envoy_ids"] == [OTHER_ENVOY]
    assert made["display_boards"] == 2 and made["starts_at"] == "2026-11-20T01:00:00Z"
    assert made["ends_at"] == "2026-11-20T03:30:00Z"
    # Its outbox entry went with it.
    assert store.counts()["pending"] >= 1
    page = envoy.get(answer.location).get_data(as_text=True)
    assert "马铃薯晚疫病防治培训" in page and "会话已保存" not in page


def test_a_replayed_form_starts_one_session(envoy, store) -> None:
    token_page = envoy.get("/envoy/sessions/new").get_data(as_text=True)
    token = token_page.split('name="form_token" value="')[1].split('"')[0]
    first = envoy.post("/envoy/sessions/new", data={**NEW, "form_token": token})
    again = envoy.post("/envoy/sessions/new", data={**NEW, "form_token": token})
    assert first.status_code == again.status_code == 302
    assert len(sessions(store)) == 1
    assert "已提交" in envoy.get(again.location).get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("starts_at", "明年某天", "开始时间："),
        ("village", "不存在村", "村："),
        ("title", "", "标题："),
        ("boards", "很多", "展板数："),
        ("kind", "跳舞", "类型："),
    ],
)
def test_bad_fields_are_named_in_chinese_and_nothing_saved(
    envoy, store, field, value, shown
) -> None:
    answer = post_form(envoy, "/envoy/sessions/new", {**NEW, field: value})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert shown in page, page
    assert "Traceback" not in page
    assert sessions(store) == []
    # What was typed is kept in the form.
    assert NEW["place"] in page


def test_edit_close_and_headcount_beside_the_verified_count(envoy, store) -> None:
    session_id = new_session(store)
    farmer_id = new_farmer(store)
    store.checkin(session_id, farmer_id, "roster", store.best_now_iso())
    edit_path = f"/envoy/sessions/{session_id}/edit"
    form = envoy.get(edit_path).get_data(as_text=True)
    assert 'value="城关镇/东村"' in form and "马铃薯晚疫病防治培训" in form
    answer = post_form(envoy, edit_path, {**NEW, "title": "晚疫病培训二期", "co_envoys": []})
    assert answer.status_code == 302
    record = store.record(p.SESSION, session_id)
    assert record["title"] == "晚疫病培训二期" and record["co_envoy_ids"] == []
    page_path = f"/envoy/sessions/{session_id}"
    close = post_form(envoy, f"{page_path}/close", {"headcount": "35"}, page=page_path)
    assert close.status_code == 302
    record = store.record(p.SESSION, session_id)
    assert record["closed"] is True and record["reported_headcount"] == 35
    live = envoy.get(f"{page_path}/live").get_data(as_text=True)
    assert 'id="verified-count">1<' in live and "<strong>35</strong>" in live


def test_close_refuses_a_bad_headcount_in_chinese(envoy, store) -> None:
    session_id = new_session(store)
    page_path = f"/envoy/sessions/{session_id}"
    answer = post_form(envoy, f"{page_path}/close", {"headcount": "-3"}, page=page_path)
    assert "填报人数" in envoy.get(answer.location).get_data(as_text=True)
    assert not store.record(p.SESSION, session_id).get("closed")


def test_delete_asks_first_then_goes_with_its_checkins(envoy, store) -> None:
    session_id = new_session(store)
    store.checkin(session_id, new_farmer(store), "roster", store.best_now_iso())
    path = f"/envoy/sessions/{session_id}/delete"
    asked = envoy.get(path).get_data(as_text=True)
    assert "1" in asked and "删除" in asked
    # Without the confirmation nothing goes.
    envoy.post(path, data={})
    assert store.record(p.SESSION, session_id)["deleted"] is False
    answer = envoy.post(path, data={"confirm": "yes"})
    assert answer.location == "/envoy/"
    assert store.record(p.SESSION, session_id)["deleted"] is True
    assert store.records(p.ATTENDANCE) == []
    assert envoy.get(f"/envoy/sessions/{session_id}").status_code == 404


def test_roster_finds_by_name_village_or_last_four_and_checks_in(envoy, store) -> None:
    session_id = new_session(store)
    li = new_farmer(store, "李四", "13812345678")
    new_farmer(store, "赵六", "13900009999")
    roster = f"/envoy/sessions/{session_id}/roster"
    by_name = envoy.get(roster, query_string={"q": "李"}).get_data(as_text=True)
    assert "李四" in by_name and "赵六" not in by_name and "138****5678" in by_name
    assert "13812345678" not in by_name
    by_four = envoy.get(roster, query_string={"q": "9999"}).get_data(as_text=True)
    assert "赵六" in by_four and "李四" not in by_four
    by_village = envoy.get(roster, query_string={"q": "东村"}).get_data(as_text=True)
    assert "赵六" in by_village and "李四" in by_village
    done = envoy.post(f"/envoy/sessions/{session_id}/checkin", data={"farmer": li, "q": "李"})
    assert done.status_code == 302
    attendance = store.record(p.ATTENDANCE, attendance_id(session_id, li))
    assert attendance["method"] == "roster"
    # Twice is still once; the row now says checked in.
    envoy.post(f"/envoy/sessions/{session_id}/checkin", data={"farmer": li})
    assert len(store.records(p.ATTENDANCE)) == 1
    assert "已签到" in envoy.get(roster, query_string={"q": "李"}).get_data(as_text=True)


def test_undo_a_checkin_needs_a_reason(envoy, store) -> None:
    session_id = new_session(store)
    farmer_id = new_farmer(store)
    store.checkin(session_id, farmer_id, "roster", store.best_now_iso())
    live = envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    path = f"/envoy/sessions/{session_id}/undo/{farmer_id}"
    assert path in live
    refused = envoy.post(path, data={"reason": " "})
    assert refused.status_code == 422 and "原因" in refused.get_data(as_text=True)
    assert store.record(p.ATTENDANCE, attendance_id(session_id, farmer_id))["deleted"] is False
    answer = envoy.post(path, data={"reason": "点错了人"})
    assert answer.status_code == 302
    assert store.record(p.ATTENDANCE, attendance_id(session_id, farmer_id))["deleted"] is True
    live = envoy.get(f"/envoy/sessions/{session_id}/live").get_data(as_text=True)
    assert 'id="verified-count">0<' in live
    # The reason is kept on the device and shown on the session page.
    page = envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    assert "已撤销的签到" in page and "点错了人" in page


def test_another_envoys_session_cannot_be_changed(envoy, store) -> None:
    session_id = "5e5e5e5e-0000-4000-8000-000000000009"
    data = {
        "kind": "village_training",
        "title": "别人的",
        "unit_code": VILLAGE_EAST,
        "starts_at": "2026-11-20T01:00:00Z",
        "lead_envoy_id": OTHER_ENVOY,
        "co_envoy_ids": [],
    }
    pulled = stamped_change(data, "1764000000000.00000.other")
    pulled.update({"id": session_id, "envoy_id": OTHER_ENVOY, "device_id": DEVICE})
    store.apply_pull([{"k": p.SESSION, "r": pulled}], 3)
    path = f"/envoy/sessions/{session_id}/delete"
    answer = envoy.post(path, data={"confirm": "yes"})
    assert answer.status_code == 403 and "其他特派员" in answer.get_data(as_text=True)
    assert store.record(p.SESSION, session_id)["deleted"] is False


def test_session_pages_need_the_pin(client, store) -> None:
    session_id = new_session(store)
    for path in ("/envoy/sessions/new", f"/envoy/sessions/{session_id}/roster"):
        assert client.get(path).location.startswith("/login")
    answer = client.post(f"/envoy/sessions/{session_id}/delete", data={"confirm": "yes"})
    assert answer.status_code == 302 and store.record(p.SESSION, session_id)["deleted"] is False


def test_english_on_request(envoy, store) -> None:
    envoy.set_cookie("lang", "en")
    page = envoy.get("/envoy/sessions/new").get_data(as_text=True)
    assert "Start a session" in page and "开始一场培训" not in page
    answer = post_form(envoy, "/envoy/sessions/new", {**NEW, "starts_at": "someday"})
    assert "Starts:" in answer.get_data(as_text=True)


def test_every_bad_field_is_shown_at_once_in_chinese(envoy, store) -> None:
    """Five bad fields take one save, not five: each is named under its field, in Chinese."""
    bad = {
        **NEW,
        "kind": "跳舞",
        "village": "不存在村",
        "starts_at": "明年某天",
        "ends_at": "后天傍晚",
        "boards": "很多",
        "headcount": "１２．５",
    }
    answer = post_form(envoy, "/envoy/sessions/new", bad)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    for key in ("kind", "unit", "starts_at", "ends_at", "display_boards", "reported_headcount"):
        assert f'id="error-{key}"' in page, key
    for shown in ("类型：", "村：", "开始时间：", "结束时间：", "展板数："):
        assert shown in page, shown
    assert "Not a valid" not in page and "不是有效的整数" in page
    assert sessions(store) == []
