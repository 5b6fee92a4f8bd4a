"""The camera in the phone app's screens: enrolling by the bureau's enrolment QR, checking a
farmer in by the QR card held to the camera (green, orange, red and the laptop's beeps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from field_client import operations
from field_client.checkin_codes import new_card_code, normalise_card_code
from field_client.qr_checkin import MistypedCard, UnknownCard
from server.store.db import init_db
from server.sync.devices import enrolment_qr_text
from tests.browser import screenshot
from tests.e2e.conftest import count_rows
from tests.e2e.fake_camera import LIVE_TRACKS, WATCH_CAMERA, card_frame
from tests.e2e.phone_app import (
    call,
    enrol,
    open_app,
    outbox_states,
    phone_context,
    wait_installed,
)
from tests.helpers import VILLAGE_EAST, LiveServer, enrolled_store, enrolment_code

# Every tone the page plays, as frequencies, so a test hears the answer's beeps.
HEAR_BEEPS = """
window.__tones = [];
const Real = window.AudioContext;
window.AudioContext = class extends Real {
  createOscillator() {
    const osc = super.createOscillator();
    const start = osc.start.bind(osc);
    osc.start = (...args) => { window.__tones.push(osc.frequency.value); return start(...args); };
    return osc;
  }
};
"""


# The page as the phone's screen locking (hidden) or coming back (visible) makes it.
HIDE = """() => {
  Object.defineProperty(document, "visibilityState", { value: "STATE", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def laptop_farmer(server: LiveServer, tmp_path: Path) -> str:
    """李四, registered from 张三's laptop and synced: the phone pulls him into its roster."""
    store = enrolled_store(server, str(tmp_path / "laptop.db"), "张三")
    try:
        farmer_id = operations.register_farmer(
            store, name="李四", village="东村", mobile="13800138001"
        )
        operations.sync_device(store, retries=1, backoff=0.05)
    finally:
        store.close()
    return farmer_id


def test_enrol_by_scanning_the_enrolment_qr(live_server: LiveServer, fake_camera: Any) -> None:
    qr = enrolment_qr_text(live_server.url, enrolment_code(live_server.db_path, "张三"))
    page = fake_camera([card_frame(qr, qr_pixels=240)])
    page.goto(f"{live_server.url}/app/")
    page.click("[data-action=scan-enrol]")
    page.wait_for_selector("[data-screen=sessions]", timeout=30_000)
    db = init_db(live_server.db_path)
    try:
        enrolled = db.execute(
            "SELECT count(*) FROM devices WHERE name = ?", ["手机应用 phone app"]
        ).fetchone()[0]
    finally:
        db.close()
    assert enrolled == 1
    # The camera is off once the code is read.
    assert page.locator("video").count() == 0


def test_enrolment_qr_of_another_server_or_no_enrolment_qr_is_refused(
    live_server: LiveServer, browser: Any
) -> None:
    context = phone_context(browser)
    try:
        page = open_app(context, live_server)
        page.wait_for_selector("input[name=code]")
        read = """async (text) => {
          const m = await import("/app/js/scan_screens.js");
          try { return {code: m.enrolmentCode(text)}; } catch (e) { return e.text; }
        }"""
        own = enrolment_qr_text(live_server.url, "ABCD-2345")
        assert page.evaluate(read, own) == {"code": "ABCD-2345"}
        other = page.evaluate(read, "tianjian-enroll:http://10.0.0.9:5000#ABCD-2345")
        assert "另一台服务器" in other["zh"] and "another server" in other["en"]
        for text in ("K7MWXA3", "http://evil.example/#ABCD", "tianjian-enroll:javascript:1#ABCD"):
            refused = page.evaluate(read, text)
            assert "不是登记二维码" in refused["zh"], text
    finally:
        context.close()


def test_card_codes_are_read_by_the_laptop_rule(live_server: LiveServer, browser: Any) -> None:
    codes = [new_card_code() for _ in range(40)]
    # Misreads: one character changed, two neighbours swapped, letters outside the alphabet.
    typed = [*codes, *(c[:3] + c[4] + c[3] + c[5:] for c in codes), *(c[:-1] + "A" for c in codes)]
    typed += [c.lower() for c in codes[:5]] + [f"{c[:3]}-{c[3:]}" for c in codes[:5]]
    typed += ["", "K7MWXA", "K7MWXA3Q", "0OIL1ZS", "ＫＡＣＥＦＨＪ"]
    context = phone_context(browser)
    try:
        page = open_app(context, live_server)
        read = page.evaluate(
            """async (texts) => {
              const m = await import("/app/js/cards.js");
              return texts.map((text) => m.normaliseCardCode(text));
            }""",
            typed,
        )
        made = page.evaluate(
            """async () => {
              const m = await import("/app/js/cards.js");
              return Array.from({length: 50}, () => m.newCardCode());
            }"""
        )
    finally:
        context.close()
    assert read == [normalise_card_code(text) for text in typed]
    assert all(normalise_card_code(code) == code for code in made)


def test_a_card_held_to_the_camera_checks_that_farmer_in(
    live_server: LiveServer, fake_camera: Any, tmp_path: Path
) -> None:
    farmer_id = laptop_farmer(live_server, tmp_path)
    card = new_card_code()
    page = fake_camera([card_frame(card)])
    page.add_init_script(HEAR_BEEPS)
    page.add_init_script(WATCH_CAMERA)
    page.goto(f"{live_server.url}/app/")
    enrol(page, live_server, "张三")
    # The phone's card list holds 李四's card (cards are the device's own, never synced).
    call(page, "store.js", "await m.setMeta('cards', arg);", {card: farmer_id})
    wait_installed(page)
    # In the village: no network; the app, its decoder worker and the .wasm come from the cache.
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("[data-screen=sessions]")

    page.click("[data-action=new-session]")
    page.fill("input[name=title]", "苹果修剪培训")
    page.select_option("select[name=unit_code]", VILLAGE_EAST)
    page.check("input[name=technology_ids] >> nth=0")
    page.click("button[type=submit]")
    page.click("[data-screen=session] [data-action=scan-card]")

    answer = page.wait_for_selector("[data-answer=green]", timeout=30_000)
    assert answer.inner_text() == "签到成功：李四"
    screenshot(page, "phone-app-card-checkin")
    assert page.inner_text("[data-screen=checkin-card] [data-figure=verified]") == "1"
    assert page.evaluate("window.__tones") == [880]
    # The card still before the camera is one card: no second answer, no second check-in.
    page.wait_for_timeout(1500)
    assert page.evaluate("window.__tones") == [880]

    # Typed (a scanner that fails): the same card again is orange, with two middle beeps.
    page.fill("input[name=card]", card.lower())
    page.press("input[name=card]", "Enter")
    orange = page.wait_for_selector("[data-answer=orange]")
    assert orange.inner_text().startswith("已签到：李四，首次签到 ")
    unknown = new_card_code()
    page.fill("input[name=card]", unknown)
    page.press("input[name=card]", "Enter")
    assert (
        page.wait_for_selector("[data-answer=red]").inner_text()
        == UnknownCard.message.split(" / ")[0]
    )
    page.fill("input[name=card]", unknown[:-1] + ("A" if unknown[-1] != "A" else "C"))
    page.press("input[name=card]", "Enter")
    page.wait_for_function(
        "(text) => document.querySelector('[data-answer=red]')?.textContent === text",
        arg=MistypedCard.message.split(" / ")[0],
    )
    assert page.evaluate("window.__tones") == [880, 660, 660, 220, 220]
    assert page.inner_text("[data-figure=verified]") == "1"

    # The phone locked: the camera is off; unlocked: on again, and the card still held is
    # read again, orange.
    page.evaluate(HIDE.replace("STATE", "hidden"))
    page.wait_for_function(f"() => {LIVE_TRACKS} === 0")
    page.evaluate(HIDE.replace("STATE", "visible"))
    page.wait_for_function(f"() => {LIVE_TRACKS} === 1")
    page.wait_for_function(
        "() => document.querySelector('[data-answer]')?.dataset.answer === 'orange'"
    )
    assert page.evaluate("window.__tones")[-2:] == [660, 660]

    # Leaving the screen turns the camera off.
    page.click("text=返回场次")
    page.wait_for_selector("[data-screen=session]")
    page.wait_for_function(f"() => {LIVE_TRACKS} === 0 && !document.querySelector('video')")

    assert outbox_states(page) == {"pending": 2}
    page.context.set_offline(False)
    page.goto(f"{live_server.url}/app/#outbox")
    page.click("[data-action=sync]")
    page.wait_for_selector("[data-figure=pending]:text-is('0')", timeout=20_000)
    db = init_db(live_server.db_path)
    try:
        row = db.execute("SELECT farmer_id, method FROM attendances").fetchone()
    finally:
        db.close()
    assert tuple(row) == (farmer_id, "card_scan")
    assert count_rows(live_server.db_path, "attendances") == 1


READ_CARD_QR = """async (code) => {
  const img = document.querySelector(`[data-card="${code}"] img.card-qr`);
  await img.decode();
  const canvas = new OffscreenCanvas(img.naturalWidth + 40, img.naturalHeight + 40);
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(img, 20, 20);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const worker = new Worker("/app/js/scan_worker.js");
  const answer = await new Promise((resolve) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.postMessage({ id: 1, type: "decode", width: pixels.width, height: pixels.height,
                         buffer: pixels.data.buffer }, [pixels.data.buffer]);
  });
  worker.terminate();
  return answer.text;
}"""


def test_cards_printed_on_the_phone_are_read_by_its_card_checkin(
    live_server: LiveServer, browser: Any, tmp_path: Path
) -> None:
    farmer_id = laptop_farmer(live_server, tmp_path)
    context = phone_context(browser)
    try:
        page = open_app(context, live_server)
        enrol(page, live_server, "张三")
        page.goto(f"{live_server.url}/app/#cards")
        page.fill("[data-screen=cards] input[name=q]", "李四")
        page.click(f"li[data-farmer='{farmer_id}'] [data-action=add-card]")
        card = page.wait_for_selector(".card-sheet [data-card]")
        code = card.get_attribute("data-card")
        assert normalise_card_code(code) == code
        assert "李四" in card.inner_text() and code in card.inner_text()
        screenshot(page, "phone-app-card-sheet")
        # The QR says the card code and nothing else (no name, no mobile).
        assert page.evaluate(READ_CARD_QR, code) == code
        assert call(page, "store.js", "return await m.getMeta('cards');") == {code: farmer_id}
        # A reprint is the same card.
        page.reload()
        page.fill("[data-screen=cards] input[name=q]", "李四")
        page.click(f"li[data-farmer='{farmer_id}'] [data-action=add-card]")
        assert page.wait_for_selector(".card-sheet [data-card]").get_attribute("data-card") == code

        page.goto(f"{live_server.url}/app/#sessions")
        page.click("[data-action=new-session]")
        page.fill("input[name=title]", "苹果修剪培训")
        page.select_option("select[name=unit_code]", VILLAGE_EAST)
        page.check("input[name=technology_ids] >> nth=0")
        page.click("button[type=submit]")
        page.click("[data-screen=session] [data-action=scan-card]")
        page.fill("input[name=card]", code)
        page.press("input[name=card]", "Enter")
        assert page.wait_for_selector("[data-answer=green]").inner_text() == "签到成功：李四"
    finally:
        context.close()
