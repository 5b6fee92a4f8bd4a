"""Photos sent by a device over HTTP to the real server process, then seen in headless Chromium:
an envoy on a 360 px phone sees the session's thumbnails (and a photo still arriving said so),
staff on a desk browser open the whole picture and the summary; another envoy is refused."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from server.accounts import users
from server.store.db import init_db
from tests.browser import screenshot
from tests.helpers import LiveServer, load_demo_reference
from tests.server.media.devices import CHUNK, Device, noise_jpeg

PASSWORD = "photo-password"


@pytest.fixture(scope="module")
def bureau(module_db_path: str) -> Iterator[dict[str, Any]]:
    db_path = module_db_path
    load_demo_reference(db_path)
    server = LiveServer(db_path).start()
    zhang = Device.enrol(server, "张三")
    session = zhang.session()
    site, sheet = noise_jpeg(1200, 900, seed=50), noise_jpeg(600, 800, seed=51)
    zhang.photo(session, site)
    zhang.photo(session, sheet, photo_kind="signin_sheet")
    zhang.send(site)
    zhang.send(sheet, start=0, stop=CHUNK)
    db = init_db(db_path)
    users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang.envoy_id)
    li = db.execute("SELECT id FROM envoys WHERE name = '李梅'").fetchone()[0]
    users.add_user(db, "li", users.ENVOY, PASSWORD, li)
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    db.close()
    yield {"server": server, "session": session, "site": site}
    server.stop()


def sign_in(page: Any, url: str, name: str) -> None:
    page.goto(url)
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#signin-submit")


def test_an_envoy_sees_the_sessions_photos_on_a_phone(
    phone_page: Any, bureau: dict[str, Any]
) -> None:
    server, page = bureau["server"], phone_page
    sign_in(page, f"{server.url}/records/session/{bureau['session']}", "zhang")
    photos = page.locator("#photos")
    assert "照片（2）" in photos.inner_text()
    thumb = photos.locator("img").first
    thumb.wait_for()
    # The thumbnail really loaded (same-site image, allowed by the pages' CSP).
    assert page.evaluate("(img) => img.complete && img.naturalWidth", thumb.element_handle()) == 320
    text = photos.inner_text()
    assert "现场照片" in text and "签到表" in text and "照片尚未全部上传" in text
    assert "拍摄于 2026年5月1日 10:15" in text
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    screenshot(page, "photos-session-phone")


def test_staff_open_the_whole_picture_and_the_summary_shows_it(
    desk_page: Any, bureau: dict[str, Any]
) -> None:
    server, page = bureau["server"], desk_page
    sign_in(page, f"{server.url}/records/session/{bureau['session']}", "staff")
    page.locator("#photos a img").first.click()
    # page.url changes when the navigation commits, before Chromium's image document holds
    # its <img>: wait for the picture itself, as a reader's eye does.
    page.wait_for_url(f"**{media_path(bureau)}")
    page.wait_for_function("() => document.images.length === 1 && document.images[0].complete")
    assert page.evaluate("document.images[0].naturalWidth") == 1200
    page.goto(f"{server.url}/summary?year=2026")
    section = page.locator("#large-training-photos")
    assert "大型培训现场照片" in section.inner_text()
    assert page.evaluate(
        "() => [...document.querySelectorAll('#large-training-photos img')]"
        ".map(i => i.complete && i.naturalWidth)"
    ) == [320]


def test_another_envoy_cannot_open_the_picture(desk_page: Any, bureau: dict[str, Any]) -> None:
    server, page = bureau["server"], desk_page
    sign_in(page, f"{server.url}/records", "li")
    answer = page.goto(f"{server.url}{media_path(bureau)}")
    assert answer is not None and answer.status == 403
    assert "只能查看自己记录的照片" in page.inner_text("body")


def media_path(bureau: dict[str, Any]) -> str:
    return f"/media/{hashlib.sha256(bureau['site']).hexdigest()}"
