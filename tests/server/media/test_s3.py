"""What only the S3 store can do wrong, over real HTTP: its endpoint down (and back), its bucket
missing, its settings wrong; each a clear 503 in Chinese and English, nothing counted as
received, the server still up; and the bucket holds the same content-addressed names, under
the prefix, as the folder does."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from server import create_app
from server.accounts import users
from server.media.chosen import media_store
from server.media.errors import MediaStoreUnavailable
from server.settings import SETTINGS
from server.store.db import init_db, open_db
from tests.helpers import load_demo_reference, sign_in
from tests.server.fieldwork import Envoy
from tests.server.media.backends import (
    Backend,
    MediaServer,
    MotoS3,
    free_port,
    read,
    s3_settings,
)
from tests.server.media.devices import CHUNK, Device, add_photo, noise_jpeg
from tests.server.media.test_photo_pages import upload


def sha_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def media_row(db_path: str, sha: str) -> tuple[int, int, int] | None:
    db = open_db(db_path)
    try:
        row = db.execute(
            "SELECT size, received, complete FROM media WHERE sha256 = ?", [sha]
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))
    finally:
        db.close()


def assert_unavailable(answer: requests.Response, *words: str) -> None:
    body = answer.json()
    assert answer.status_code == 503, body
    assert body["code"] == 503 and body["message"].count(" / ") == 1
    assert "照片存储" in body["message"] and "photo store" in body["message"]
    assert "nothing of this request was kept" in body["message"]
    for word in words:
        assert word in body["message"], body["message"]
    assert answer.headers["Retry-After"] == "60"


@pytest.fixture
def own_moto() -> Iterator[MotoS3]:
    """An S3 server of this test's own, which the test stops and starts again."""
    moto = MotoS3().start()
    yield moto
    moto.stop()


def test_the_store_down_mid_upload_is_503_nothing_counted_and_the_upload_resumes(
    db_path: str, own_moto: MotoS3
) -> None:
    load_demo_reference(db_path)
    backend = Backend("s3", s3_settings(own_moto.url, own_moto.new_bucket()))
    server = MediaServer(db_path, backend).start()
    try:
        zhang = Device.enrol(server, "张三")
        data = noise_jpeg(700, 500, seed=90)
        zhang.photo(zhang.session(), data)
        zhang.send(data, stop=CHUNK)
        own_moto.stop()

        assert_unavailable(zhang.put(data, CHUNK, data[CHUNK : 2 * CHUNK]), "无法连接", "reached")
        assert_unavailable(zhang.status(sha_of(data)), "无法连接")
        assert media_row(db_path, sha_of(data)) == (len(data), CHUNK, 0)
        # The server itself is still up: what needs no photo store answers.
        assert zhang.status("0" * 64).json()["received"] == 0

        own_moto.start()
        assert zhang.status(sha_of(data)).json()["received"] == CHUNK
        assert zhang.send(data) == {"received": len(data), "complete": True}
        assert read(server.store(), sha_of(data)) == data
        assert not server.store().has_partial(sha_of(data))
    finally:
        server.stop()


def test_two_app_processes_share_one_upload_through_the_bucket(
    db_path: str, moto_s3: MotoS3
) -> None:
    """Why S3: a device's chunks reach whichever app process the proxy picks; each sees the
    chunks the other kept, and the whole is stored once."""
    load_demo_reference(db_path)
    backend = Backend("s3", s3_settings(moto_s3.url, moto_s3.new_bucket()))
    first = MediaServer(db_path, backend).start()
    second = MediaServer(db_path, backend).start()
    try:
        zhang = Device.enrol(first, "张三")
        via_second = Device(second.url, zhang.token, zhang.envoy_id)
        data = noise_jpeg(900, 700, seed=94)
        zhang.photo(zhang.session(), data)
        assert len(data) > 3 * CHUNK
        offset, turn = 0, 0
        while offset < len(data):
            device = (zhang, via_second)[turn % 2]
            assert device.status(sha_of(data)).json()["received"] == offset
            answer = device.put(data, offset, data[offset : offset + CHUNK])
            assert answer.status_code == 200, answer.text
            offset, turn = answer.json()["received"], turn + 1
        assert answer.json() == {"received": len(data), "complete": True}
        assert zhang.status(sha_of(data)).json()["complete"] is True
        assert via_second.status(sha_of(data)).json()["complete"] is True
        assert read(first.store(), sha_of(data)) == data
        assert media_row(db_path, sha_of(data)) == (len(data), len(data), 1)
    finally:
        first.stop()
        second.stop()


