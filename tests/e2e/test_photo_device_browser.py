"""A photo taken on the envoy's page at 360 px in headless Chromium (a file given to the camera
input), synced from the sync page to the real server, and seen on the bureau's session page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import waitress

from field_client import operations as ops
from field_client import pin
from field_client.web import create_app
from server.accounts import users
from server.store.db import init_db
from tests.browser import screenshot
from tests.helpers import LiveServer, enrolled_store, free_port, load_demo_reference
from tests.shared.test_photos import camera_jpeg

PIN = "246813"
PASSWORD = "photo-password"


@pytest.fixture
def field(db_path: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A real server, a device of 张三 enrolled with it holding one session, and the device's
    pages served by waitress in this process."""
    load_demo_reference(db_path)
    server = LiveServer(db_path).start()
    device_path = str(tmp_path / "field.db")
    store = enrolled_store(server, device_path, "张三")
    session_id = ops.open_session(store, title="马铃薯晚疫病防治培训", unit="东村")
    pin.set_pin(store, PIN)
    db = init_db(db_path)
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    db.close()
    app = create_app(device_path, {"LAN_ADDRESSES": ["127.0.0.1"]})
    served = waitress.create_server(app, host="127.0.0.1", port=free_port(), threads=4)
    threading.Thread(target=served.run, daemon=True).start()
    picture = tmp_path / "IMG_20261205_103000.jpg"
    picture.write_bytes(camera_jpeg(2400, 1800, taken="2026:12:05 10:30:00", gps=(25.04, 102.71)))
    yield {
        "url": f"http://127.0.0.1:{served.effective_port}",
        "server": server,
        "session": session_id,
        "picture": picture,
    }
    served.close()
    store.close()
    server.stop()


def fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_photo_taken_on_the_phone_reaches_the_bureaus_session_page(
    field: dict[str, Any], phone_page: Any, desk_page: Any
) -> None:
    page, url = phone_page, field["url"]
    page.goto(f"{url}/envoy/sessions/{field['session']}")
    page.fill("#pin", PIN)
    page.click("main button[type=submit]")
    page.goto(f"{url}/envoy/sessions/{field['session']}")
    notice = page.inner_text("#pipl-notice")
    assert "个人信息" in notice and "不需要拍农民的脸" in notice
    camera = page.locator("#photo")
    assert camera.get_attribute("accept") == "image/*"
    assert camera.get_attribute("capture") == "environment"
    page.select_option("#photo_kind", "signin_sheet")
    camera.set_input_files(str(field["picture"]))
    page.click("#add-photo")
    page.wait_for_selector("#photos .thumbs img")
    shown = page.inner_text("#photos")
    assert "照片已添加" in page.inner_text("main")
    assert "签到表" in shown and "拍摄于 2026-12-05 10:30" in shown and "待上传" in shown
    thumb = page.locator("#photos .thumbs img").first
    assert page.evaluate("(img) => img.complete && img.naturalWidth", thumb.element_handle()) > 0
    assert fits(page)
    screenshot(page, "envoy-session-photo-phone")

    page.goto(f"{url}/envoy/sync/")
    assert "待上传照片：1 张" in page.inner_text("#photos-waiting")
    page.click("#sync-button")
    page.wait_for_selector("#sync-figures", timeout=30_000)
    assert page.inner_text("[data-figure=photos]").startswith("1")
    assert "待上传照片：0 张" in page.inner_text("#photos-waiting")
    page.goto(f"{url}/envoy/sessions/{field['session']}")
    assert "已上传" in page.inner_text("#photos")
    assert fits(page)

    bureau = desk_page
    server = field["server"]
    bureau.goto(f"{server.url}/records/session/{field['session']}")
    bureau.fill("input[name=name]", "staff")
    bureau.fill("input[name=password]", PASSWORD)
    bureau.click("#signin-submit")
    photos = bureau.locator("#photos")
    assert "签到表" in photos.inner_text()
    image = photos.locator("img").first
    image.wait_for()
    assert bureau.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) > 0
    assert "尚未全部上传" not in photos.inner_text()
    screenshot(bureau, "bureau-session-photo-from-device")
