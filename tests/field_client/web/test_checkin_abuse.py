"""What a stranger's phone on the hotspot tries on the farmers' check-in page (issue 18, 1-3):
someone else's mobile, guessed codes, fake farmers at machine speed."""

from __future__ import annotations

import re

from field_client import checkin_limits, phones, qr_checkin
from field_client.local import secret
from shared import protocol as p
from shared.ids import attendance_id
from tests.field_client.web.conftest import new_farmer, new_session
from tests.field_client.web.test_farmer import NEW_FARMER, colour, qr_path


def at(address: str) -> dict[str, dict[str, str]]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def fake(number: int) -> dict[str, str]:
    return {**NEW_FARMER, "name": f"假农民{number}", "mobile": f"1390000{number:04d}"}


def fakes(store) -> list[dict]:
    return [f for f in store.records(p.FARMER) if f["name"].startswith("假农民")]


# ------------------------------------------------------------------ 18.1 someone else's mobile


def test_a_typed_mobile_shows_no_name_and_checks_nobody_in(client, store) -> None:
    session_id = new_session(store)
    victim = new_farmer(store, "赵六", "13700000000")
    path = qr_path(store, session_id)
    answer = client.post(path, data={"action": "mobile", "mobile": "13700000000"})
    assert "赵六" not in answer.get_data(as_text=True) and colour(answer) == ""
    assert not qr_checkin.is_checked_in(store, session_id, victim)
    wrong = client.post(path, data={"action": "prove", "mobile": "13700000000", "name": "张三"})
    text = wrong.get_data(as_text=True)
    assert "赵六" not in text and "不符" in text and colour(wrong) == ""
    assert not qr_checkin.is_checked_in(store, session_id, victim)
    # The phone was not given the farmer either.
    page = client.get(path).get_data(as_text=True)
    assert "赵六" not in page and "我是" not in page


def test_registering_with_someone_elses_mobile_checks_nobody_in(client, store) -> None:
    session_id = new_session(store)
    victim = new_farmer(store, "赵六", "13700000000")
    path = qr_path(store, session_id)
    answer = client.post(path, data={**NEW_FARMER, "name": "冒名者", "mobile": "13700000000"})
    text = answer.get_data(as_text=True)
    assert colour(answer) == "" and "赵六" not in text and "已有人登记" in text
    assert not qr_checkin.is_checked_in(store, session_id, victim)
    assert not qr_checkin.session_attendances(store, session_id)
    assert not [f for f in store.records(p.FARMER) if f["name"] == "冒名者"]
    assert "赵六" not in client.get(path).get_data(as_text=True)
    # The farmer themself, registering again with their own name, is simply checked in.
    own = client.post(path, data={**NEW_FARMER, "name": "赵六", "mobile": "13700000000"})
    assert colour(own) == "green" and qr_checkin.is_checked_in(store, session_id, victim)
    assert len([f for f in store.records(p.FARMER) if f["mobile"] == "13700000000"]) == 1


def test_names_tried_for_one_mobile_are_limited(client, store) -> None:
    session_id = new_session(store)
    victim = new_farmer(store, "赵六", "13700000000")
    path = qr_path(store, session_id)
    for n, guess in enumerate(["张三", "李四", "王五", "钱七"]):
        # From a new address each time: the limit on the mobile holds across addresses.
        client.post(
            path,
            data={"action": "prove", "mobile": "13700000000", "name": guess},
            **at(f"10.0.0.{n + 2}"),
        )
    right = client.post(
        path, data={"action": "prove", "mobile": "13700000000", "name": "赵六"}, **at("10.0.0.9")
    )
    assert right.status_code == 429 and "尝试次数过多" in right.get_data(as_text=True)
    assert not qr_checkin.is_checked_in(store, session_id, victim)


def test_typed_mobiles_are_limited_per_address(client, store) -> None:
    path = qr_path(store, new_session(store))
    for n in range(checkin_limits.LOOKUPS_PER_ADDRESS):
        answer = client.post(path, data={"action": "mobile", "mobile": f"1360000{n:04d}"})
        assert "还没有登记" in answer.get_data(as_text=True)
    refused = client.post(path, data={"action": "mobile", "mobile": "13600009999"})
    assert refused.status_code == 429 and "尝试次数过多" in refused.get_data(as_text=True)
    other = client.post(path, data={"action": "mobile", "mobile": "13600009999"}, **at("10.0.2.1"))
    assert other.status_code == 200


# ------------------------------------------------------------------ 18.2 typed codes


