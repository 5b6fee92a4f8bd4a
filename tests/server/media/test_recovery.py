"""Uploads that survive the server's own mishaps (server/media/chunks.py): bytes counted but lost
from the folder, all bytes arrived but not yet kept when it stopped, a folder it cannot write."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from server.media.chunks import Chunk, media_status, receive_chunk
from server.media.errors import OffsetMismatch
from server.media.store import MediaStore
from server.store.db import StorageFull
from tests.server.fieldwork import Envoy, report_db
from tests.server.media.devices import CHUNK, add_photo, noise_jpeg

CAP = 2 * 1024 * 1024


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    for db in report_db(str(tmp_path / "server.db")):
        zhang = Envoy(db, "张三")
        data = noise_jpeg(700, 500, seed=60)
        add_photo(zhang, zhang.session(), data)
        yield {
            "db": db,
            "envoy": zhang.envoy_id,
            "data": data,
            "sha": hashlib.sha256(data).hexdigest(),
            "store": MediaStore(tmp_path / "media"),
        }


def send(world: dict[str, Any], offset: int, store: MediaStore | None = None) -> Any:
    data = world["data"]
    part = data[offset : offset + CHUNK]
    chunk = Chunk(world["sha"], offset, len(data), part, hashlib.sha256(part).hexdigest())
    return receive_chunk(world["db"], store or world["store"], world["envoy"], chunk, CAP)


def test_bytes_counted_but_lost_from_the_folder_are_sent_again(world: dict[str, Any]) -> None:
    send(world, 0)
    send(world, CHUNK)
    world["store"].partial_path(world["sha"]).unlink()
    db: Database = world["db"]
    assert media_status(db, world["store"], world["envoy"], world["sha"]).received == 0
    with pytest.raises(OffsetMismatch) as caught:
        send(world, 2 * CHUNK)
    assert caught.value.received == 0
    offset = 0
    while offset < len(world["data"]):
        offset = send(world, offset).received
    assert world["store"].final_path(world["sha"]).read_bytes() == world["data"]


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
    assert store.final_path(world["sha"]).read_bytes() == data
    assert not store.partial_path(world["sha"]).exists()


def test_a_media_folder_that_cannot_be_written_is_a_clear_error_and_nothing_counted(
    world: dict[str, Any], tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the media folder should be")
    with pytest.raises(StorageFull) as caught:
        send(world, 0, MediaStore(blocked))
    assert caught.value.status == 507 and " / " in caught.value.message
    assert world["db"].execute("SELECT count(*) FROM media").fetchone()[0] == 0
    # The right folder takes the same chunk from the start.
    assert send(world, 0).received == CHUNK
