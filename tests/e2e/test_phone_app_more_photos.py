"""Photos on the phone app at 360 px (issue 21's rules): a camera file given to the input is
reduced on the phone (long side 1600, upright, every metadata gone), placed by the phone's own
position with its accuracy, recorded, and its bytes arrive on the real server after the push
with the record's SHA-256, resumed after the link drops; a refused position and a file that is
no photo are said plainly."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from PIL import Image

from server.figures.performance import performance
from server.store.db import open_db
from shared import photos
from tests.browser import screenshot
from tests.e2e.phone_more import new_session, phone, sync, waiting_changes
from tests.e2e.test_photo_upload import on_server
from tests.helpers import VILLAGE_EAST, LiveServer
from tests.shared.test_photos import camera_jpeg, png_header_only

PLACE = {"latitude": 25.0431, "longitude": 102.7089, "accuracy": 12.0}
# 10:30 in China on 5 December, as the camera wrote it (no offset: China time).
TAKEN = "2026:12:05 10:30:00"


def open_photos(page: Any, session: str) -> None:
    page.evaluate(f"location.hash = '#photos?subject_kind=session&subject_id={session}'")
    page.wait_for_selector("#photo-file")


def server_bytes(server: LiveServer, sha256: str) -> bytes:
    found = on_server(server, sha256)  # its media folder on either engine
    assert found is not None, sha256
    return found


def size_on_phone(page: Any) -> int:
    return int(
        page.evaluate(
            "async () => (await (await import('/app/js/store.js')).listRecords('photo'))[0]"
            ".size_bytes"
        )
    )


def photo_rows(server: LiveServer) -> list[dict[str, Any]]:
    return list(open_db(server.db_path).query("SELECT * FROM photos WHERE deleted = 0"))


def test_a_photo_is_reduced_placed_and_its_bytes_reach_the_server(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    picture = tmp_path / "IMG_20261205_103000.jpg"
    # Held sideways (EXIF orientation 6): 2400×1800 as stored, upright it is 1800×2400.
    picture.write_bytes(camera_jpeg(2400, 1800, orientation=6, taken=TAKEN))
    with phone(browser, live_server, geolocation=PLACE) as page:
        session = new_session(page, "马铃薯晚疫病防治培训", VILLAGE_EAST, "2026-12-05T01:00:00Z")
        open_photos(page, session)
        assert "个人信息" in page.inner_text("#pipl-notice")
        assert page.get_attribute("#photo-file", "capture") == "environment"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.select_option("#photo-kind", "signin_sheet")
        page.context.set_offline(True)  # taken in the village, with no signal
        page.set_input_files("#photo-file", str(picture))
        page.wait_for_selector("#photo-gallery li img")
        assert "照片已保存" in page.inner_text("#photo-message")
        # The list shows a 320 px thumbnail of the upright photo.
        assert page.evaluate(
            "() => { const i = document.querySelector('#photo-gallery li img');"
            " return [i.complete, i.naturalWidth, i.naturalHeight]; }"
        ) == [True, 240, 320]
        place = page.inner_text("#photo-gallery li .photo-place")
        assert "25.04310, 102.70890 ±12 m" == place
        assert page.inner_text("#photo-gallery li .photo-time") == "2026-12-05 10:30"
        screenshot(page, "phone-photos-360")
        # The same picture again is not a second record.
        page.set_input_files("#photo-file", str(picture))
        page.wait_for_function(
            "() => document.querySelector('#photo-message')?.textContent.includes('已经有了')"
        )
        assert page.locator("#photo-gallery li").count() == 1
        assert waiting_changes(page) == 2  # the session and the photo

        page.context.set_offline(False)
        report = sync(page)
        assert report["statuses"] == {"applied": 2}, report
        assert (report["photosSent"], report["photoBytesSent"]) == (1, size_on_phone(page))
        page.evaluate("location.hash = '#photos?subject_kind=session&subject_id=x'")
        open_photos(page, session)
        assert page.inner_text("#photo-gallery li .photo-upload") == "已上传"
        assert "0 张" in page.inner_text("#photo-waiting")

    [row] = photo_rows(live_server)
    assert (row["subject_id"], row["photo_kind"]) == (session, "signin_sheet")
    assert (row["latitude"], row["longitude"], row["accuracy_m"]) == (25.0431, 102.7089, 12.0)
    assert row["taken_at"] == "2026-12-05T02:30:00Z"
    assert (row["width"], row["height"]) == (1200, 1600)
    media = open_db(live_server.db_path).execute(
        "SELECT size, received, complete FROM media WHERE sha256 = ?", [row["sha256"]]
    )
    assert media.fetchone() == (row["size_bytes"], row["size_bytes"], 1)
    data = server_bytes(live_server, row["sha256"])
    assert hashlib.sha256(data).hexdigest() == row["sha256"]
    assert len(data) == row["size_bytes"] <= 260 * 1024
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("JPEG", (1200, 1600))
        # Upright: the red corner block of the sideways original is now top right.
        assert image.getpixel((1200 - 20, 20))[0] > 200 > image.getpixel((20, 20))[0]
        assert not image.getexif() and "comment" not in image.info
    assert b"Zhang San" not in data and b"TestPhone" not in data
    # The bureau counts the session's day as verified: a photo with its time and place.
    db = open_db(live_server.db_path)
    envoy = db.execute("SELECT id FROM envoys WHERE name = '张三'").fetchone()[0]
    [figures] = performance(db, 2026, envoy_id=envoy).rows
    assert (figures.service_days, figures.verified_days) == (1, 1)


def test_a_refused_position_and_a_file_that_is_no_photo_are_said_plainly(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    fake = tmp_path / "scan.jpg"
    fake.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(50_000, 50_000))
    whole = camera_jpeg(1600, 1200)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[: len(whole) // 2])
    picture = tmp_path / "site.jpg"
    picture.write_bytes(camera_jpeg(1600, 1200, taken=TAKEN))
    with phone(browser, live_server) as page:  # the browser refuses the position
        session = new_session(page, "马铃薯晚疫病防治培训", VILLAGE_EAST, "2026-12-05T01:00:00Z")
        open_photos(page, session)
        page.set_input_files("#photo-file", str(fake))
        page.wait_for_selector("#photo-message.more-refused")
        assert "不是可用的照片" in page.inner_text("#photo-message")
        for refused, words in ((bomb, "像素太多50000×50000"), (cut, "损坏或不完整")):
            page.set_input_files("#photo-file", str(refused))
            page.wait_for_function(
                "(words) => document.querySelector('#photo-message.more-refused')"
                "?.textContent.includes(words)",
                arg=words,
            )
        assert waiting_changes(page) == 1
        assert page.locator("#photo-gallery li").count() == 0

        page.set_input_files("#photo-file", str(picture))
        page.wait_for_selector("#photo-gallery li")
        message = page.inner_text("#photo-message")
        assert "没有位置" in message and "未获准使用位置" in message, message
        assert page.inner_text("#photo-gallery li .photo-place") == "无位置"
        sync(page)
        [row] = photo_rows(live_server)
        assert (row["latitude"], row["longitude"], row["accuracy_m"]) == (None, None, None)
        assert row["taken_at"] == "2026-12-05T02:30:00Z"
        # Timed but not placed: the day is claimed, not verified.
        [figures] = performance(open_db(live_server.db_path), 2026, envoy_id=row["envoy_id"]).rows
        assert (figures.service_days, figures.verified_days) == (1, 0)

        # Taken by mistake: deleted, the tombstone syncs and the bytes leave the phone.
        page.on("dialog", lambda dialog: dialog.accept())
        page.click("#photo-gallery li .photo-delete")
        page.wait_for_function("() => !document.querySelector('#photo-gallery li')")
        sync(page)
        kept = page.evaluate(
            "async (sha) => (await import('/app/js/photo_upload.js')).fileBlob(sha)", row["sha256"]
        )
        assert kept is None
    assert photo_rows(live_server) == []
    assert open_db(live_server.db_path).execute("SELECT deleted FROM photos").fetchone() == (1,)


def test_photo_bytes_resume_after_the_link_drops_and_nothing_is_sent_twice(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    picture = tmp_path / "board.jpg"
    # A camera that wrote its own GPS (with its error) and its time zone: those are the photo's.
    picture.write_bytes(camera_jpeg(2400, 1800, taken=TAKEN, offset="+07:00", gps=(24.51, 103.12)))
    with phone(browser, live_server, geolocation=PLACE, network_faults=True) as page:
        session = new_session(page, "展板", VILLAGE_EAST, "2026-12-05T01:00:00Z")
        open_photos(page, session)
        page.set_input_files("#photo-file", str(picture))
        page.wait_for_selector("#photo-gallery li img")
        size = size_on_phone(page)
        assert size > 3 * 32 * 1024, "enough bytes for several chunks"
        offsets: list[int] = []
        kept: list[int] = []

        def link(route: Any) -> None:
            request = route.request
            if request.method != "PUT":
                if len(offsets) >= 3:
                    route.abort()  # the link is down: asking what the server holds fails too
                else:
                    route.continue_()
                return
            offset = int(parse_qs(urlparse(request.url).query)["offset"][0])
            offsets.append(offset)
            if len(offsets) == 2:
                # The server keeps the chunk but its answer is lost on the way.
                route.fetch()
                kept.append(offset)
                route.abort()
            elif len(offsets) >= 3:
                route.abort()
            else:
                route.continue_()

        page.route("**/api/v1/media/**", link)
        first = sync(page)
        assert first["statuses"] == {"applied": 2}, first
        page.unroute("**/api/v1/media/**")
        received = (
            open_db(live_server.db_path).execute("SELECT received, complete FROM media").fetchone()
        )
        # Two chunks held: the first answered, the second's answer lost.
        assert received == (2 * 32 * 1024, 0)

        sent: list[int] = []
        page.on(
            "request",
            lambda r: (
                sent.append(int(parse_qs(urlparse(r.url).query)["offset"][0]))
                if r.method == "PUT" and "/api/v1/media/" in r.url
                else None
            ),
        )
        sync(page)
        # Resumed where the server stood: the kept chunks never went again.
        assert sent == list(range(2 * 32 * 1024, size, 32 * 1024))
        assert offsets[:2] == [0, 32 * 1024] and kept == [32 * 1024]

    [row] = photo_rows(live_server)
    data = server_bytes(live_server, row["sha256"])
    assert len(data) == size and hashlib.sha256(data).hexdigest() == row["sha256"]
    # The phone read the EXIF as shared/photos.py reads it on the laptop, and kept its size.
    laptop = photos.reduce_photo(picture.read_bytes())
    assert (row["latitude"], row["longitude"], row["accuracy_m"], row["taken_at"]) == (
        laptop.latitude,
        laptop.longitude,
        laptop.accuracy_m,
        laptop.taken_at,
    )
    assert row["taken_at"] == "2026-12-05T03:30:00Z" and row["accuracy_m"] == 8.0
    assert (row["width"], row["height"]) == (laptop.width, laptop.height)


def test_a_spoilt_chunk_is_sent_again_and_a_busy_server_is_waited_for(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    picture = tmp_path / "sheet.jpg"
    picture.write_bytes(camera_jpeg(2400, 1800, taken=TAKEN))
    with phone(browser, live_server, geolocation=PLACE, network_faults=True) as page:
        session = new_session(page, "签到表", VILLAGE_EAST, "2026-12-05T01:00:00Z")
        open_photos(page, session)
        page.set_input_files("#photo-file", str(picture))
        page.wait_for_selector("#photo-gallery li img")
        size = size_on_phone(page)
        offsets: list[int] = []

        def link(route: Any) -> None:
            if route.request.method != "PUT":
                route.continue_()
                return
            offsets.append(int(parse_qs(urlparse(route.request.url).query)["offset"][0]))
            if len(offsets) == 2:  # spoilt on the way: the server refuses the chunk
                route.fulfill(
                    status=422,
                    content_type="application/json",
                    body='{"message": "分块校验不符 / the chunk does not match its hash"}',
                )
            elif len(offsets) == 3:  # busy: asked to come back in a second
                route.fulfill(
                    status=429,
                    headers={"Retry-After": "1"},
                    content_type="application/json",
                    body='{"message": "请求太频繁 / too many requests"}',
                )
            else:
                route.continue_()

        page.route("**/api/v1/media/**", link)
        report = sync(page)
        assert report["photosSent"] == 1, report
        chunk = 32 * 1024
        # The refused chunk and the one the busy server did not take went again, nothing else.
        assert offsets == [0, chunk, chunk, *range(chunk, size, chunk)]
    [row] = photo_rows(live_server)
    data = server_bytes(live_server, row["sha256"])
    assert hashlib.sha256(data).hexdigest() == row["sha256"] and len(data) == size
