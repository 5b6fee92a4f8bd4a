"""Photo bytes sent in chunks to the real server over HTTP on loopback (server/media/chunks.py,
server/api/media.py): resumed after any cut, stored once, refused when corrupt, not an image,
too large, or not the sender's; each with the media folder and with S3 (moto on loopback)."""

from __future__ import annotations

import hashlib
import socket
import struct
import time
import zlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from server.media.backend import MediaBackend
from server.store.db import init_db
from tests.helpers import LiveServer, load_demo_reference
from tests.server.media.backends import MediaServer, backend_of, names_of, read
from tests.server.media.devices import CHUNK, Device, noise_jpeg
from tests.shared.test_photos import png_header_only


@pytest.fixture(scope="module")
def server(
    module_db_path: str, media_kind: str, request: pytest.FixtureRequest
) -> Iterator[MediaServer]:
    db_path = module_db_path
    load_demo_reference(db_path)
    live = MediaServer(db_path, backend_of(media_kind, request)).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def zhang(server: LiveServer) -> Device:
    return Device.enrol(server, "张三")


@pytest.fixture(scope="module")
def wang(server: LiveServer) -> Device:
    return Device.enrol(server, "王五")


def store_of(server: MediaServer) -> MediaBackend:
    return server.store()


def media_row(server: LiveServer, sha: str) -> tuple[int, int, int] | None:
    db = init_db(server.db_path)
    try:
        row = db.execute(
            "SELECT size, received, complete FROM media WHERE sha256 = ?", [sha]
        ).fetchone()
        return None if row is None else tuple(row)
    finally:
        db.close()