def test_a_missing_bucket_is_503_said_so_and_nothing_counted(db_path: str, moto_s3: MotoS3) -> None:
    load_demo_reference(db_path)
    backend = Backend("s3", s3_settings(moto_s3.url, "no-such-bucket-here"))
    server = MediaServer(db_path, backend).start()
    try:
        zhang = Device.enrol(server, "张三")
        data = noise_jpeg(300, 200, seed=91)
        zhang.photo(zhang.session(), data)
        assert_unavailable(zhang.put(data, 0, data[:CHUNK]), "存储桶不存在", "bucket")
        assert media_row(db_path, sha_of(data)) is None
        # Nothing counted, so asking needs no store: nothing is held.
        assert zhang.status(sha_of(data)).json()["received"] == 0
        # The bucket is made: the same chunk is taken from the start.
        moto_s3.client().create_bucket(Bucket="no-such-bucket-here")
        assert zhang.send(data) == {"received": len(data), "complete": True}
    finally:
        server.stop()


def test_a_store_down_is_a_page_in_both_languages_on_the_photo_pages(
    db_path: str, own_moto: MotoS3
) -> None:
    settings = s3_settings(own_moto.url, own_moto.new_bucket())
    app = create_app({"DATABASE": db_path, "TESTING": True, **settings})
    load_demo_reference(db_path)
    db = init_db(db_path)
    zhang = Envoy(db, "张三")
    data = noise_jpeg(300, 200, seed=92)
    add_photo(zhang, zhang.session(), data)
    upload(app, zhang, data)
    users.add_user(db, "staff", users.STAFF, "photo-password")
    db.close()
    client = app.test_client()
    assert sign_in(client, "staff", "photo-password").status_code == 302
    assert client.get(f"/media/{sha_of(data)}").get_data() == data
    own_moto.stop()
    page = client.get(f"/media/{sha_of(data)}/thumb")
    assert page.status_code == 503
    assert "无法连接照片存储" in page.get_data(as_text=True)
    client.get("/lang/en")
    page = client.get(f"/media/{sha_of(data)}")
    assert page.status_code == 503
    assert "the photo store cannot be reached" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"MEDIA_BACKEND": "ftp"}, "TIANJIAN_MEDIA_BACKEND"),
        ({"MEDIA_BACKEND": "s3", "MEDIA_S3_BUCKET": ""}, "TIANJIAN_MEDIA_S3_BUCKET"),
    ],
)
def test_wrong_settings_are_said_by_name(settings: dict[str, str], named: str) -> None:
    with pytest.raises(MediaStoreUnavailable) as caught:
        media_store({"DATABASE": "server.db", **settings})
    assert caught.value.status == 503 and named in caught.value.message
    assert caught.value.message.count(" / ") == 1


def test_the_bucket_holds_the_folders_names_under_the_prefix(moto_s3: MotoS3) -> None:
    bucket = moto_s3.new_bucket()
    store = media_store(s3_settings(moto_s3.url, bucket))
    data = noise_jpeg(700, 500, seed=93)
    sha = sha_of(data)
    store.append(sha, 0, data[:CHUNK])
    store.append(sha, CHUNK, data[CHUNK : 2 * CHUNK])

    def keys() -> list[str]:
        listed: list[dict[str, Any]] = (
            moto_s3.client().list_objects_v2(Bucket=bucket).get("Contents", [])
        )
        return sorted(item["Key"] for item in listed)

    assert keys() == [
        f"county-530102/partial/{sha}/{0:012d}",
        f"county-530102/partial/{sha}/{CHUNK:012d}",
    ]
    # Resuming before the end drops what lay past it, as the folder's truncation does.
    store.append(sha, CHUNK, data[CHUNK : CHUNK + 10])
    assert store.partial_size(sha) == CHUNK + 10
    store.append(sha, CHUNK // 2, data[CHUNK // 2 : CHUNK])
    assert store.partial_size(sha) == CHUNK
    assert store.partial_bytes(sha, CHUNK) == data[:CHUNK]
    store.promote(sha, data)
    store.put_thumb(sha, 320, b"thumb")
    assert keys() == [
        f"county-530102/{sha[:2]}/{sha[2:4]}/{sha}.jpg",
        f"county-530102/thumbs/{sha[:2]}/{sha}-320.jpg",
    ]
    store.remove(sha)
    assert keys() == []
    assert "not-a-secret" not in repr(store)


def test_every_media_setting_is_in_the_readme() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    named = [setting.env for setting in SETTINGS if setting.name.startswith("MEDIA_")]
    assert len(named) >= 8
    assert [env for env in named if f"`{env}" not in readme] == []
    assert "moto" in readme and "MinIO" in readme


def test_an_endpoint_nothing_listens_on_fails_within_seconds() -> None:
    store = media_store(s3_settings(f"http://127.0.0.1:{free_port()}", "photos-anywhere"))
    started = time.monotonic()
    with pytest.raises(MediaStoreUnavailable):
        store.has("a" * 64)
    assert time.monotonic() - started < 10
