"""Photos on the envoy's pages: the camera form with the PIPL notice, thumbnails, refusals,
the size cap and CSRF, and what waits to upload on the sync page."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient

from field_client import photos
from field_client.store import FieldStore
from field_client.web import create_app
from shared import protocol as p
from tests.field_client.web.conftest import LAN, PIN, new_session
from tests.helpers import VILLAGE_EAST
from tests.shared.test_photos import camera_jpeg, png_header_only


def send(client: FlaskClient, path: str, data: bytes, **fields: str) -> object:
    form: dict[str, object] = {"photo": (io.BytesIO(data), "IMG_0001.jpg"), **fields}
    return client.post(path, data=form, content_type="multipart/form-data")


def photo_count(store: FieldStore) -> int:
    return len(store.records(p.PHOTO, include_deleted=True))


def test_a_session_page_takes_photos_with_the_camera_and_shows_them(
    envoy: FlaskClient, store: FieldStore
) -> None:
    session_id = new_session(store)
    page = envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    assert 'type="file" accept="image/*" capture="environment"' in page
    assert 'enctype="multipart/form-data"' in page
    # The notice where photos are taken, in Chinese first.
    assert "个人信息" in page and "不需要拍农民的脸" in page
    assert "签到表" in page and "展板" in page and "观察照片" not in page

    answer = send(
        envoy,
        f"/envoy/photos/session/{session_id}",
        camera_jpeg(2000, 1500, taken="2026:12:05 10:30:00", gps=(25.04, 102.71)),
        photo_kind="signin_sheet",
        note="第一页",
    )
    assert answer.status_code == 303  # type: ignore[attr-defined]
    [record] = store.records(p.PHOTO)
    assert record["photo_kind"] == "signin_sheet" and record["note"] == "第一页"
    page = envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    assert "照片已添加" in page
    assert f"/envoy/photos/{record['sha256']}/thumb.jpg" in page
    assert "拍摄于 2026-12-05 10:30" in page and "25.04000, 102.71000" in page
    assert "待上传（已传 0 /" in page
    thumb = envoy.get(f"/envoy/photos/{record['sha256']}/thumb.jpg")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert "private" in thumb.headers["Cache-Control"]
    full = envoy.get(f"/envoy/photos/{record['sha256']}.jpg")
    assert full.get_data() == photos.photo_path(store, record["sha256"]).read_bytes()


def test_bad_files_are_refused_in_chinese_and_nothing_is_written(
    envoy: FlaskClient, store: FieldStore
) -> None:
    session_id = new_session(store)
    path = f"/envoy/photos/session/{session_id}"
    for data, words in (
        (b"%PDF-1.4\n1 0 obj << >> endobj\n", "文件不是照片"),
        (camera_jpeg(800, 600)[:3000], "不完整或已损坏"),
        (png_header_only(50_000, 50_000), "像素太多"),
    ):
        answer = send(envoy, path, data, photo_kind="site")
        assert answer.status_code == 303  # type: ignore[attr-defined]
        page = envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
        assert words in page and "/ " not in re.sub(r"<[^>]+>", "", page).split(words)[1][:80]
    answer = send(envoy, path, b"")
    assert "请先选择或拍摄一张照片" in envoy.get(f"/envoy/sessions/{session_id}").get_data(
        as_text=True
    )
    assert photo_count(store) == 0
    assert not photos.media_dir(store).exists()


def test_english_pages_say_it_in_english(envoy: FlaskClient, store: FieldStore) -> None:
    session_id = new_session(store)
    envoy.set_cookie("lang", "en")
    page = envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    assert "faces are never required" in page and "sign-in sheet</option>" in page
    assert "个人信息" not in page
    send(envoy, f"/envoy/photos/session/{session_id}", b"GIF89a", photo_kind="site")
    assert "the file is not a photo" in envoy.get(f"/envoy/sessions/{session_id}").get_data(
        as_text=True
    )


def test_a_photo_past_the_cap_is_refused_before_it_is_read(
    store_path: str, store: FieldStore
) -> None:
    session_id = new_session(store)
    app = create_app(store_path, {"TESTING": True, "WTF_CSRF_ENABLED": False, "LAN_ADDRESSES": LAN})
    envoy = app.test_client()
    envoy.post("/login", data={"pin": PIN})
    from field_client.web import photos as photo_pages

    huge = b"\xff\xd8" + b"\x00" * photo_pages.MAX_UPLOAD_BYTES
    answer = send(envoy, f"/envoy/photos/session/{session_id}", huge)
    assert answer.status_code == 413  # type: ignore[attr-defined]
    assert "照片文件超过 30 MB" in answer.get_data(as_text=True)  # type: ignore[attr-defined]
    # Other forms keep the app's small cap.
    other = envoy.post(f"/envoy/sessions/{session_id}/scan", data={"card": "x" * (80 * 1024)})
    assert other.status_code == 413
    assert photo_count(store) == 0


def test_the_upload_needs_the_csrf_token_and_the_pin(store_path: str, store: FieldStore) -> None:
    session_id = new_session(store)
    app = create_app(store_path, {"TESTING": True, "LAN_ADDRESSES": LAN})
    stranger = app.test_client()
    refused = send(stranger, f"/envoy/photos/session/{session_id}", camera_jpeg(400, 300))
    assert refused.status_code in (302, 400)  # type: ignore[attr-defined]
    envoy = app.test_client()
    login = envoy.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    envoy.post("/login", data={"pin": PIN, "csrf_token": token})
    without = send(envoy, f"/envoy/photos/session/{session_id}", camera_jpeg(400, 300))
    assert without.status_code == 400  # type: ignore[attr-defined]
    page = envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    sent = send(
        envoy,
        f"/envoy/photos/session/{session_id}",
        camera_jpeg(400, 300),
        csrf_token=token,
        photo_kind="display_board",
    )
    assert sent.status_code == 303  # type: ignore[attr-defined]
    assert photo_count(store) == 1
    # A stranger cannot read the photo either.
    sha = store.records(p.PHOTO)[0]["sha256"]
    assert stranger.get(f"/envoy/photos/{sha}.jpg").status_code == 302


def test_an_observation_page_takes_observation_photos(
    envoy: FlaskClient, store: FieldStore
) -> None:
    plot_id = store.create(
        p.PLOT,
        {
            "village_code": VILLAGE_EAST,
            "host_name": "李四",
            "crop": "马铃薯",
            "area_mu": 3,
            "established_on": "2026-04-10",
        },
    )
    observation_id = store.create(
        p.PLOT_OBSERVATION, {"plot_id": plot_id, "observed_on": "2026-05-01", "stage": "seedling"}
    )
    plot_page = envoy.get(f"/envoy/plots/{plot_id}").get_data(as_text=True)
    assert f"/envoy/photos/observation/{observation_id}" in plot_page
    page = envoy.get(f"/envoy/photos/observation/{observation_id}").get_data(as_text=True)
    assert 'capture="environment"' in page and "个人信息" in page
    assert 'name="photo_kind"' not in page
    send(envoy, f"/envoy/photos/observation/{observation_id}", camera_jpeg(600, 400))
    [record] = store.records(p.PHOTO)
    assert (record["subject_kind"], record["photo_kind"]) == ("observation", "observation")
    assert envoy.get("/envoy/photos/observation/nope").status_code == 404
    assert envoy.get("/envoy/photos/" + "a" * 64 + ".jpg").status_code == 404
    assert envoy.get("/envoy/photos/../field.db.jpg").status_code == 404


def test_the_sync_page_shows_photos_waiting(envoy: FlaskClient, store: FieldStore) -> None:
    session_id = new_session(store)
    added = photos.add_photo(store, "session", session_id, camera_jpeg(900, 600), "site")
    page = envoy.get("/envoy/sync/").get_data(as_text=True)
    assert f"待上传照片：1 张（已传 0 / {added.size_bytes // 1024} KB）" in page


def test_a_photo_taken_by_mistake_can_be_deleted(envoy: FlaskClient, store: FieldStore) -> None:
    session_id = new_session(store)
    added = photos.add_photo(store, "session", session_id, camera_jpeg(600, 400), "site")
    page = envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    assert f"/envoy/photos/{added.id}/delete" in page
    answer = envoy.post(f"/envoy/photos/{added.id}/delete")
    assert answer.status_code == 303 and answer.location == f"/envoy/sessions/{session_id}"
    page = envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    assert "照片已删除" in page and "还没有照片" in page
    assert not photos.photo_path(store, added.sha256).exists()
    # Twice deletes once; an unknown photo is a 404.
    assert envoy.post(f"/envoy/photos/{added.id}/delete").status_code == 303
    assert envoy.post("/envoy/photos/nope/delete").status_code == 404


def test_why_an_upload_waits_is_shown_beside_the_photo(
    envoy: FlaskClient, store: FieldStore
) -> None:
    session_id = new_session(store)
    added = photos.add_photo(store, "session", session_id, camera_jpeg(600, 400), "site")
    photos.note_upload(
        store, added.sha256, 0, False, "服务器还没有这张照片的记录 / the server lacks the record"
    )
    page = envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    assert "服务器还没有这张照片的记录" in page and "lacks the record" not in page