def sha_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zero_png(width: int, height: int) -> bytes:
    """A whole, valid RGB PNG of black pixels: tiny on disk, huge once decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_unknown_bytes_have_nothing_received(zhang: Device) -> None:
    answer = zhang.status("0" * 64)
    assert answer.status_code == 200
    assert answer.json() == {"sha256": "0" * 64, "size": None, "received": 0, "complete": False}


def test_resumes_after_a_cut_at_every_chunk_boundary(server: LiveServer, zhang: Device) -> None:
    data = noise_jpeg(700, 500, seed=1)
    chunks = -(-len(data) // CHUNK)
    assert chunks >= 3, len(data)
    session = zhang.session()
    for cut in range(chunks + 1):
        # A different picture for each cut point (one byte of its JPEG comment differs).
        picture = data[:2] + b"\xff\xfe\x00\x03" + bytes([cut]) + data[2:]
        zhang.photo(session, picture)
        stop = min(cut * CHUNK, len(picture))
        zhang.send(picture, start=0, stop=stop)
        # The device comes back (after a cut, a restart, another day) and asks first.
        held = zhang.status(sha_of(picture)).json()
        assert held["received"] == stop
        assert held["size"] == len(picture)
        last = zhang.send(picture)
        assert last is None or last == {"received": len(picture), "complete": True}
        assert zhang.status(sha_of(picture)).json()["complete"] is True
        assert read(store_of(server), sha_of(picture)) == picture
        assert not store_of(server).has_partial(sha_of(picture))


def _half_sent_put(device: Device, data: bytes, offset: int) -> None:
    """A PUT whose connection drops halfway through its body (a 2G cut mid-chunk)."""
    chunk = data[offset : offset + CHUNK]
    where = urlsplit(device.url)
    head = (
        f"PUT /api/v1/media/{sha_of(data)}?offset={offset}&size={len(data)} HTTP/1.1\r\n"
        f"Host: {where.netloc}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in device.headers().items())
        + "Content-Type: application/octet-stream\r\n"
        f"X-Chunk-SHA256: {sha_of(chunk)}\r\n"
        f"Content-Length: {len(chunk)}\r\n\r\n"
    ).encode()
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(head + chunk[: len(chunk) // 2])


def test_a_cut_mid_chunk_keeps_none_of_it_and_a_wrong_offset_is_told_where_to_resume(
    server: LiveServer, zhang: Device
) -> None:
    data = noise_jpeg(700, 500, seed=2)
    zhang.photo(zhang.session(), data)
    zhang.send(data, start=0, stop=CHUNK)
    _half_sent_put(zhang, data, CHUNK)
    assert zhang.status(sha_of(data)).json()["received"] == CHUNK
    # A device that believes more (or less) arrived is told what is held: 409, then resumes.
    for believed in (CHUNK + CHUNK // 2, CHUNK // 2, 0, 2 * CHUNK):
        answer = zhang.put(data, believed, data[believed : believed + CHUNK])
        assert answer.status_code == 409, answer.text
        body = answer.json()
        assert body["received"] == CHUNK
        assert body["code"] == 409 and " / " in body["message"]
        assert "续传" in body["message"] and "resume" in body["message"]
    assert media_row(server, sha_of(data)) == (len(data), CHUNK, 0)
    zhang.send(data, start=body["received"])
    assert read(store_of(server), sha_of(data)) == data


def test_a_photo_sent_twice_is_stored_once(server: MediaServer, zhang: Device) -> None:
    data = noise_jpeg(300, 200, seed=3)
    session = zhang.session()
    zhang.photo(session, data)
    zhang.send(data)
    sha = sha_of(data)
    first = names_of(server.backend, server.db_path, sha)
    assert list(first) == [f"{sha[:2]}/{sha[2:4]}/{sha}.jpg"]
    if server.backend.kind == "s3":
        time.sleep(1.1)  # S3 says when an object was written to the second
    # The answer was lost: the device sends it all again, and a second record names it too.
    zhang.photo(session, data, photo_kind="signin_sheet")
    again = zhang.put(data, 0, data[:CHUNK])
    assert again.status_code == 200
    assert again.json() == {"received": len(data), "complete": True}
    # Not written again, and nothing else of it kept (no partial left behind).
    assert names_of(server.backend, server.db_path, sha) == first
    db = init_db(server.db_path)
    rows = db.execute("SELECT phash FROM media WHERE sha256 = ?", [sha]).fetchall()
    db.close()
    # One row, whose perceptual hash was computed from the stored bytes (wherever they are).
    assert len(rows) == 1 and len(rows[0][0] or "") == 16


def test_a_corrupt_chunk_is_refused_and_nothing_of_it_kept(
    server: LiveServer, zhang: Device
) -> None:
    data = noise_jpeg(400, 300, seed=4)
    zhang.photo(zhang.session(), data)
    chunk = data[:CHUNK]
    damaged = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
    answer = zhang.put(data, 0, damaged, chunk_sha=sha_of(chunk))
    assert answer.status_code == 422, answer.text
    assert set(answer.json()) >= {"code", "status", "message", "errors"}
    assert "分块损坏" in answer.json()["message"] and "corrupt" in answer.json()["message"]
    assert zhang.status(sha_of(data)).json()["received"] == 0
    zhang.send(data)
    assert read(store_of(server), sha_of(data)) == data


def test_bytes_no_photo_of_the_envoy_names_are_refused(
    server: LiveServer, zhang: Device, wang: Device
) -> None:
    unknown = noise_jpeg(200, 200, seed=5)
    answer = zhang.put(unknown, 0, unknown)
    assert answer.status_code == 404
    assert "没有本人的照片记录" in answer.json()["message"]
    # Zhang's photo: Wang's device may neither send its bytes nor learn whether they arrived.
    data = noise_jpeg(200, 200, seed=6)
    zhang.photo(zhang.session(), data)
    assert wang.put(data, 0, data).status_code == 404
    assert wang.status(sha_of(data)).json() == {
        "sha256": sha_of(data),
        "size": None,
        "received": 0,
        "complete": False,
    }
    assert media_row(server, sha_of(data)) is None


def test_a_size_other_than_the_record_or_over_the_cap_is_refused(zhang: Device) -> None:
    data = noise_jpeg(200, 200, seed=7)
    session = zhang.session()
    zhang.photo(session, data)
    wrong = zhang.put(data, 0, data, size=len(data) + 1)
    assert wrong.status_code == 422 and "size" in wrong.json()["errors"]
    big = noise_jpeg(200, 200, seed=8)
    over = 2 * 1024 * 1024 + 1
    zhang.photo(session, big, size=over)
    answer = zhang.put(big, 0, big[:CHUNK], size=over)
    assert answer.status_code == 422
    assert "照片太大" in answer.json()["message"]


def test_a_chunk_over_64_kib_is_refused(zhang: Device) -> None:
    data = noise_jpeg(700, 500, seed=9)
    zhang.photo(zhang.session(), data)
    answer = zhang.put(data, 0, data[: CHUNK + 1])
    assert answer.status_code == 413
    assert zhang.status(sha_of(data)).json()["received"] == 0


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(noise_jpeg(700, 500, seed=10)[:-30_000], id="truncated-jpeg"),
        pytest.param(png_header_only(50_000, 50_000), id="png-bomb-50000x50000"),
        pytest.param(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" * 40, id="pdf-as-jpg"),
        # Under Pillow's own limit, but no device's reduced photo has 81 megapixels: refused
        # from its header (decoding it would take some 330 MB).
        pytest.param(zero_png(9000, 9000), id="png-9000x9000-in-230kb"),
    ],
)
def test_a_whole_that_is_not_a_sound_image_is_refused_and_thrown_away(
    server: LiveServer, zhang: Device, bad: bytes
) -> None:
    zhang.photo(zhang.session(), bad)
    offset = 0
    while offset + CHUNK < len(bad):
        assert zhang.put(bad, offset, bad[offset : offset + CHUNK]).status_code == 200
        offset += CHUNK
    answer = zhang.put(bad, offset, bad[offset:])
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["message"].count(" / ") == 1 and body["message"].endswith("(discarded)")
    assert "已丢弃" in body["message"]
    assert media_row(server, sha_of(bad)) is None
    assert not store_of(server).has_partial(sha_of(bad))
    assert not store_of(server).has(sha_of(bad))
    assert zhang.status(sha_of(bad)).json()["received"] == 0
    # The server is still up and answering.
    assert zhang.status("0" * 64).status_code == 200


def test_bytes_whose_whole_does_not_match_their_sha_are_refused(
    server: LiveServer, zhang: Device
) -> None:
    data = noise_jpeg(300, 300, seed=11)
    zhang.photo(zhang.session(), data)
    other = noise_jpeg(300, 300, seed=12)[: len(data)].ljust(len(data), b"\0")
    sha = sha_of(data)
    offset = 0
    answer = None
    while offset < len(data):
        chunk = other[offset : offset + CHUNK]
        # Every chunk is sound on its own; only the whole is not the picture named.
        answer = zhang.put(data, offset, chunk)
        offset += len(chunk)
    assert answer is not None and answer.status_code == 422
    assert "SHA-256" in answer.json()["message"]
    assert media_row(server, sha) is None


def _send_resuming(device: Device, data: bytes) -> int:
    """Send as a device does: from what the server holds, following 409s; the 409s met."""
    offset, conflicts = device.status(sha_of(data)).json()["received"], 0
    while offset < len(data):
        answer = device.put(data, offset, data[offset : offset + CHUNK])
        if answer.status_code == 409:
            conflicts += 1
            offset = answer.json()["received"]
            continue
        assert answer.status_code == 200, answer.text
        if answer.json()["complete"]:
            return conflicts
        offset = answer.json()["received"]
    return conflicts


def test_two_devices_sending_the_same_picture_at_once_store_it_once(
    server: LiveServer, zhang: Device
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    second = Device.enrol(server, "张三")
    data = noise_jpeg(900, 700, seed=13)
    zhang.photo(zhang.session(), data)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda device: _send_resuming(device, data), (zhang, second)))
    assert read(store_of(server), sha_of(data)) == data
    assert media_row(server, sha_of(data)) == (len(data), len(data), 1)
    assert not store_of(server).has_partial(sha_of(data))
