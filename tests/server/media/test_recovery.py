"""Uploads that survive the server's own mishaps (server/media/chunks.py): bytes counted but lost
from the store, all bytes arrived but not yet kept when it stopped (each on the folder and on
S3), a folder it cannot write (S3's own failures: test_s3.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from server.media.backend import MediaBackend
from server.media.chunks import Chunk, media_status, receive_chunk
from server.media.errors import OffsetMismatch
from server.media.store import MediaStore
from server.store.db import StorageFull
from tests.server.fieldwork import Envoy, report_db
from tests.server.media.backends import Backend, read
from tests.server.media.devices import CHUNK, add_photo, noise_jpeg

CAP = 2 * 1024 * 1024


@pytest.fixture
def world(tmp_path: Path, backend: Backend) -> Iterator[dict[str, Any]]:
    for db in report_db(str(tmp_path / "server.db")):
        zhang = Envoy(db, "张三")
        data = noise_jpeg(700, 500, seed=60)
        add_photo(zhang, zhang.session(), data)
        yield {
            "db": db,
            "envoy": zhang.envoy_id,
            "data": data,
            "sha": hashlib.sha256(data).hexdigest(),
            "store": backend.store(str(tmp_path / "server.db")),
        }


def send(world: dict[str, Any], offset: int, store: MediaBackend | None = None) -> Any:
    data = world["data"]
    part = data[offset : offset + CHUNK]
    chunk = Chunk(world["sha"], offset, len(data), part, hashlib.sha256(part).hexdigest())
    return receive_chunk(world["db"], store or world["store"], world["envoy"], chunk, CAP)


def test_bytes_counted_but_lost_from_the_folder_are_sent_again(world: dict[str, Any]) -> None:
    send(world, 0)
    send(world, CHUNK)
    world["store"].discard(world["sha"])
    db: Database = world["db"]
    assert media_status(db, world["store"], world["envoy"], world["sha"]).received == 0
    with pytest.raises(OffsetMismatch) as caught:
        send(world, 2 * CHUNK)
    assert caught.value.received == 0
    offset = 0
    while offset < len(world["data"]):
        offset = send(world, offset).received
    assert read(world["store"], world["sha"]) == world["data"]


def test_bytes_all_arrived_but_not_kept_are_kept_when_the_device_asks(
    world: dict[str, Any],
) -> None:
    data, store, db = world["data"], world["store"], world["db"]
    # As if the server stopped after the last chunk's transaction, before checking the whole.
    store.append(world["sha"], 0, data)
    db.execute(
        "INSERT INTO media (sha256, size, received, complete) VALUES (?, ?, ?, 0)",
        [world["sha"], len(data), len(data)],
    )
    db.conn.commit()
    found = media_status(db, store, world["envoy"], world["sha"])
    assert (found.received, found.complete) == (len(data), True)
    assert read(store, world["sha"]) == data
    assert not store.has_partial(world["sha"])


def test_a_whole_put_in_place_by_another_process_while_this_one_read_is_kept(
    world: dict[str, Any],
) -> None:
    """Two app processes sharing a store finish one upload at once: the one whose read found
    the chunks already gone does not throw the picture away."""
    data, store, db = world["data"], world["store"], world["db"]
    store.append(world["sha"], 0, data)
    store.promote(world["sha"], data)
    # What this process reads of the upload is not the whole (chunks went as it read them).
    store.append(world["sha"], 0, data[:CHUNK] + bytes(len(data) - CHUNK))
    db.execute(
        "INSERT INTO media (sha256, size, received, complete) VALUES (?, ?, ?, 0)",
        [world["sha"], len(data), len(data)],
    )
    db.conn.commit()
    found = media_status(db, store, world["envoy"], world["sha"])
    assert (found.received, found.complete) == (len(data), True)
    assert read(store, world["sha"]) == data
    assert not store.has_partial(world["sha"])
    assert db.execute("SELECT complete FROM media").fetchone() == (1,)


def test_a_media_folder_that_cannot_be_written_is_a_clear_error_and_nothing_counted(
    world: dict[str, Any], tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the media folder should be")
    with pytest.raises(StorageFull) as caught:
        send(world, 0, MediaStore(blocked))
    assert caught.value.status == 507 and " / " in caught.value.message
    assert world["db"].execute("SELECT count(*) FROM media").fetchone()[0] == 0
    # The right store takes the same chunk from the start.
    assert send(world, 0).received == CHUNK
