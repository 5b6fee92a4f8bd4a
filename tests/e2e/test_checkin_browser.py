"""Farmers and the envoy in headless Chromium at 360 x 740 against a real `tianjian-field serve`."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from field_client import qr_checkin
from field_client.store import FieldStore
from shared import protocol as p
from tests.browser import screenshot
from tests.e2e.field_serve import FieldServer
from tests.field_client.web.conftest import PIN, make_store, new_farmer, new_session


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FieldServer, FieldStore]]:
    path = str(tmp_path / "field.db")
    make_store(path).close()  # no PIN yet: serve sets it from TIANJIAN_FIELD_PIN on first start
    server = FieldServer(path, PIN)
    store = FieldStore(path)
    yield server, store
    store.close()
    server.stop()


def background(page) -> str:
    return page.evaluate("getComputedStyle(document.querySelector('.full')).backgroundColor")


GREEN, ORANGE, RED = "rgb(46, 125, 50)", "rgb(239, 108, 0)", "rgb(198, 40, 40)"


def test_serve_prints_its_address_in_both_languages(served) -> None:
    server, _store = served
    printed = server.stop()
    assert f"http://127.0.0.1:{server.port}/" in printed
    assert "已启动" in printed and "is serving at" in printed


def test_new_farmer_then_returning_then_repeat(served, phone_page) -> None:
    server, store = served
    first = new_session(store, "马铃薯晚疫病防治培训")
    second = new_session(store, "玉米高产栽培培训")
    ticket = qr_checkin.poster(store, first)
    loaded = []
    phone_page.on("requestfinished", lambda request: loaded.append(request))
    opened = phone_page.goto(f"{server.url}/c/{ticket.code}/{ticket.token}")
    phone_page.wait_for_load_state("load")
    # The page and nothing else (a browser's own favicon request aside), under 50 KB.
    fetched = [r for r in loaded if not r.url.endswith("/favicon.ico")]
    assert [r.url for r in fetched] == [opened.url]
    assert sum(r.sizes()["responseBodySize"] for r in fetched) == len(opened.body()) < 50 * 1024
    assert phone_page.evaluate("document.scripts.length") == 0
    phone_page.fill("#name", "王五")
    phone_page.fill("#mobile", "139 0000 1111")
    phone_page.select_option("#village", label="西村")
    phone_page.check("input[name=gender][value=female]")
    phone_page.fill("#birth_year", "1968")
    phone_page.check("input[name=consent]")
    screenshot(phone_page, "checkin-new-farmer-form")
    phone_page.click("text=登记并签到")
    assert phone_page.inner_text("h1") == "签到成功"
    assert "王五" in phone_page.inner_text("body") and background(phone_page) == GREEN
    screenshot(phone_page, "checkin-new-farmer-green")

    # The same phone at the next session: one tap on the name.
    other = qr_checkin.poster(store, second)
    phone_page.goto(f"{server.url}/c/{other.code}/{other.token}")
    phone_page.click("text=我是王五，签到")
    assert phone_page.inner_text("h1") == "签到成功" and background(phone_page) == GREEN
    screenshot(phone_page, "checkin-returning-farmer")

    # Scanning again: orange, the first time shown, nothing added.
    phone_page.goto(f"{server.url}/c/{other.code}/{other.token}")
    phone_page.click("text=我是王五，签到")
    assert phone_page.inner_text("h1") == "已签到" and background(phone_page) == ORANGE
    assert "首次签到时间" in phone_page.inner_text("body")
    screenshot(phone_page, "checkin-repeat-scan")
    farmers = [f for f in store.records(p.FARMER) if f["name"] == "王五"]
    assert len(farmers) == 1
    assert len(qr_checkin.session_attendances(store, first)) == 1
    assert len(qr_checkin.session_attendances(store, second)) == 1


def test_forged_token_is_red(served, phone_page) -> None:
    server, store = served
    ticket = qr_checkin.poster(store, new_session(store))
    phone_page.goto(f"{server.url}/c/{ticket.code}/ABCDEFGHJK")
    assert phone_page.inner_text("h1") == "无法签到" and background(phone_page) == RED
    assert "二维码无效" in phone_page.inner_text("body")
    screenshot(phone_page, "checkin-forged-red")


def sign_in(page, url: str, target: str) -> None:
    page.goto(f"{url}/login?next={target}")
    page.fill("#pin", PIN)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{target}")


def test_card_scanned_through_the_typed_field(served, phone_page) -> None:
    server, store = served
    session_id = new_session(store)
    farmer_id = new_farmer(store, "李四")
    [(code, _farmer)] = qr_checkin.issue_cards(store, [farmer_id])
    sign_in(phone_page, server.url, f"/envoy/sessions/{session_id}")
    # The field has the focus: a keyboard-style scanner just types and presses Enter.
    assert phone_page.evaluate("document.activeElement.id") == "card"
    phone_page.keyboard.type(code)
    phone_page.keyboard.press("Enter")
    phone_page.wait_for_selector("#scan-answer [data-answer=green]")
    assert phone_page.inner_text("#scan-answer") == "签到成功：李四"
    assert phone_page.evaluate("document.activeElement.id") == "card"  # ready for the next card
    phone_page.wait_for_function(
        "() => document.getElementById('verified-count').textContent === '1'", timeout=10_000
    )
    screenshot(phone_page, "scanner-card-green")
    phone_page.keyboard.type(code[:-1] + ("A" if code[-1] != "A" else "C"))
    phone_page.keyboard.press("Enter")
    phone_page.wait_for_selector("#scan-answer [data-answer=red]")
    assert "校验位不符" in phone_page.inner_text("#scan-answer")
    screenshot(phone_page, "scanner-card-red")
    # A check-in from a farmer's phone shows up on the open page by itself.
    qr_checkin.checkin(store, session_id, new_farmer(store, "赵六", "13700000000"), "qr_self")
    phone_page.wait_for_function(
        "() => document.getElementById('verified-count').textContent === '2'", timeout=10_000
    )


def test_poster_prints_on_a4_with_a_readable_qr(served, phone_page) -> None:
    server, store = served
    session_id = new_session(store, "马铃薯晚疫病防治培训")
    sign_in(phone_page, server.url, f"/envoy/sessions/{session_id}/poster")
    phone_page.fill("#ssid", "田间热点")
    phone_page.fill("#password", "12345678")
    phone_page.click("form.settings button[type=submit]")
    phone_page.wait_for_selector(".wifi img")
    phone_page.emulate_media(media="print")
    phone_page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    assert phone_page.is_hidden("form.settings") and phone_page.is_hidden("header.bar")
    text = phone_page.inner_text(".poster")
    ticket = qr_checkin.poster(store, session_id)
    address = f"{server.url}/c/{ticket.code}/{ticket.token}"
    assert address in text and ticket.code in text
    for words in ("马铃薯晚疫病防治培训", "在浏览器打开", "如连不上，请关闭移动数据", "田间热点"):
        assert words in text
    # Under load the poster's QR image can still be on its way when its text is there.
    phone_page.wait_for_function(
        "() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    )
    shot = screenshot(phone_page, "poster-print")
    found = sorted(
        r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(shot.read_bytes())))
    )
    assert found == sorted([address, "WIFI:T:WPA;S:田间热点;P:12345678;;"])