def test_guessing_codes_is_slowed_per_address(client, store) -> None:
    session_id = new_session(store)
    code = qr_checkin.poster(store, session_id).code
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(checkin_limits.WRONG_ALLOWED):
        assert client.get(f"/c/{wrong}", **at("10.0.0.7")).status_code == 404
    assert client.get(f"/c/{wrong}", **at("10.0.0.7")).status_code == 404  # one past: blocked
    # Now even the right code waits, from that address only.
    slowed = client.get(f"/c/{code}", **at("10.0.0.7"))
    assert slowed.status_code == 429 and "尝试次数过多" in slowed.get_data(as_text=True)
    assert client.get(f"/c/{code}", **at("10.0.0.8")).status_code == 200
    # A farmer with the poster's QR is not held up.
    assert client.get(qr_path(store, session_id), **at("10.0.0.7")).status_code == 200


def test_four_digit_codes_open_only_with_the_qr(client, store) -> None:
    session_id = new_session(store)
    token = qr_checkin.poster(store, session_id).token
    # A code given before codes had eight digits (its poster printed then).
    with store.transaction() as db:
        db.execute("UPDATE checkin_sessions SET code = '4321' WHERE session_id = ?", [session_id])
    assert client.get("/c/4321").status_code == 404
    assert client.get(f"/c/4321/{token}").status_code == 200


def test_a_check_in_through_a_typed_code_is_marked(client, store) -> None:
    session_id = new_session(store)
    code = qr_checkin.poster(store, session_id).code
    assert colour(client.post(f"/c/{code}", data=NEW_FARMER, **at("10.0.0.3"))) == "green"
    scanned = client.application.test_client()
    other = {**NEW_FARMER, "name": "孙八", "mobile": "13900002222"}
    assert colour(scanned.post(qr_path(store, session_id), data=other, **at("10.0.0.4"))) == "green"
    by_name = {f["name"]: f["id"] for f in store.records(p.FARMER)}
    typed = store.record(p.ATTENDANCE, attendance_id(session_id, by_name["王五"]))
    qr = store.record(p.ATTENDANCE, attendance_id(session_id, by_name["孙八"]))
    assert typed["typed_code"] is True and "typed_code" not in qr
    # Both carry a keyed hash of the client's address, different for the two addresses.
    key = secret(store, phones.PHONE_KEY)
    assert typed["net"] == phones.checkin_net(key, "10.0.0.3") != qr["net"]
    assert not re.search(r"10\.0\.0", str(typed))


# ------------------------------------------------------------------ 18.3 fake farmers


def test_new_registrations_are_limited_per_address(client, store) -> None:
    path = qr_path(store, new_session(store))
    allowed = checkin_limits.NEW_PER_ADDRESS_PER_HOUR
    for n in range(allowed):
        phone = client.application.test_client()  # a fresh cookie each time
        assert colour(phone.post(path, data=fake(n), **at("10.0.0.5"))) == "green"
    refused = client.post(path, data=fake(allowed), **at("10.0.0.5"))
    text = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "新登记太多太快" in text and "请特派员" in text
    assert len(fakes(store)) == allowed
    # Another phone is not held up.
    assert colour(client.post(path, data=fake(50), **at("10.0.0.6"))) == "green"


def test_new_registrations_are_limited_per_minute_on_the_device_until_the_envoy_lifts_it(
    client, envoy, store
) -> None:
    session_id = new_session(store)
    path = qr_path(store, session_id)
    checkin_limits.set_new_per_minute(store, 2)
    for n in range(2):
        assert colour(client.post(path, data=fake(n), **at(f"10.0.1.{n}"))) == "green"
    assert client.post(path, data=fake(2), **at("10.0.1.2")).status_code == 429
    assert len(fakes(store)) == 2
    poster = envoy.get(f"/envoy/sessions/{session_id}/poster").get_data(as_text=True)
    assert "每分钟 2 位" in poster and "解除上限一小时" in poster
    lifted = envoy.post(f"/envoy/sessions/{session_id}/checkin-limits", data={"lift": "1"})
    assert lifted.status_code == 302
    assert colour(client.post(path, data=fake(3), **at("10.0.1.3"))) == "green"
    assert "恢复上限" in envoy.get(f"/envoy/sessions/{session_id}/poster").get_data(as_text=True)
    envoy.post(f"/envoy/sessions/{session_id}/checkin-limits", data={"lift": "0"})
    assert client.post(path, data=fake(4), **at("10.0.1.4")).status_code == 429
    # A stranger cannot lift them: the route is the envoy's.
    stranger = client.post(f"/envoy/sessions/{session_id}/checkin-limits", data={"lift": "1"})
    assert stranger.status_code in (302, 401, 403)
    assert checkin_limits.lifted_until(store) is None
