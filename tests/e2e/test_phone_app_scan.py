"""The phone app's camera scanner (js/scan.js) in Chromium with a fake camera showing QR cards."""

from __future__ import annotations

from typing import Any

from tests.e2e.fake_camera import LIVE_TRACKS, WATCH_CAMERA, card_frame
from tests.helpers import LiveServer

START_SCAN = """async () => {
  const scan = await import("/app/js/scan.js");
  const box = document.createElement("div");
  box.id = "scan-box";
  document.body.append(box);
  window.__abort = new AbortController();
  window.__done = null;
  window.__scan = scan.scanQr(box, { signal: window.__abort.signal }).then(
    (text) => (window.__done = { text }),
    (error) => (window.__done = { name: error.name, code: error.code, message: error.message }),
  );
}"""


def open_app(page: Any, server: LiveServer) -> list[str]:
    """The app's page with the camera watched; returns the list of outside addresses asked."""
    outside: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(server.url) else outside.append(request.url),
    )
    page.add_init_script(WATCH_CAMERA)
    page.goto(f"{server.url}/app/")
    return outside


def test_a_card_shown_to_the_camera_decodes_to_its_text(
    live_server: LiveServer, fake_camera: Any
) -> None:
    page = fake_camera([card_frame("K7MWXA3")])
    outside = open_app(page, live_server)
    page.evaluate(START_SCAN)
    done = page.wait_for_function("() => window.__done", timeout=20_000).json_value()
    assert done == {"text": "K7MWXA3"}
    # The rear camera was asked for, and once read it is off: no live track, no video left.
    assert page.evaluate("window.__constraints.video.facingMode") == {"ideal": "environment"}
    assert page.evaluate("window.__streams.length") == 1
    assert page.evaluate(LIVE_TRACKS) == 0
    assert page.locator("#scan-box video").count() == 0
    # The decoder (script and .wasm) came from this server, not from the package's CDN.
    assert outside == []


def test_the_enrolment_qr_decodes_whole(live_server: LiveServer, fake_camera: Any) -> None:
    text = f"tianjian-enroll:{live_server.url}#ABCD2345EFGH"
    page = fake_camera([card_frame(text, qr_pixels=220)])
    open_app(page, live_server)
    page.evaluate(START_SCAN)
    assert page.wait_for_function("() => window.__done", timeout=20_000).json_value() == {
        "text": text
    }


def test_a_picture_without_a_qr_never_resolves_and_abort_stops_the_camera(
    live_server: LiveServer, fake_camera: Any
) -> None:
    page = fake_camera([card_frame(None)])
    open_app(page, live_server)
    page.evaluate(START_SCAN)
    # Many frames decoded in the worker, none with a QR: the scan is still waiting, camera on.
    page.wait_for_function(
        "() => Number(document.getElementById('scan-box').dataset.scanFrames || 0) >= 15",
        timeout=30_000,
    )
    assert page.evaluate("window.__done") is None
    assert page.evaluate(LIVE_TRACKS) == 1
    assert page.locator("#scan-box video").count() == 1
    page.evaluate("window.__abort.abort()")
    done = page.wait_for_function("() => window.__done", timeout=10_000).json_value()
    assert done["name"] == "AbortError"
    assert page.evaluate(LIVE_TRACKS) == 0
    assert page.evaluate("window.__streams[0].getVideoTracks()[0].readyState") == "ended"
    assert page.locator("#scan-box video").count() == 0


def test_abort_while_the_camera_opens_leaves_it_off(
    live_server: LiveServer, fake_camera: Any
) -> None:
    page = fake_camera([card_frame("K7MWXA3")])
    open_app(page, live_server)
    page.evaluate(START_SCAN)
    page.evaluate("window.__abort.abort()")
    done = page.wait_for_function("() => window.__done", timeout=10_000).json_value()
    assert done["name"] == "AbortError"
    # Whatever opened before the abort was heard is stopped too.
    page.wait_for_timeout(500)
    assert page.evaluate(LIVE_TRACKS) == 0


def test_a_refused_camera_says_so_in_chinese_and_english(
    live_server: LiveServer, fake_camera: Any
) -> None:
    page = fake_camera([card_frame("K7MWXA3")], allowed=False)
    open_app(page, live_server)
    page.evaluate(START_SCAN)
    done = page.wait_for_function("() => window.__done", timeout=20_000).json_value()
    assert done["code"] == "denied"
    assert "相机权限被拒绝" in done["message"]
    assert "相机权限被拒绝" in page.locator("#scan-box .scan-message").inner_text()
    page.evaluate("import('/app/js/i18n.js').then((i18n) => i18n.setLang('en'))")
    page.evaluate(START_SCAN)
    done = page.wait_for_function("() => window.__done", timeout=20_000).json_value()
    assert done["message"].startswith("Camera permission was refused")


def test_a_phone_without_a_camera_is_told_to_type_the_code(
    live_server: LiveServer, fake_camera: Any
) -> None:
    page = fake_camera(None)
    open_app(page, live_server)
    page.evaluate(START_SCAN)
    done = page.wait_for_function("() => window.__done", timeout=20_000).json_value()
    assert done["code"] == "no_camera"
    assert "没有找到相机" in page.locator("#scan-box .scan-message").inner_text()
