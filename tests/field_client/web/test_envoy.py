"""The envoy's session page: card scanner (with and without JavaScript), live count, start page."""

from __future__ import annotations

import re

from field_client import qr_checkin
from field_client.checkin_codes import new_card_code
from shared import protocol as p
from shared.ids import attendance_id
from tests.field_client.web.conftest import new_farmer, new_session


def answer_of(response) -> tuple[str, str]:
    found = re.search(r'data-answer="(\w+)">([^<]*)<', response.get_data(as_text=True))
    return (found.group(1), found.group(2)) if found else ("", "")


def test_scanned_card_checks_in_at_once(envoy, store) -> None:
    session_id = new_session(store)
    farmer_id = new_farmer(store)
    [(code, _farmer)] = qr_checkin.issue_cards(store, [farmer_id])
    url = f"/envoy/sessions/{session_id}/scan"
    # As htmx sends it: only the answer comes back.
    first = envoy.post(url, data={"card": code.lower() + "\n"}, headers={"HX-Request": "true"})
    assert answer_of(first) == ("green", "签到成功：李四")
    attendance = store.record(p.ATTENDANCE, attendance_id(session_id, farmer_id))
    assert attendance["method"] == "card_scan"
    again = envoy.post(url, data={"card": code}, headers={"HX-Request": "true"})
    colour, text = answer_of(again)
    assert colour == "orange" and text.startswith("已签到：李四，首次签到")
    # Without JavaScript: the page comes back with the answer on it.
    plain = envoy.post(url, data={"card": code}, follow_redirects=True)
    assert answer_of(plain)[0] == "orange"
    assert len(qr_checkin.session_attendances(store, session_id)) == 1


def test_unknown_or_mistyped_card_is_refused(envoy, store) -> None:
    session_id = new_session(store)
    farmer_id = new_farmer(store)
    [(code, _farmer)] = qr_checkin.issue_cards(store, [farmer_id])
    url = f"/envoy/sessions/{session_id}/scan"
    mistyped = code[:-1] + ("A" if code[-1] != "A" else "C")
    colour, text = answer_of(envoy.post(url, data={"card": mistyped}, headers={"HX-Request": "1"}))
    assert colour == "red" and "校验位不符" in text
    unknown = new_card_code()
    colour, text = answer_of(envoy.post(url, data={"card": unknown}, headers={"HX-Request": "1"}))
    assert colour == "red" and "未知的签到卡" in text
    assert qr_checkin.session_attendances(store, session_id) == []


def test_live_count_shows_new_check_ins(envoy, store) -> None:
    session_id = new_session(store)
    page = envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    assert 'hx-trigger="every 3s"' in page and "htmx.min.js" in page
    assert "autofocus" in page and 'id="card"' in page
    live = envoy.get(f"/envoy/sessions/{session_id}/live").get_data(as_text=True)
    assert re.search(r'id="verified-count">0<', live)
    qr_checkin.checkin(store, session_id, new_farmer(store), "qr_self")
    live = envoy.get(f"/envoy/sessions/{session_id}/live").get_data(as_text=True)
    assert re.search(r'id="verified-count">1<', live)
    assert "138****5678" in live and "13812345678" not in live


def test_home_lists_sessions_and_the_phone_address(envoy, store) -> None:
    new_session(store, "今天的培训")
    page = envoy.get("/envoy/").get_data(as_text=True)
    assert "今天的培训" in page and "http://192.168.137.1:8080/envoy/" in page


def test_htmx_is_vendored_with_its_licence(client) -> None:
    assert client.get("/static/vendor/htmx/htmx.min.js").status_code == 200
    assert "Zero-Clause BSD" in client.get("/static/vendor/htmx/LICENSE").get_data(as_text=True)


def test_body_size_is_capped(client, store) -> None:
    session_id = new_session(store)
    ticket = qr_checkin.poster(store, session_id)
    answer = client.post(f"/c/{ticket.code}/{ticket.token}", data={"name": "x" * 100_000})
    assert answer.status_code == 413 and "内容过大" in answer.get_data(as_text=True)


def test_replayed_one_time_form_does_nothing(envoy, store) -> None:
    session_id = new_session(store)
    page = envoy.get(f"/envoy/sessions/{session_id}/poster").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    url = f"/envoy/sessions/{session_id}/poster"
    envoy.post(url, data={"margin_minutes": "20", "form_token": token})
    assert qr_checkin.poster(store, session_id).margin_minutes == 20
    replay = envoy.post(
        url, data={"margin_minutes": "90", "form_token": token}, follow_redirects=True
    )
    assert "此表单已提交过" in replay.get_data(as_text=True)
    assert qr_checkin.poster(store, session_id).margin_minutes == 20
    forged = envoy.post(
        url, data={"margin_minutes": "90", "form_token": "x"}, follow_redirects=True
    )
    assert "表单已过期" in forged.get_data(as_text=True)
    assert qr_checkin.poster(store, session_id).margin_minutes == 20
