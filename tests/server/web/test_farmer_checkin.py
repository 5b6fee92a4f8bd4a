"""The server's farmer page for the QR the phone app shows: held until the session arrives and
then counted once, red for forged, expired and other sessions' tokens, floods slowed, names
shown only to the phone that held them, CSRF on its forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient

from server.store.db import init_db
from shared import protocol as p
from shared.farmer_limits import LOOKUPS_PER_ADDRESS, NEW_PER_ADDRESS_PER_HOUR, WRONG_ALLOWED
from shared.ids import attendance_id, new_id
from tests.helpers import VILLAGE_EAST
from tests.server.qr_phone import Phone, colour, form_token, push_session, session_now

NEW_FARMER = {
    "action": "new",
    "name": "王五",
    "mobile": "139 0000 1111",
    "village_code": VILLAGE_EAST,
    "gender": "female",
    "birth_year": "1968",
    "consent": "1",
}


def post(client: FlaskClient, path: str, data: dict[str, str]) -> tuple[int, str]:
    page = client.get(path).get_data(as_text=True)
    answer = client.post(path, data={**data, "csrf_token": form_token(page)})
    return answer.status_code, answer.get_data(as_text=True)


def stored(db_path: str, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    db = init_db(db_path)
    try:
        return [tuple(row) for row in db.execute(sql, params or []).fetchall()]
    finally:
        db.close()


def test_held_until_the_session_arrives_then_counted_once_and_pulled(
    app: Flask, client: FlaskClient, db_path: str
) -> None:
    phone = Phone(app.test_client(), db_path)
    session = session_now(phone.envoy_id)
    path = phone.qr_path(session)
    page = client.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # The shared page, with its notice on personal data and a CSRF token on each form.
    assert "仅县科技局可见" in text and 'name="csrf_token"' in text and "东村" in text
    status, answer = post(client, path, NEW_FARMER)
    assert status == 200 and colour(answer) == "green" and "王五" in answer
    assert "特派员的手机同步后" in answer
    # The farmer exists; the check-in waits for its session.
    farmer_id = stored(db_path, "SELECT id FROM farmers WHERE name = '王五'")[0][0]
    assert stored(db_path, "SELECT count(*) FROM attendances") == [(0,)]
    assert stored(db_path, "SELECT waiting_kind, waiting_id FROM held_changes") == [
        ("session", session["id"])
    ]
    # The same farmer again (a reload, a second tap): orange, nothing more held.
    status, again = post(client, path, NEW_FARMER)
    assert colour(again) == "orange" and "已签到" in again
    assert stored(db_path, "SELECT count(*) FROM held_changes") == [(1,)]
    # The phone syncs its session: the check-in is stored, once, and comes back on its pull.
    assert {a["s"] for a in push_session(phone, session)} == {p.APPLIED}
    record_id = attendance_id(session["id"], str(farmer_id))
    assert stored(db_path, "SELECT id, method, envoy_id FROM attendances") == [
        (record_id, "qr_self", phone.envoy_id)
    ]
    assert stored(db_path, "SELECT count(*) FROM held_changes") == [(0,)]
    pulled = {(r["k"], r["r"].get("id")) for r in phone.pull()}
    assert (p.ATTENDANCE, record_id) in pulled and (p.FARMER, farmer_id) in pulled
    # After it arrived, a third try is orange too and the count stays one.
    status, third = post(client, path, NEW_FARMER)
    assert colour(third) == "orange"
    assert stored(db_path, "SELECT count(*) FROM attendances") == [(1,)]


def test_a_session_already_arrived_is_checked_into_at_once(
    app: Flask, client: FlaskClient, db_path: str
) -> None:
    phone = Phone(app.test_client(), db_path)
    session = session_now(phone.envoy_id)
    push_session(phone, session)
    status, answer = post(client, phone.qr_path(session), NEW_FARMER)
    assert colour(answer) == "green" and "特派员的手机同步后" not in answer
    assert stored(
        db_path, "SELECT count(*) FROM attendances WHERE session_id = ?", [session["id"]]
    ) == [(1,)]
    assert stored(db_path, "SELECT count(*) FROM held_changes") == [(0,)]


def test_the_phone_checking_the_same_farmer_in_counts_once(
    app: Flask, client: FlaskClient, db_path: str
) -> None:
    """Held from the QR, then ticked on the roster by the envoy before syncing: one check-in."""
    phone = Phone(app.test_client(), db_path)
    session = session_now(phone.envoy_id)
    post(client, phone.qr_path(session), NEW_FARMER)
    farmer_id = str(stored(db_path, "SELECT id FROM farmers")[0][0])
    fields = {k: v for k, v in session.items() if k != "id"}
    roster = {
        "session_id": session["id"],
        "farmer_id": farmer_id,
        "checked_in_at": session["starts_at"],
        "method": "roster",
    }
    answers = phone.push((p.SESSION, session["id"], fields), (p.ATTENDANCE, None, roster))
    assert all(a["s"] != p.REJECTED for a in answers)
    assert stored(db_path, "SELECT count(*) FROM attendances") == [(1,)]


def test_forged_expired_other_session_and_revoked_tokens_are_red(
    app: Flask, client: FlaskClient, db_path: str
) -> None:
    phone = Phone(app.test_client(), db_path)
    session = session_now(phone.envoy_id)
    other = session_now(phone.envoy_id)
    good = phone.qr_path(session)
    device, session_id, starts, ends, margin, token = good.split("/")[2:]
    cases = {
        "forged": phone.qr_path(session, key="not-the-device-key"),
        "other session": f"/f/{device}/{other['id']}/{starts}/{ends}/{margin}/{token}",
        "window moved": f"/f/{device}/{session_id}/{int(starts) + 86400}/{ends}/{margin}/{token}",
        "margin widened": f"/f/{device}/{session_id}/{starts}/{ends}/1440/{token}",
        "unknown device": f"/f/{new_id()}/{session_id}/{starts}/{ends}/{margin}/{token}",
        "expired": phone.qr_path(
            session_now(phone.envoy_id, datetime.now(UTC) - timedelta(days=3))
        ),
        "not yet": phone.qr_path(session_now(phone.envoy_id, hours=30)),
    }
    for name, path in cases.items():
        answer = client.get(path)
        page = answer.get_data(as_text=True)
        assert colour(page) == "red", name
        assert answer.status_code in (403, 410), name
    assert "已结束" in client.get(cases["expired"]).get_data(as_text=True)
    assert "还没有开始" in client.get(cases["not yet"]).get_data(as_text=True)
    # A check-in posted to a forged address is refused too, and nothing is written.
    answer = client.post(cases["forged"], data={**NEW_FARMER, "csrf_token": "x"})
    assert answer.status_code in (400, 403)
    assert stored(db_path, "SELECT count(*) FROM farmers WHERE name = '王五'") == [(0,)]
    # A revoked device's QR no longer opens.
    stored_db = init_db(db_path)
    stored_db.execute("UPDATE devices SET revoked_at = '2026-01-01T00:00:00Z'")
    stored_db.conn.commit()
    stored_db.close()
    assert colour(client.get(good).get_data(as_text=True)) == "red"


def test_a_deleted_session_is_red(app: Flask, client: FlaskClient, db_path: str) -> None:
    phone = Phone(app.test_client(), db_path)
    session = session_now(phone.envoy_id)
    push_session(phone, session)
    phone.push((p.SESSION, session["id"], {"deleted": True}))
    answer = client.get(phone.qr_path(session))
    assert answer.status_code == 410 and "已取消" in answer.get_data(as_text=True)


def test_a_village_not_on_the_list_registers_nobody(
    app: Flask, client: FlaskClient, db_path: str
) -> None:
    phone = Phone(app.test_client(), db_path)
    path = phone.qr_path(session_now(phone.envoy_id))
    status, answer = post(client, path, {**NEW_FARMER, "village_code": "999999999999"})
    assert status == 422 and colour(answer) == "red" and "村" in answer
    assert stored(db_path, "SELECT count(*) FROM farmers") == [(0,)]
    assert stored(db_path, "SELECT count(*) FROM held_changes") == [(0,)]


def test_the_form_needs_its_csrf_token(app: Flask, client: FlaskClient, db_path: str) -> None:
    phone = Phone(app.test_client(), db_path)
    path = phone.qr_path(session_now(phone.envoy_id))
    client.get(path)
    assert client.post(path, data=NEW_FARMER).status_code == 400
    assert stored(db_path, "SELECT count(*) FROM farmers WHERE name = '王五'") == [(0,)]


def test_wrong_tokens_from_one_address_are_slowed(
    app: Flask, client: FlaskClient, db_path: str
) -> None:
    phone = Phone(app.test_client(), db_path)
    session = session_now(phone.envoy_id)
    forged = phone.qr_path(session, key="guess")
    for _ in range(WRONG_ALLOWED + 1):
        assert client.get(forged).status_code == 403
    # Now even the right QR waits from this address; another address goes on.
    blocked = client.get(phone.qr_path(session))
    assert blocked.status_code == 429 and "尝试次数过多" in blocked.get_data(as_text=True)
    elsewhere = client.get(phone.qr_path(session), environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert elsewhere.status_code == 200


def test_registrations_and_lookups_from_one_address_are_limited(
    app: Flask, client: FlaskClient, db_path: str
) -> None:
    phone = Phone(app.test_client(), db_path)
    path = phone.qr_path(session_now(phone.envoy_id))
    for n in range(NEW_PER_ADDRESS_PER_HOUR):
        fresh = app.test_client()
        status, answer = post(
            fresh, path, {**NEW_FARMER, "name": f"农户{n}", "mobile": f"1390000{n:04d}"}
        )
        assert colour(answer) == "green", answer
    status, answer = post(app.test_client(), path, {**NEW_FARMER, "mobile": "13900009999"})
    assert status == 429 and colour(answer) == "red" and "新登记太多" in answer
    for n in range(LOOKUPS_PER_ADDRESS):
        post(client, path, {"action": "mobile", "mobile": f"1370000{n:04d}"})
    status, answer = post(client, path, {"action": "mobile", "mobile": "13700009999"})
    assert status == 429 and colour(answer) == "red"


def test_a_typed_mobile_shows_no_name_until_proved(
    app: Flask, client: FlaskClient, db_path: str
) -> None:
    phone = Phone(app.test_client(), db_path)
    session = session_now(phone.envoy_id)
    push_session(phone, session)
    farmer_id = new_id()
    phone.push(
        (
            p.FARMER,
            farmer_id,
            {"name": "李四", "village_code": VILLAGE_EAST, "mobile": "13800002222"},
        )
    )
    path = phone.qr_path(session)
    # Another phone types 李四's number: asked for the name, never shown it.
    status, page = post(client, path, {"action": "mobile", "mobile": "138 0000 2222"})
    assert "李四" not in page and 'value="prove"' in page
    status, wrong = post(client, path, {"action": "prove", "mobile": "13800002222", "name": "张三"})
    assert "李四" not in wrong and "不符" in wrong
    assert stored(db_path, "SELECT count(*) FROM attendances") == [(0,)]
    # Registering anew with the number but another name checks nobody in.
    status, taken = post(client, path, {**NEW_FARMER, "mobile": "13800002222"})
    assert "已有人登记" in taken and "李四" not in taken
    # The registered name proves it: green, and this phone is offered 李四 from now on.
    status, right = post(
        client, path, {"action": "prove", "mobile": "13800002222", "name": "李 四"}
    )
    assert colour(right) == "green" and "李四" in right
    assert stored(db_path, "SELECT farmer_id FROM attendances") == [(farmer_id,)]
    again = client.get(path).get_data(as_text=True)
    assert "我是李四，签到" in again
    assert "我是李四" not in app.test_client().get(path).get_data(as_text=True)


def test_english_on_request(app: Flask, client: FlaskClient, db_path: str) -> None:
    phone = Phone(app.test_client(), db_path)
    path = phone.qr_path(session_now(phone.envoy_id))
    client.get("/lang/en")
    page = client.get(path).get_data(as_text=True)
    assert (
        "First time? Register once" in page and "agricultural science and technology bureau" in page
    )
