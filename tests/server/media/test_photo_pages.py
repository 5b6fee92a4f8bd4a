"""Photos on the bureau's pages: the session page, review page, drill-down and year-end summary
show them with kind, China time and place; the pictures and thumbnails open only for users
allowed to see the record; bytes not all arrived are shown as such."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from server.accounts import users
from server.media.chunks import Chunk, receive_chunk
from server.media.store import MediaStore
from server.store.db import init_db
from shared import protocol as p
from shared.ids import new_id
from tests.helpers import sign_in
from tests.server.fieldwork import Envoy
from tests.server.media.devices import CHUNK, add_photo, noise_jpeg

PASSWORD = "photo-password"


def upload(app: Flask, envoy: Envoy, data: bytes, stop: int | None = None) -> None:
    """The bytes as the chunk API keeps them (the HTTP side is tested in test_chunks.py)."""
    db = init_db(app.config["DATABASE"])
    store = MediaStore(Path(app.config["DATABASE"]).with_name("server-media"))
    sha = hashlib.sha256(data).hexdigest()
    end = len(data) if stop is None else stop
    try:
        for offset in range(0, end, CHUNK):
            part = data[offset : min(offset + CHUNK, end)]
            chunk = Chunk(sha, offset, len(data), part, hashlib.sha256(part).hexdigest())
            receive_chunk(db, store, envoy.envoy_id, chunk, 2 * 1024 * 1024)
    finally:
        db.close()


@pytest.fixture
def photographed(app: Flask, db_path: str) -> Iterator[dict[str, Any]]:
    """张三 runs a large training with a site photo and a sign-in sheet whose bytes are still
    arriving; 李梅 has a session of her own with one photo."""
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    east = zhang.session(kind="large_training", reported_headcount=80)
    site, sheet = noise_jpeg(900, 700, seed=40), noise_jpeg(500, 400, seed=41)
    site_id = add_photo(zhang, east, site)
    sheet_id = add_photo(zhang, east, sheet, "signin_sheet", taken_at=None)
    # A display board taken earlier, whole too: the summary still prefers the site photo.
    board = noise_jpeg(300, 200, seed=43)
    add_photo(zhang, east, board, "display_board", taken_at="2026-05-01T01:05:00Z")
    west = li.session()
    lis = noise_jpeg(300, 300, seed=42)
    add_photo(li, west, lis)
    plot = li.plot()
    observation = new_id()
    li.push(
        p.PLOT_OBSERVATION,
        {"plot_id": plot, "observed_on": "2026-06-01", "stage": "seedling"},
        observation,
    )
    field = noise_jpeg(320, 240, seed=44)
    add_photo(li, observation, field, "observation", subject_kind="observation")
    upload(app, zhang, site)
    upload(app, zhang, sheet, stop=CHUNK)
    upload(app, zhang, board)
    upload(app, li, lis)
    upload(app, li, field)
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang.envoy_id)
    users.add_user(db, "li", users.ENVOY, PASSWORD, li.envoy_id)
    yield {
        "east": east,
        "west": west,
        "site": site,
        "site_id": site_id,
        "sheet": sheet,
        "sheet_id": sheet_id,
        "li_photo": lis,
        "board": board,
        "observation": observation,
        "field": field,
    }
    db.close()


def client_of(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, name, PASSWORD).status_code == 302
    return client


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_session_page_shows_its_photos_with_kind_china_time_and_place(
    app: Flask, photographed: dict[str, Any]
) -> None:
    page = (
        client_of(app, "staff")
        .get(f"/records/session/{photographed['east']}")
        .get_data(as_text=True)
    )
    photos = page[page.index('id="photos"') :]
    assert "照片（3）" in photos
    assert "现场照片" in photos and "签到表" in photos and "展板" in photos
    # 02:15 UTC is 10:15 in China.
    assert "拍摄于 2026年5月1日 10:15" in photos
    # No camera time on the sheet: the device's time when it was added, said as such.
    assert "添加于 2026年5月1日 10:16" in photos
    assert "25.04120, 102.71230 (±8 米)" in photos
    assert f"/media/{sha(photographed['site'])}/thumb" in photos
    # The sign-in sheet's bytes are still arriving: said so, with no picture to break.
    assert "照片尚未全部上传" in photos
    assert f"/media/{sha(photographed['sheet'])}" not in photos
    assert "已收到 64 /" in photos


def test_the_session_page_in_english(app: Flask, photographed: dict[str, Any]) -> None:
    client = client_of(app, "staff")
    client.get("/lang/en")
    page = client.get(f"/records/session/{photographed['east']}").get_data(as_text=True)
    assert "site photo" in page and "sign-in sheet" in page
    assert "Taken 1 May 2026 10:15" in page and "not all arrived" in page


def test_a_thumbnail_is_made_once_and_kept_in_the_media_folder(
    app: Flask, photographed: dict[str, Any]
) -> None:
    client = client_of(app, "staff")
    answer = client.get(f"/media/{sha(photographed['site'])}/thumb")
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
    assert "private" in answer.headers["Cache-Control"]
    thumb = Image.open(io.BytesIO(answer.get_data()))
    assert max(thumb.size) == 320 and thumb.size[0] > thumb.size[1]
    kept = list(Path(app.config["DATABASE"]).with_name("server-media").glob("thumbs/*/*.jpg"))
    assert len(kept) == 1
    made = kept[0].stat().st_mtime_ns
    assert client.get(f"/media/{sha(photographed['site'])}/thumb").get_data() == answer.get_data()
    assert kept[0].stat().st_mtime_ns == made
    whole = client.get(f"/media/{sha(photographed['site'])}")
    assert whole.status_code == 200 and whole.get_data() == photographed["site"]


def test_an_envoy_user_opens_only_their_own_photos(
    app: Flask, photographed: dict[str, Any]
) -> None:
    zhang, li = client_of(app, "zhang"), client_of(app, "li")
    site = sha(photographed["site"])
    assert zhang.get(f"/media/{site}").status_code == 200
    for path in (f"/media/{site}", f"/media/{site}/thumb"):
        refused = li.get(path)
        assert refused.status_code == 403
        assert "只能查看自己记录的照片" in refused.get_data(as_text=True)
    assert li.get(f"/media/{sha(photographed['li_photo'])}/thumb").status_code == 200
    assert li.get(f"/review/photo/{photographed['site_id']}").status_code == 403
    # Signed out: sent to sign in, nothing served.
    anonymous = app.test_client().get(f"/media/{site}")
    assert anonymous.status_code == 302 and "/signin" in anonymous.headers["Location"]


def test_bytes_not_all_arrived_or_unknown_are_said_so(
    app: Flask, photographed: dict[str, Any]
) -> None:
    client = client_of(app, "staff")
    waiting = client.get(f"/media/{sha(photographed['sheet'])}/thumb")
    assert waiting.status_code == 404
    assert "照片尚未全部上传" in waiting.get_data(as_text=True)
    assert client.get(f"/media/{'a' * 64}").status_code == 404
    assert client.get("/media/..%2F..%2Fserver.db").status_code == 404


def test_the_review_pages_show_a_sessions_photos_and_a_photo_itself(
    app: Flask, photographed: dict[str, Any]
) -> None:
    client = client_of(app, "zhang")
    session = client.get(f"/review/session/{photographed['east']}").get_data(as_text=True)
    assert "现场照片" in session and f"/media/{sha(photographed['site'])}/thumb" in session
    photo = client.get(f"/review/photo/{photographed['site_id']}").get_data(as_text=True)
    assert "审核 · 照片" in photo
    assert "拍摄时间" in photo and "2026年5月1日 10:15" in photo
    assert "培训场次" in photo  # what it shows, by kind and by title
    assert f'<a href="/review/session/{photographed["east"]}">马铃薯晚疫病防治培训</a>' in photo
    assert f"/media/{sha(photographed['site'])}/thumb" in photo


def test_the_drill_down_counts_each_sessions_photos(
    app: Flask, photographed: dict[str, Any]
) -> None:
    page = client_of(app, "staff").get("/records/sessions?year=2026").get_data(as_text=True)
    row = re.search(
        r"<tr>(?:(?!</tr>).)*/records/session/" + photographed["east"] + r"#photos[^>]*>3<",
        page,
        re.S,
    )
    assert row, "the large training's row links its 3 photos"


def test_the_year_end_summary_shows_one_photo_per_large_training(
    app: Flask, photographed: dict[str, Any]
) -> None:
    page = client_of(app, "staff").get("/summary?year=2026").get_data(as_text=True)
    section = page[page.index('id="large-training-photos"') :]
    assert "大型培训现场照片" in section
    # The site photo, whole; not the sign-in sheet still arriving; not Li's village training.
    assert f"/media/{sha(photographed['site'])}/thumb" in section
    assert sha(photographed["sheet"]) not in section
    assert sha(photographed["board"]) not in section
    assert sha(photographed["li_photo"]) not in section
    assert section.count('class="photo"') == 1


def test_an_observations_photos_show_on_its_review_page_to_its_envoy_only(
    app: Flask, photographed: dict[str, Any]
) -> None:
    path = f"/review/plot_observation/{photographed['observation']}"
    page = client_of(app, "li").get(path).get_data(as_text=True)
    assert "观察照片" in page and f"/media/{sha(photographed['field'])}/thumb" in page
    photo_id = re.search(r'href="/review/photo/([0-9a-f-]+)"', page)
    assert photo_id
    photo = client_of(app, "li").get(f"/review/photo/{photo_id.group(1)}")
    assert f'/review/plot_observation/{photographed["observation"]}">2026-06-01</a>' in (
        photo.get_data(as_text=True)
    )
    assert client_of(app, "li").get(f"/media/{sha(photographed['field'])}").status_code == 200
    assert client_of(app, "zhang").get(f"/media/{sha(photographed['field'])}").status_code == 403
    assert client_of(app, "staff").get(f"/media/{sha(photographed['field'])}").status_code == 200
