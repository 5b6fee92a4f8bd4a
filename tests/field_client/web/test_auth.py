"""The envoy's PIN: required for every envoy page, hashed, waits after wrong tries, idle lock; CSRF."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.security import generate_password_hash

from field_client import pin
from field_client.store import FieldStore
from field_client.web import create_app
from tests.field_client.web.conftest import LAN, PIN, make_store, new_session
from tests.shared.test_redirects import NASTY, SITE, browser_host

ENVOY_PAGES = ["/envoy/", "/envoy/cards", "/envoy/phone-qr.png"]


def test_envoy_pages_need_the_pin(client, store) -> None:
    session_id = new_session(store)
    for path in [
        *ENVOY_PAGES,
        f"/envoy/sessions/{session_id}",
        f"/envoy/sessions/{session_id}/poster",
    ]:
        answer = client.get(path)
        assert answer.status_code == 302, path
        assert answer.location.startswith("/login")
    # Writes too: a scan without the PIN checks nobody in.
    assert client.post(f"/envoy/sessions/{session_id}/scan", data={"card": "X"}).status_code == 302


def test_pin_is_stored_hashed(store) -> None:
    stored = store.get("web_pin_hash")
    assert stored and PIN not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_right_pin_opens_and_lock_closes(client) -> None:
    answer = client.post("/login", data={"pin": PIN})
    assert answer.status_code == 302 and answer.location == "/envoy/"
    assert client.get("/envoy/").status_code == 200
    client.post("/logout")
    assert client.get("/envoy/").status_code == 302


def test_wrong_pins_make_it_wait(client, store_path) -> None:
    for left in (2, 1):
        answer = client.post("/login", data={"pin": "0000"})
        assert answer.status_code == 403
        assert f"还可再试 {left} 次" in answer.get_data(as_text=True)
    answer = client.post("/login", data={"pin": "0000"})
    assert "秒后再试" in answer.get_data(as_text=True)
    # While waiting, even the right PIN does not open.
    answer = client.post("/login", data={"pin": PIN})
    assert answer.status_code == 403 and "秒后再试" in answer.get_data(as_text=True)
    assert client.get("/envoy/").status_code == 302


def test_wait_grows_and_ends(tmp_path) -> None:
    store = make_store(str(tmp_path / "f.db"))
    pin.set_pin(store, PIN)
    clock = [1000.0]
    waits = []
    for _ in range(5):
        try:
            pin.check_pin(store, "bad!", "192.168.137.23", now=lambda: clock[0])
        except pin.PinRefused as exc:
            waits.append(exc.wait_s)
        clock[0] += 10_000
    assert waits == [0, 0, 30, 60, 120]
    # After the wait, the right PIN opens and clears the count.
    assert pin.check_pin(store, PIN, "192.168.137.23", now=lambda: clock[0]) is False
    assert store.db.execute("SELECT count(*) FROM pin_failures").fetchone()[0] == 0


def test_idle_lock(store_path) -> None:
    app = create_app(
        store_path, {"TESTING": True, "WTF_CSRF_ENABLED": False, "IDLE_LOCK_MINUTES": 0}
    )
    client = app.test_client()
    client.post("/login", data={"pin": PIN})
    answer = client.get("/envoy/")
    assert answer.status_code == 302 and answer.location.startswith("/login")


def test_first_pin_only_from_this_computer(tmp_path) -> None:
    path = str(tmp_path / "f.db")
    make_store(path).close()
    app = create_app(path, {"TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assert client.get("/login").location == "/setup"
    over_wifi = client.post(
        "/setup",
        data={"pin": "135790", "pin_again": "135790"},
        environ_base={"REMOTE_ADDR": "192.168.137.23"},
    )
    assert "tianjian-field pin" in over_wifi.get_data(as_text=True)
    store = FieldStore(path)
    assert not pin.has_pin(store)
    answer = client.post("/setup", data={"pin": "135790", "pin_again": "135790"})
    assert answer.location == "/envoy/"
    assert pin.has_pin(store)
    store.close()


def test_csrf_is_enforced(store_path) -> None:
    app: Flask = create_app(store_path, {"TESTING": True, "LAN_ADDRESSES": LAN})
    client = app.test_client()
    refused = client.post("/login", data={"pin": PIN})
    assert refused.status_code == 400 and "表单已过期" in refused.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"pin": PIN, "csrf_token": token}).status_code == 302
    # Every envoy form carries the token; a form posted from elsewhere does not.
    store = FieldStore(store_path)
    session_id = new_session(store)
    store.close()
    assert (
        client.post(f"/envoy/sessions/{session_id}/scan", data={"card": "ACEFHJK"}).status_code
        == 400
    )
    page = client.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    assert 'name="csrf_token"' in page


def test_language_switch(envoy) -> None:
    assert "今天及以后的培训" in envoy.get("/envoy/").get_data(as_text=True)
    envoy.get("/lang/en?next=/envoy/")
    assert "Today's and upcoming sessions" in envoy.get("/envoy/").get_data(as_text=True)


def test_no_redirect_leaves_the_site(app, envoy) -> None:
    """`/lang/…?next=`, the sign-in form's `next` and `/login?next=` signed in follow only
    paths on this device (shared/redirects.py), for a class of inputs."""
    for target in NASTY:
        answers = [
            app.test_client().get("/lang/en", query_string={"next": target}),
            envoy.get("/login", query_string={"next": target}),
            app.test_client().post("/login", data={"pin": PIN, "next": target}),
        ]
        for answer in answers:
            assert answer.status_code == 302
            assert browser_host(answer.location) == urlsplit(SITE).netloc, target
            assert answer.location.startswith("/") and "evil" not in answer.location
    assert app.test_client().get("/lang/en?next=/envoy/").location == "/envoy/"


def test_a_cookie_saved_before_locking_opens_nothing(app, envoy) -> None:
    saved = envoy.get_cookie("session").value
    assert envoy.get("/envoy/").status_code == 200
    envoy.post("/logout")
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/envoy/").status_code == 302


def test_changing_the_pin_signs_every_other_browser_out(app, envoy) -> None:
    phone = app.test_client()
    assert phone.post("/login", data={"pin": PIN}).status_code == 302
    saved = envoy.get_cookie("session").value
    wrong = envoy.post("/pin", data={"current": "999999", "pin": "135790", "pin_again": "135790"})
    assert wrong.status_code == 422 and "PIN 不正确" in wrong.get_data(as_text=True)
    short = envoy.post("/pin", data={"current": PIN, "pin": "13579", "pin_again": "13579"})
    assert short.status_code == 422 and "6-64" in short.get_data(as_text=True)
    answer = envoy.post(
        "/pin", data={"current": PIN, "pin": "135790", "pin_again": "135790", "next": "/envoy/"}
    )
    assert answer.status_code == 302 and answer.location == "/envoy/"
    assert envoy.get("/envoy/").status_code == 200  # this browser signed in afresh
    assert phone.get("/envoy/").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/envoy/").status_code == 302
    assert app.test_client().post("/login", data={"pin": "135790"}).status_code == 302


def test_an_old_short_pin_opens_then_asks_for_a_longer_one(app, store) -> None:
    with store.transaction():
        store.set("web_pin_hash", generate_password_hash("2468"))
    client = app.test_client()
    answer = client.post("/login", data={"pin": "2468", "next": "/envoy/farmers/"})
    assert answer.status_code == 302 and answer.location.startswith("/pin?next=")
    page = client.get(answer.location).get_data(as_text=True)
    assert "不足 6 位" in page and 'href="/envoy/farmers/"' in page
    assert client.get("/envoy/farmers/").status_code == 200  # still works meanwhile


def test_the_sign_in_address_signed_in_goes_on(envoy) -> None:
    answer = envoy.get("/login?next=/envoy/farmers/")
    assert answer.status_code == 302 and answer.location == "/envoy/farmers/"
