"""Tidying the media folder (server/media/cleanup.py, run by `purge-tombstones`): abandoned
uploads and pictures no record names go; everything a live record needs stays."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from click.testing import CliRunner

from server.cli import cli
from server.media.chunks import Chunk, receive_chunk
from server.media.cleanup import tidy_media
from server.media.store import MediaStore
from tests.server.fieldwork import Envoy, report_db
from tests.server.media.devices import CHUNK, add_photo, noise_jpeg

CAP = 2 * 1024 * 1024
DAY = 86400


def put(db: object, store: MediaStore, envoy: Envoy, data: bytes, stop: int | None = None) -> None:
    sha = hashlib.sha256(data).hexdigest()
    for offset in range(0, len(data) if stop is None else stop, CHUNK):
        part = data[offset : offset + CHUNK]
        chunk = Chunk(sha, offset, len(data), part, hashlib.sha256(part).hexdigest())
        receive_chunk(db, store, envoy.envoy_id, chunk, CAP)  # type: ignore[arg-type]


def test_abandoned_uploads_and_unnamed_pictures_go_and_the_rest_stays(tmp_path: Path) -> None:
    db_path = str(tmp_path / "server.db")
    store = MediaStore(tmp_path / "server-media")
    for db in report_db(db_path):
        zhang = Envoy(db, "张三")
        session = zhang.session()
        kept, gone, stale, fresh = (noise_jpeg(700, 500, seed=70 + n) for n in range(4))
        for data in (kept, gone, stale, fresh):
            add_photo(zhang, session, data)
        put(db, store, zhang, kept)
        put(db, store, zhang, gone)
        put(db, store, zhang, stale, stop=CHUNK)
        put(db, store, zhang, fresh, stop=CHUNK)
        sha = {
            name: hashlib.sha256(d).hexdigest()
            for name, d in (("kept", kept), ("gone", gone), ("stale", stale), ("fresh", fresh))
        }
        # The photo naming `gone` was deleted and its tombstone purged since.
        db.execute("DELETE FROM photos WHERE sha256 = ?", [sha["gone"]])
        db.conn.commit()
        old = time.time() - 200 * DAY
        os.utime(store.partial_path(sha["stale"]), (old, old))

        tidied = tidy_media(db, store, 180)

        assert (tidied.abandoned, tidied.unnamed) == (1, 1)
        assert store.final_path(sha["kept"]).read_bytes() == kept
        assert not store.final_path(sha["gone"]).exists()
        assert not store.partial_path(sha["stale"]).exists()
        assert store.partial_path(sha["fresh"]).stat().st_size == CHUNK
        left = {row[0] for row in db.execute("SELECT sha256 FROM media")}
        assert left == {sha["kept"], sha["fresh"]}
        # Again: nothing more to do.
        assert tidy_media(db, store, 180) == type(tidied)(0, 0)


def test_purge_tombstones_tidies_the_media_folder_beside_the_database(tmp_path: Path) -> None:
    db_path = str(tmp_path / "server.db")
    store = MediaStore(tmp_path / "server-media")
    for db in report_db(db_path):
        zhang = Envoy(db, "张三")
        data = noise_jpeg(300, 200, seed=80)
        add_photo(zhang, zhang.session(), data)
        put(db, store, zhang, data)
        db.execute("DELETE FROM photos")
        db.conn.commit()
    result = CliRunner().invoke(cli, ["--db", db_path, "purge-tombstones", "--days", "180"])
    assert result.exit_code == 0, result.output
    assert "removed 0 abandoned photo uploads and 1 photos no record names" in result.output
    assert "已清理" in result.output
    assert not store.final_path(hashlib.sha256(data).hexdigest()).exists()
