"""Photos from a real device to the real server over loopback, through a link that drops:
records first, then bytes in chunks, resumed after any cut, never sent again once whole."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from field_client import media_upload, photos
from field_client.store import FieldStore
from field_client.sync import SyncFailed
from shared import protocol as p
from tests.e2e.conftest import count_rows
from tests.e2e.faults import (
    CORRUPT,
    CUT_AFTER_SERVER,
    CUT_BEFORE_SERVER,
    CUT_IN_HEAD,
    CUT_MID_REQUEST,
    CUT_MID_RESPONSE,
    PASS,
    FaultProxy,
)
from tests.helpers import VILLAGE_EAST, LiveServer, enrolled_store, fast_client
from tests.shared.test_photos import camera_jpeg

CHUNK = media_upload.CHUNK_BYTES


def a_session(store: FieldStore) -> str:
    return store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "马铃薯晚疫病防治培训",
            "unit_code": VILLAGE_EAST,
            "starts_at": "2026-05-01T01:00:00Z",
            "lead_envoy_id": store.get("envoy_id"),
        },
    )


def through(store: FieldStore, proxy: FaultProxy) -> None:
    store.set("server_url", proxy.url)
    store.db.conn.commit()


def media_folder(server: LiveServer) -> Path:
    """The server's media folder: beside its SQLite file, else the one named at its start."""
    if server.media_dir:
        return Path(server.media_dir)
    return Path(server.db_path).with_name(Path(server.db_path).stem + "-media")


def on_server(server: LiveServer, sha256: str) -> bytes | None:
    """The server's kept bytes of a picture, once complete."""
    path = media_folder(server) / sha256[:2] / sha256[2:4] / f"{sha256}.jpg"
    return path.read_bytes() if path.is_file() else None


def media_puts(proxy: FaultProxy) -> list[tuple[int, str]]:
    """(offset, action) of every chunk sent through the proxy, in order."""
    found = []
    for method, path, action in proxy.log:
        if method == "PUT" and "/api/v1/media/" in path:
            match = re.search(r"offset=(\d+)", path)
            assert match is not None
            found.append((int(match.group(1)), action))
    return found


def nth_put(action: str, nth: int) -> object:
    seen = {"puts": 0}

    def decide(method: str, path: str, _n: int) -> str:
        if method == "PUT" and "/api/v1/media/" in path:
            seen["puts"] += 1
            if seen["puts"] == nth:
                return action
        return PASS

    return decide


@pytest.fixture
def device(live_server: LiveServer, tmp_path: Path) -> FieldStore:
    return enrolled_store(live_server, str(tmp_path / "field.db"), "张三")


def test_photos_reach_the_server_whole_and_are_never_sent_again(
    live_server: LiveServer, device: FieldStore
) -> None:
    session_id = a_session(device)
    added = [
        photos.add_photo(device, "session", session_id, camera_jpeg(1400, 1000), kind)
        for kind in ("site", "signin_sheet")
    ]
    proxy = FaultProxy(live_server.port)
    through(device, proxy)
    report = fast_client(device).sync()
    for photo in added:
        kept = on_server(live_server, photo.sha256)
        assert kept is not None and hashlib.sha256(kept).hexdigest() == photo.sha256
    assert report.photos_sent == 2
    assert report.photo_bytes_sent == sum(photo.size_bytes for photo in added)
    assert report.photo_bytes_resent == 0
    assert photos.waiting(device) == photos.Waiting(0, 0, 0)
    # Records went before bytes: every chunk follows the push that carried its photo record.
    order = [path for _m, path, _a in proxy.log]
    first_chunk = next(i for i, path in enumerate(order) if "/api/v1/media/" in path)
    assert any("/sync/push" in path for path in order[:first_chunk])

    proxy.log.clear()
    again = fast_client(device).sync()
    assert not [entry for entry in proxy.log if "/api/v1/media/" in entry[1]]
    assert again.photos_sent == 0

    # Taken off the session on the device: the tombstone reaches the server like any edit.
    photos.delete_photo(device, added[0].id)
    fast_client(device).sync()
    assert count_rows(live_server.db_path, "photos", f"id = '{added[0].id}' AND deleted = 1") == 1


