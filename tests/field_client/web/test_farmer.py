"""Farmers' check-in pages: new and returning farmers, repeats, refused tokens, page weight."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from field_client import qr_checkin
from field_client.checkin_codes import session_token
from field_client.local import phone_hash
from shared import protocol as p
from shared.clock import CHINA, parse_iso, to_iso
from shared.ids import attendance_id
from tests.field_client.web.conftest import new_farmer, new_session
from tests.helpers import VILLAGE_WEST

NEW_FARMER = {
    "action": "new",
    "name": "王五",
    "mobile": "139 0000 1111",
    "village_code": VILLAGE_WEST,
    "gender": "female",
    "birth_year": "1968",
    "consent": "1",
}


def qr_path(store, session_id: str) -> str:
    ticket = qr_checkin.poster(store, session_id)
    return f"/c/{ticket.code}/{ticket.token}"


def colour(answer) -> str:
    found = re.search(r'data-answer="(\w+)"', answer.get_data(as_text=True))
    return found.group(1) if found else ""


def test_new_farmer_registers_once_and_is_checked_in(client, store) -> None:
    session_id = new_session(store)
    path = qr_path(store, session_id)
    page = client.get(path)
    assert page.status_code == 200 and "东村" in page.get_data(as_text=True)
    answer = client.post(path, data=NEW_FARMER)
    assert colour(answer) == "green" and "签到成功" in answer.get_data(as_text=True)
    assert "王五" in answer.get_data(as_text=True)
    farmers = [f for f in store.records(p.FARMER) if f["name"] == "王五"]
    assert len(farmers) == 1 and farmers[0]["mobile"] == "13900001111"
    assert farmers[0]["birth_year"] == 1968 and farmers[0]["village_code"] == VILLAGE_WEST
    attendance = store.record(p.ATTENDANCE, attendance_id(session_id, farmers[0]["id"]))
    assert attendance["method"] == "qr_self" and attendance["checked_in_at"].endswith("Z")
    # The phone is remembered by a hash of its cookie, never the cookie itself.
    cookie = client.get_cookie("tj_phone").value
    rows = list(store.db.query("SELECT phone_hash FROM phone_farmers"))
    assert rows == [{"phone_hash": phone_hash(cookie)}]
    assert qr_checkin.phone_of_checkin(store, session_id, farmers[0]["id"]) == phone_hash(cookie)
    # The same form sent again (a reload) adds no farmer and no check-in.
    again = client.post(path, data=NEW_FARMER)
    assert colour(again) == "orange" and "已签到" in again.get_data(as_text=True)
    assert len([f for f in store.records(p.FARMER) if f["name"] == "王五"]) == 1
    assert len(qr_checkin.session_attendances(store, session_id)) == 1


def test_notice_must_be_accepted_and_errors_name_the_field(client, store) -> None:
    path = qr_path(store, new_session(store))
    answer = client.post(
        path, data={**NEW_FARMER, "consent": "", "mobile": "12345", "birth_year": "1800"}
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "data-answer" not in text
    assert "请阅读说明并勾选同意" in text
    assert "手机号：" in text and "出生年份：" in text
    assert not [f for f in store.records(p.FARMER) if f["name"] == "王五"]


def test_returning_farmer_one_tap_by_cookie(client, store) -> None:
    first, second = new_session(store, "第一场"), new_session(store, "第二场")
    client.post(qr_path(store, first), data=NEW_FARMER)
    page = client.get(qr_path(store, second)).get_data(as_text=True)
    assert "我是王五，签到" in page
    farmer_id = re.search(r'name="farmer_id" value="([^"]+)"', page).group(1)
    answer = client.post(qr_path(store, second), data={"action": "known", "farmer_id": farmer_id})
    assert colour(answer) == "green"
    assert qr_checkin.is_checked_in(store, second, farmer_id)
    # One phone, one hash, beside each check-in it made.
    hashes = {qr_checkin.phone_of_checkin(store, s, farmer_id) for s in (first, second)}
    assert len(hashes) == 1 and None not in hashes


def test_a_phone_cannot_check_in_someone_it_never_did(client, store) -> None:
    session_id = new_session(store)
    stranger = new_farmer(store, "赵六", "13700000000")
    answer = client.post(
        qr_path(store, session_id), data={"action": "known", "farmer_id": stranger}
    )
    assert colour(answer) == "" and not qr_checkin.is_checked_in(store, session_id, stranger)


def test_returning_farmer_by_mobile_proves_their_name_then_repeat_is_orange(client, store) -> None:
    session_id = new_session(store)
    farmer_id = new_farmer(store)
    path = qr_path(store, session_id)
    # The number alone: asked for the name as registered, shown none, nobody checked in.
    asked = client.post(path, data={"action": "mobile", "mobile": "+86 138-1234-5678"})
    text = asked.get_data(as_text=True)
    assert colour(asked) == "" and "登记时的姓名" in text and "李四" not in text
    assert not qr_checkin.is_checked_in(store, session_id, farmer_id)
    answer = client.post(path, data={"action": "prove", "mobile": "13812345678", "name": "李 四"})
    assert colour(answer) == "green" and "李四" in answer.get_data(as_text=True)
    first_at = store.record(p.ATTENDANCE, attendance_id(session_id, farmer_id))["checked_in_at"]
    # This phone now holds 李四: the number alone is enough, and a repeat is orange.
    repeat = client.post(path, data={"action": "mobile", "mobile": "13812345678"})
    assert colour(repeat) == "orange"
    shown = parse_iso(first_at).astimezone(CHINA).strftime("%H:%M")
    assert f"首次签到时间 {shown}" in repeat.get_data(as_text=True)
    assert len(qr_checkin.session_attendances(store, session_id)) == 1
    unknown = client.post(path, data={"action": "mobile", "mobile": "13600000000"})
    assert "还没有登记" in unknown.get_data(as_text=True)
    assert "我是李四，签到" in client.get(path).get_data(as_text=True)
    assert qr_checkin.phone_of_checkin(store, session_id, farmer_id) is not None


def test_typed_code_without_token(client, store) -> None:
    session_id = new_session(store)
    code = qr_checkin.poster(store, session_id).code
    assert len(code) == 8 and code.isdigit()
    typed = f"{code[:4]} {code[4:]}".translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert client.post("/c", data={"code": typed}).location == f"/c/{code}"
    assert "马铃薯晚疫病防治培训" in client.get(f"/c/{code}").get_data(as_text=True)
    assert client.get("/c/00000000").status_code == 404


@pytest.mark.parametrize("case", ["forged", "other_session", "expired", "not_yet", "deleted"])
def test_bad_tokens_and_sessions_are_red(client, store, case: str) -> None:
    now = datetime.now(UTC)
    if case == "expired":
        session_id = new_session(
            store,
            starts_at=to_iso(now - timedelta(hours=5)),
            ends_at=to_iso(now - timedelta(hours=3)),
        )
        qr_checkin.poster(store, session_id, margin_minutes=60)
    elif case == "not_yet":
        session_id = new_session(store, starts_at=to_iso(now + timedelta(hours=3)))
        qr_checkin.poster(store, session_id, margin_minutes=30)
    else:
        session_id = new_session(store)
    ticket = qr_checkin.poster(store, session_id)
    token = ticket.token
    if case == "forged":
        token = session_token(b"someone else's key", session_id)
    elif case == "other_session":
        other = new_session(store, "另一场")
        token = qr_checkin.poster(store, other).token
    elif case == "deleted":
        store.delete(p.SESSION, session_id)
    for method in ("get", "post"):
        answer = getattr(client, method)(f"/c/{ticket.code}/{token}", data=NEW_FARMER)
        assert answer.status_code in (403, 404, 410)
        assert colour(answer) == "red"
        text = answer.get_data(as_text=True)
        assert {
            "forged": "二维码无效",
            "other_session": "另一场培训",
            "expired": "签到已结束",
            "not_yet": "还没有开始",
            "deleted": "已取消",
        }[case] in text
    assert not [f for f in store.records(p.FARMER) if f["name"] == "王五"]


def test_expired_margin_is_the_envoys(client, store) -> None:
    now = datetime.now(UTC)
    session_id = new_session(
        store,
        starts_at=to_iso(now - timedelta(hours=3)),
        ends_at=to_iso(now - timedelta(minutes=30)),
    )
    ticket = qr_checkin.poster(store, session_id, margin_minutes=15)
    assert colour(client.get(f"/c/{ticket.code}/{ticket.token}")) == "red"
    qr_checkin.poster(store, session_id, margin_minutes=45)
    assert client.get(f"/c/{ticket.code}/{ticket.token}").status_code == 200


def test_farmer_page_is_light_and_needs_no_script(client, store) -> None:
    session_id = new_session(store)
    page = client.get(qr_path(store, session_id))
    html = page.get_data()
    assert b"<script" not in html and b"<link" not in html and b"<img" not in html
    assert len(html) < 50 * 1024
    # Nothing personal on the page: no other farmer's name or number.
    new_farmer(store, "赵六", "13700000000")
    text = client.get(qr_path(store, session_id)).get_data(as_text=True)
    assert "赵六" not in text and "1370" not in text


def test_unknown_village_is_refused_on_the_form(client, store) -> None:
    path = qr_path(store, new_session(store))
    answer = client.post(path, data={**NEW_FARMER, "village_code": "530102009009"})
    assert answer.status_code == 200 and "data-answer" not in answer.get_data(as_text=True)
    assert 'class="error"' in answer.get_data(as_text=True)
    assert not [f for f in store.records(p.FARMER) if f["name"] == "王五"]
