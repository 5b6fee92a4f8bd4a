"""Farmers with signal check themselves in from the QR the phone app shows, on the real server
over HTTP in Debian's Chromium: held until the phone syncs the session, then counted once and
brought back to the phone; forged, expired and other sessions' QRs are red; guessing is slowed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import qrcode

from server.store.db import init_db
from shared.clock import to_iso
from tests.e2e.phone_app import call, enrol, open_app, phone_context, wait_installed, watch_errors
from tests.helpers import VILLAGE_EAST

TIMEOUT = 20_000


def scalar(db_path: str, sql: str, params: list[Any] | None = None) -> Any:
    db = init_db(db_path)
    try:
        return db.execute(sql, params or []).fetchone()[0]
    finally:
        db.close()


def new_session(page: Any, starts: datetime) -> str:
    """A session saved on the phone as its session form saves one (not yet synced)."""
    session = {
        "kind": "village_training",
        "title": "马铃薯晚疫病防治培训",
        "unit_code": VILLAGE_EAST,
        "starts_at": to_iso(starts.replace(microsecond=0)),
    }
    return str(
        call(
            page,
            "store.js",
            """const who = await m.identity();
               return (await m.saveRecord('session', {...arg, lead_envoy_id: who.envoyId})).id;""",
            session,
        )
    )


def shown_qr(page: Any, session_id: str) -> str:
    """Tap "show QR" on the session's screen; the address the QR shows, checked against its
    modules."""
    page.evaluate(f"() => {{ location.hash = 'session?id={session_id}'; }}")
    page.click("[data-action=show-qr]", timeout=TIMEOUT)
    card = page.wait_for_selector(".qr-card[data-qr-url]", timeout=TIMEOUT)
    url = str(card.get_attribute("data-qr-url"))
    drawn = page.evaluate(
        """() => {
          const canvas = document.querySelector('canvas.session-qr');
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          return {side: canvas.width, dark: Array.from({length: canvas.width * canvas.width},
                  (_, i) => data[4 * i] < 128)};
        }"""
    )
    assert modules_of(drawn) in encodings(url), "the QR drawn encodes the address shown"
    return url


def modules_of(drawn: dict[str, Any]) -> list[list[bool]]:
    """The drawn QR's modules, read from the canvas's pixels (four-module quiet zone)."""
    side, dark = drawn["side"], drawn["dark"]
    # The finder pattern's top-left corner sits at the quiet zone: its width gives the cell.
    first = next(i for i in range(side) if dark[i * side + i])
    cell = first // 4
    count = side // cell - 8
    return [
        [
            dark[((row + 4) * cell + cell // 2) * side + (col + 4) * cell + cell // 2]
            for col in range(count)
        ]
        for row in range(count)
    ]


def encodings(url: str) -> list[list[list[bool]]]:
    """The address as a byte-mode QR at error correction M, under each of the eight masks."""
    found = []
    for mask in range(8):
        code = qrcode.QRCode(
            error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=mask
        )
        code.add_data(qrcode.util.QRData(url.encode(), mode=qrcode.util.MODE_8BIT_BYTE))
        code.make(fit=True)
        found.append([list(row) for row in code.get_matrix()])
    return found


def farmer_checks_in(browser: Any, url: str, name: str, mobile: str) -> tuple[str, str]:
    """A farmer's own phone opens the QR's address and registers; the colour and the text."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(url)
        page.fill("#name", name)
        page.fill("#mobile", mobile)
        page.select_option("#village", VILLAGE_EAST)
        page.check("input[name=gender][value=female]")
        page.check("input[name=consent]")
        page.click("text=登记并签到")
        answer = page.wait_for_selector("[data-answer]", timeout=TIMEOUT)
        colour = str(answer.get_attribute("data-answer"))
        text = answer.inner_text()
        if colour == "green":
            # The same form again (a reload): orange, nothing added.
            page.go_back()
            page.click("text=登记并签到")
            again = page.wait_for_selector("[data-answer]", timeout=TIMEOUT)
            assert again.get_attribute("data-answer") == "orange"
        return colour, text
    finally:
        context.close()


def red(browser: Any, url: str) -> str:
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(url)
        answer = page.wait_for_selector("[data-answer]", timeout=TIMEOUT)
        assert answer.get_attribute("data-answer") == "red", url
        return str(answer.inner_text())
    finally:
        context.close()


