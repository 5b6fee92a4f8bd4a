"""Tidying the media store (server/media/cleanup.py, run by `purge-tombstones`): abandoned
uploads and pictures no record names go; everything a live record needs stays; on the folder
and on S3 alike."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from click.testing import CliRunner

from server.cli import cli
from server.media.backend import MediaBackend
from server.media.chunks import Chunk, receive_chunk
from server.media.cleanup import tidy_media
from server.media.serving import THUMB_PIXELS
from tests.server.fieldwork import Envoy, report_db
from tests.server.media.backends import Backend, read
from tests.server.media.devices import CHUNK, add_photo, noise_jpeg

CAP = 2 * 1024 * 1024
DAY = 86400


def put(
    db: object, store: MediaBackend, envoy: Envoy, data: bytes, stop: int | None = None
) -> None:
    sha = hashlib.sha256(data).hexdigest()
    for offset in range(0, len(data) if stop is None else stop, CHUNK):
        part = data[offset : offset + CHUNK]
        chunk = Chunk(sha, offset, len(data), part, hashlib.sha256(part).hexdigest())
        receive_chunk(db, store, envoy.envoy_id, chunk, CAP)  # type: ignore[arg-type]


def test_abandoned_uploads_and_unnamed_pictures_go_and_the_rest_stays(
    tmp_path: Path, backend: Backend
) -> None:
    db_path = str(tmp_path / "server.db")
    store = backend.store(db_path)
    for db in report_db(db_path):
        zhang = Envoy(db, "张三")
        session = zhang.session()
        kept, gone, stale, fresh = (noise_jpeg(700, 500, seed=70 + n) for n in range(4))
        for data in (kept, gone, stale, fresh):
            add_photo(zhang, session, data)
        sha = {
            name: hashlib.sha256(d).hexdigest()
            for name, d in (("kept", kept), ("gone", gone), ("stale", stale), ("fresh", fresh))
        }
        put(db, store, zhang, kept)
        put(db, store, zhang, gone)
        store.put_thumb(sha["gone"], THUMB_PIXELS, b"a thumbnail")
        put(db, store, zhang, stale, stop=CHUNK)
        # The stale upload was last written before the cutoff, the fresh one after (S3 says
        # when an object was written to the second, hence the wait).
        cutoff = time.time() + 0.6
        time.sleep(1.7)
        put(db, store, zhang, fresh, stop=CHUNK)
        # The photo naming `gone` was deleted and its tombstone purged since.
        db.execute("DELETE FROM photos WHERE sha256 = ?", [sha["gone"]])
        db.conn.commit()
        later = cutoff + 180 * DAY

        tidied = tidy_media(db, store, 180, now=later)

        assert (tidied.abandoned, tidied.unnamed) == (1, 1)
        assert read(store, sha["kept"]) == kept
        assert not store.has(sha["gone"])
        assert store.open_thumb(sha["gone"], THUMB_PIXELS) is None
        assert not store.has_partial(sha["stale"])
        assert store.partial_size(sha["fresh"]) == CHUNK
        left = {row[0] for row in db.execute("SELECT sha256 FROM media")}
        assert left == {sha["kept"], sha["fresh"]}
        # Again: nothing more to do.
        assert tidy_media(db, store, 180, now=later) == type(tidied)(0, 0)


def test_an_upload_no_row_counts_goes_once_stale(tmp_path: Path, backend: Backend) -> None:
    """Bytes of a first chunk whose transaction never committed: no media row names them."""
    db_path = str(tmp_path / "server.db")
    store = backend.store(db_path)
    for db in report_db(db_path):
        data = noise_jpeg(700, 500, seed=81)
        sha = hashlib.sha256(data).hexdigest()
        store.append(sha, 0, data[:CHUNK])
        assert tidy_media(db, store, 180).abandoned == 0
        assert store.partial_size(sha) == CHUNK
        assert tidy_media(db, store, 180, now=time.time() + 181 * DAY).abandoned == 1
        assert not store.has_partial(sha)


def test_purge_tombstones_tidies_the_store_the_settings_choose(
    tmp_path: Path, backend: Backend
) -> None:
    """The folder beside the database by default, or the bucket TIANJIAN_MEDIA_S3_* name."""
    db_path = str(tmp_path / "server.db")
    store = backend.store(db_path)
    for db in report_db(db_path):
        zhang = Envoy(db, "张三")
        data = noise_jpeg(300, 200, seed=80)
        add_photo(zhang, zhang.session(), data)
        put(db, store, zhang, data)
        db.execute("DELETE FROM photos")
        db.conn.commit()
    result = CliRunner(env=backend.env()).invoke(
        cli, ["--db", db_path, "purge-tombstones", "--days", "180"]
    )
    assert result.exit_code == 0, result.output
    assert "removed 0 abandoned photo uploads and 1 photos no record names" in result.output
    assert "已清理" in result.output
    assert not store.has(hashlib.sha256(data).hexdigest())
