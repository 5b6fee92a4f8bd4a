"""Per-device limits on photo-upload requests (server/media/limits.py): past the setting a
device is answered 429 with when to try again; other devices are not slowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from server import create_app
from server.media.errors import TooManyRequests
from server.media.limits import PerDevice
from server.store.db import init_db
from server.sync import devices
from shared import protocol as p
from tests.helpers import load_demo_reference


def token_of(db_path: str, envoy_name: str) -> str:
    db = init_db(db_path)
    try:
        envoy = devices.envoy_by_name(db, envoy_name)
        code = devices.new_enrolment_code(db, envoy["id"], 60)
        db.conn.commit()
        return str(devices.enrol_device(db, code, envoy_name)["token"])
    finally:
        db.close()


def test_a_device_past_its_requests_per_minute_is_answered_429(tmp_path: Path) -> None:
    db_path = str(tmp_path / "server.db")
    app = create_app({"DATABASE": db_path, "MEDIA_REQUESTS_PER_MINUTE": 3})
    load_demo_reference(db_path)
    client = app.test_client()
    headers = {p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)}
    zhang = {**headers, "Authorization": f"Bearer {token_of(db_path, '张三')}"}
    wang = {**headers, "Authorization": f"Bearer {token_of(db_path, '王五')}"}
    path = f"/api/v1/media/{'b' * 64}"
    for _ in range(3):
        assert client.get(path, headers=zhang).status_code == 200
    refused = client.get(path, headers=zhang)
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["code"] == 429 and "过于频繁" in body["message"] and "too many" in body["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Chunks count too, and another device is not slowed by this one.
    put = client.put(
        path + "?offset=0&size=1",
        data=b"x",
        headers={**zhang, "X-Chunk-SHA256": "c" * 64, "Content-Type": "application/octet-stream"},
    )
    assert put.status_code == 429
    assert client.get(path, headers=wang).status_code == 200
    # Without a valid token nothing is counted or answered but 401.
    assert client.get(path, headers={**headers, "Authorization": "Bearer nope"}).status_code == 401


def test_the_window_slides() -> None:
    now = [1000.0]
    limits = PerDevice(clock=lambda: now[0])
    for _ in range(2):
        limits.take("device", 2)
    with pytest.raises(TooManyRequests) as caught:
        limits.take("device", 2)
    assert caught.value.headers["Retry-After"] == "60"
    now[0] += 30
    with pytest.raises(TooManyRequests):
        limits.take("device", 2)
    now[0] += 30
    limits.take("device", 2)