def test_a_farmer_checks_in_from_the_phone_qr_before_the_session_arrives(
    live_server: Any, browser: Any
) -> None:
    context = phone_context(browser)
    page = open_app(context, live_server)
    errors = watch_errors(page)
    enrol(page, live_server, "张三")
    wait_installed(page)
    # No signal where the envoy stands: the app still opens and draws the QR.
    context.set_offline(True)
    page.reload()
    session_id = new_session(page, datetime.now(UTC))
    url = shown_qr(page, session_id)
    assert url.startswith(f"{live_server.url}/f/") and session_id in url
    assert not re.search(r"1[3-9]\d{9}|张三", url), "nothing personal in the QR"

    colour, text = farmer_checks_in(browser, url, "王五", "13900001111")
    assert colour == "green" and "王五" in text
    db = live_server.db_path
    # Held: the session has not come from the phone yet.
    assert scalar(db, "SELECT count(*) FROM sessions WHERE id = ?", [session_id]) == 0
    assert scalar(db, "SELECT count(*) FROM held_changes WHERE waiting_id = ?", [session_id]) == 1
    assert scalar(db, "SELECT count(*) FROM attendances") == 0

    # Back in signal, the phone syncs (by itself when the network returns, or on the button).
    context.set_offline(False)
    call(page, "sync.js", "await m.syncNow();")
    # Counted once, and the phone holds the check-in and the farmer after its sync's pull.
    assert scalar(db, "SELECT count(*) FROM attendances WHERE session_id = ?", [session_id]) == 1
    assert scalar(db, "SELECT count(*) FROM held_changes") == 0
    on_phone = call(page, "store.js", "return await m.checkinsOf(arg);", session_id)
    assert [c["method"] for c in on_phone] == ["qr_self"]
    farmers = call(page, "store.js", "return await m.listRecords('farmer');")
    assert [f["name"] for f in farmers] == ["王五"]
    # The session's screen counts it; syncing again brings nothing twice; the farmer trying
    # again is orange.
    page.evaluate(f"() => {{ location.hash = 'session?id={session_id}&n=1'; }}")
    assert page.inner_text("[data-figure=verified]", timeout=TIMEOUT) == "1"
    call(page, "sync.js", "await m.syncNow();")
    assert scalar(db, "SELECT count(*) FROM attendances") == 1
    colour, _text = farmer_checks_in(browser, url, "王五", "13900001111")
    assert colour == "orange"
    assert scalar(db, "SELECT count(*) FROM attendances") == 1
    assert errors == []
    context.close()


def test_forged_expired_and_other_session_qrs_are_red_and_guessing_is_slowed(
    live_server: Any, browser: Any
) -> None:
    context = phone_context(browser)
    page = open_app(context, live_server)
    enrol(page, live_server, "张三")
    today = shown_qr(page, new_session(page, datetime.now(UTC)))
    # The QR screen fits a 360 px phone, in Chinese first and in English on request.
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert "扫码签到" in page.inner_text("main")
    page.click("#menu-button")
    page.click("[data-lang=en]")
    page.wait_for_selector("#title:text-is('Check-in QR')", timeout=TIMEOUT)
    # The title changes before the screen has drawn itself again: wait for the words themselves.
    page.wait_for_function(
        "() => ['scan this', 'check-in open'].every((w) => document.querySelector('main').innerText.includes(w))",
        timeout=TIMEOUT,
    )
    old = shown_qr(page, new_session(page, datetime.now(UTC) - timedelta(days=3)))
    other_id = new_session(page, datetime.now(UTC))
    head, token = today.rsplit("/", 1)
    forged = f"{head}/{'23456789AB' if token != '23456789AB' else 'BA98765432'}"
    parts = today.split("/")
    parts[5] = other_id
    other = "/".join(parts)
    assert "已结束" in red(browser, old)
    assert "无效" in red(browser, forged)
    assert "无效" in red(browser, other)
    # Enough wrong tokens from one address and even the right QR waits a while.
    for _ in range(5):
        red(browser, forged)
    assert "尝试次数过多" in red(browser, today)
    assert scalar(live_server.db_path, "SELECT count(*) FROM held_changes") == 0
    context.close()