@pytest.mark.parametrize(
    ("action", "kept"),
    [
        (CUT_BEFORE_SERVER, False),
        (CUT_AFTER_SERVER, True),
        (CUT_MID_RESPONSE, True),
        (CUT_IN_HEAD, True),
        (CUT_MID_REQUEST, False),
        (CORRUPT, False),
    ],
)
def test_a_cut_at_every_chunk_is_resumed_within_the_run(
    live_server: LiveServer, device: FieldStore, action: str, kept: bool
) -> None:
    """Before the server (a boundary), after it kept the chunk (answer lost), mid-answer, in the
    answer's head (a bare "200 OK" arrives), mid-chunk (half the body arrived), and a chunk
    spoilt on the way: each at every chunk. The
    device asks what the server kept and sends again only a chunk it did not keep."""
    session_id = a_session(device)
    proxy = FaultProxy(live_server.port)
    through(device, proxy)
    fast_client(device).sync()
    first = photos.add_photo(device, "session", session_id, camera_jpeg(700, 500), "site")
    chunks = -(-first.size_bytes // CHUNK)
    assert chunks >= 3
    for nth in range(1, chunks + 1):
        photo = (
            first
            if nth == 1
            else photos.add_photo(
                device, "session", session_id, camera_jpeg(700, 500), "display_board"
            )
        )
        proxy.log.clear()
        proxy.decide = nth_put(action, nth)  # type: ignore[assignment]
        report = fast_client(device).sync()
        kept_bytes = on_server(live_server, photo.sha256)
        assert kept_bytes is not None, nth
        assert hashlib.sha256(kept_bytes).hexdigest() == photo.sha256, nth
        sent = media_puts(proxy)
        whole = -(-photo.size_bytes // CHUNK)
        assert sent[nth - 1][1] == action
        assert len(sent) == (whole if kept else whole + 1), (nth, sent)
        offsets = [offset for offset, _a in sent]
        assert offsets == sorted(offsets) and offsets[0] == 0
        assert report.photo_bytes_sent == photo.size_bytes
        chunk_caught = min(CHUNK, photo.size_bytes - (nth - 1) * CHUNK)
        assert report.photo_bytes_resent == (0 if kept else chunk_caught), nth
    assert photos.waiting(device).photos == 0


def test_a_run_cut_for_good_resumes_next_run_from_what_the_server_holds(
    live_server: LiveServer, device: FieldStore
) -> None:
    session_id = a_session(device)
    photo = photos.add_photo(device, "session", session_id, camera_jpeg(1400, 1000), "site")
    assert photo.size_bytes > 4 * CHUNK
    # Three chunks go through, then the line is gone for the rest of the run.
    proxy = FaultProxy(live_server.port)
    through(device, proxy)
    seen = {"puts": 0}

    def dies_after_three(method: str, path: str, _n: int) -> str:
        if "/api/v1/media/" in path and method == "PUT":
            seen["puts"] += 1
        return CUT_BEFORE_SERVER if seen["puts"] > 3 else PASS

    proxy.decide = dies_after_three
    with pytest.raises(SyncFailed):
        fast_client(device, retries=1).sync()
    assert photos.waiting(device) == photos.Waiting(1, photo.size_bytes, 3 * CHUNK)
    assert on_server(live_server, photo.sha256) is None

    proxy.log.clear()
    proxy.decide = lambda m, path, n: PASS
    report = fast_client(device).sync()
    offsets = [offset for offset, _a in media_puts(proxy)]
    assert offsets[0] == 3 * CHUNK
    assert offsets == list(range(3 * CHUNK, photo.size_bytes, CHUNK))
    assert report.photo_bytes_sent == photo.size_bytes - 3 * CHUNK
    assert on_server(live_server, photo.sha256) is not None


def test_bytes_wait_for_a_record_the_server_does_not_hold(
    live_server: LiveServer, device: FieldStore
) -> None:
    """A photo record the server holds back (its session has not reached it) keeps its bytes
    back too: none are offered, and the device says why and that they go next sync."""
    session_id = a_session(device)
    photo = photos.add_photo(device, "session", session_id, camera_jpeg(500, 400), "site")
    proxy = FaultProxy(live_server.port)
    through(device, proxy)
    # The server never heard of the session: the photo record is held there, not applied.
    device.db.execute("DELETE FROM outbox WHERE kind = 'session'")
    device.db.conn.commit()
    report = fast_client(device).sync()
    assert report.statuses.get(p.HELD, 0) == 1
    assert on_server(live_server, photo.sha256) is None
    assert not media_puts(proxy)
    error = device.db.execute(
        "SELECT error FROM photo_uploads WHERE sha256 = ?", [photo.sha256]
    ).fetchone()[0]
    assert "下次同步" in error and "next sync" in error
    assert photos.waiting(device).photos == 1


def test_the_sync_command_prints_photos_sent_and_waiting(
    live_server: LiveServer, device: FieldStore, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from field_client.cli import cli

    session_id = a_session(device)
    device.db.conn.commit()
    picture = tmp_path / "site.jpg"
    picture.write_bytes(camera_jpeg(900, 700))
    db = ["--db", device.path]
    added = CliRunner().invoke(cli, [*db, "--json", "session", "photo", session_id, str(picture)])
    assert added.exit_code == 0, added.output
    size = photos.waiting(device).bytes_total
    assert size > 0

    done = CliRunner().invoke(cli, [*db, "sync"])
    assert done.exit_code == 0, done.output
    assert f"照片：本次传完 1 张（{size / 1024:.0f} KB）；待传 0 张" in done.stdout
    assert "photos: 1 sent; 0 waiting" in done.stdout
    as_json = CliRunner().invoke(cli, [*db, "--json", "sync"])
    assert '"photos_waiting": {"photos": 0, "bytes_total": 0, "bytes_sent": 0}' in as_json.stdout


def test_a_photo_file_lost_from_the_device_is_said_and_the_sync_goes_on(
    live_server: LiveServer, device: FieldStore
) -> None:
    session_id = a_session(device)
    lost = photos.add_photo(device, "session", session_id, camera_jpeg(500, 400), "site")
    kept = photos.add_photo(device, "session", session_id, camera_jpeg(500, 400), "signin_sheet")
    photos.photo_path(device, lost.sha256).write_bytes(b"overwritten by a careless backup tool")
    report = fast_client(device).sync()
    assert report.photos_sent == 1 and on_server(live_server, kept.sha256) is not None
    assert on_server(live_server, lost.sha256) is None
    error = device.db.execute(
        "SELECT error FROM photo_uploads WHERE sha256 = ?", [lost.sha256]
    ).fetchone()[0]
    assert "缺失或已损坏" in error and "missing or damaged" in error
