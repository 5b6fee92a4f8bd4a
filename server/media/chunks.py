"""Receiving a photo's bytes chunk by chunk: resumable from what the server holds after any cut,
checked chunk by chunk and whole, stored once however often they are sent."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from sqlite_utils import Database

from server.media.errors import BadChunk, ChunkTooLarge, NotYourPhoto, OffsetMismatch
from server.media.store import MediaStore
from server.store.db import StorageFull, write_transaction
from shared.bilingual import half
from shared.clock import to_iso, utc_now
from shared.errors import PhotoRefused
from shared.photos import MAX_REDUCED_PIXELS, check_image

# One chunk per request: on 2G (about 30 kbit/s) 64 KiB take some 17 seconds, so a cut costs
# at most that much resent.
MAX_CHUNK_BYTES = 64 * 1024
# Appends and the media rows change under one lock in this process: two requests for the same
# picture (two envoys' devices, or a retry racing its original) must not write the same file.
_writing = threading.Lock()


@dataclass(frozen=True)
class MediaStatus:
    """How much of a picture the server holds: `size` None when no photo of the asker names it."""

    sha256: str
    size: int | None
    received: int
    complete: bool


@dataclass(frozen=True)
class Chunk:
    """One PUT: where it starts, the picture's whole size, its bytes and their stated SHA-256."""

    sha256: str
    offset: int
    size: int
    data: bytes
    data_sha256: str


def named_size(db: Database, envoy_id: str, sha256: str) -> int | None:
    """The size a live photo record of this envoy gives these bytes, or None when none names
    them (another envoy's photo of the same bytes does not count: bytes come from their owner)."""
    row = db.execute(
        "SELECT size_bytes FROM photos WHERE sha256 = ? AND envoy_id = ? AND deleted = 0 "
        "ORDER BY created_at LIMIT 1",
        [sha256, envoy_id],
    ).fetchone()
    return int(row[0]) if row else None


def media_status(db: Database, store: MediaStore, envoy_id: str, sha256: str) -> MediaStatus:
    """What the server holds of a picture this envoy's photos name; received 0 when unknown.

    An upload whose bytes all arrived but were not yet kept (the server stopped between) is
    finished here, so the device asking is told it is complete (or, refused, to start again).
    """
    size = named_size(db, envoy_id, sha256)
    if size is None:
        return MediaStatus(sha256, None, 0, False)
    row = db.execute(
        "SELECT size, received, complete FROM media WHERE sha256 = ?", [sha256]
    ).fetchone()
    if row is None or int(row[0]) != size:
        return MediaStatus(sha256, size, 0, False)
    if row[2]:
        whole = store.has(sha256)
        return MediaStatus(sha256, size, size if whole else 0, whole)
    received = min(int(row[1]), store.partial_size(sha256))
    if received == size:
        with _writing:
            try:
                return _complete(db, store, sha256, size)
            except BadChunk:
                return MediaStatus(sha256, size, 0, False)
    return MediaStatus(sha256, size, received, False)


def receive_chunk(
    db: Database, store: MediaStore, envoy_id: str, chunk: Chunk, max_size: int
) -> MediaStatus:
    """Keep one chunk and answer what is now held; refuse with a named error, keeping nothing.

    The last chunk completes the upload: the whole is hashed and checked as an image
    (shared/photos.py check_image) before it takes its place; refused, the partial is thrown
    away and the upload starts again from 0.
    """
    if len(chunk.data) > MAX_CHUNK_BYTES:
        raise ChunkTooLarge(
            f"分块太大（最多 {MAX_CHUNK_BYTES} 字节）/ chunk too large (at most {MAX_CHUNK_BYTES} bytes)",
            {"body": f"{len(chunk.data)} > {MAX_CHUNK_BYTES}"},
        )
    named = named_size(db, envoy_id, chunk.sha256)
    if named is None:
        raise NotYourPhoto()
    if chunk.size > max_size:
        raise BadChunk(
            f"照片太大（最多 {max_size} 字节）/ photo too large (at most {max_size} bytes)",
            {"size": f"{chunk.size} > {max_size}"},
        )
    if hashlib.sha256(chunk.data).hexdigest() != chunk.data_sha256:
        raise BadChunk(
            "分块损坏：内容与其 SHA-256 不符，请重发 / corrupt chunk: its bytes do not match "
            "X-Chunk-SHA256, send it again",
            {"X-Chunk-SHA256": "不符 / does not match"},
        )
    if named != chunk.size:
        raise BadChunk(
            f"大小与照片记录不符（记录为 {named} 字节）/ size differs from the photo record's "
            f"{named} bytes",
            {"size": f"应为 {named} / must be {named}"},
        )
    with _writing:
        return _keep(db, store, chunk)


def _keep(db: Database, store: MediaStore, chunk: Chunk) -> MediaStatus:
    try:
        with write_transaction(db):
            row = db.execute(
                "SELECT size, received, complete FROM media WHERE sha256 = ?", [chunk.sha256]
            ).fetchone()
            if row is not None and row[2] and store.has(chunk.sha256):
                # Sent again (a device that lost the answer): already whole, stored once.
                return MediaStatus(chunk.sha256, int(row[0]), int(row[0]), True)
            if row is not None and not row[2]:
                # Bytes counted but lost from the folder (a restored backup, a hand tidying
                # up) are not held: the device is sent back to where the file really ends.
                row = (row[0], min(int(row[1]), store.partial_size(chunk.sha256)), row[2])
            if row is not None and not row[2] and int(row[0]) == int(row[1]) == chunk.size:
                # All bytes arrived before, but the server stopped before keeping them: the
                # chunk sent now is not needed.
                received = chunk.size
            else:
                received = _append(db, store, chunk, row)
    except OSError as exc:
        # The media folder cannot be written (disk full, no permission): nothing was counted.
        raise StorageFull() from exc
    if received < chunk.size:
        return MediaStatus(chunk.sha256, chunk.size, received, False)
    return _complete(db, store, chunk.sha256, chunk.size)


def _append(db: Database, store: MediaStore, chunk: Chunk, row: tuple[int, int, int] | None) -> int:
    """Add the chunk to the upload under way (inside the write transaction); bytes now held."""
    if row is None or int(row[0]) != chunk.size or row[2]:
        # A new upload (or one whose file went missing): start from nothing.
        db.execute(
            "INSERT INTO media (sha256, size, received, complete) VALUES (?, ?, 0, 0) "
            "ON CONFLICT(sha256) DO UPDATE SET size = excluded.size, received = 0, "
            "complete = 0, stored_at = NULL",
            [chunk.sha256, chunk.size],
        )
        received = 0
    else:
        received = int(row[1])
    if chunk.offset != received:
        raise OffsetMismatch(chunk.offset, received)
    if not chunk.data:
        raise BadChunk("分块为空 / empty chunk", {"body": "空 / empty"})
    if received + len(chunk.data) > chunk.size:
        raise BadChunk(
            "分块超出照片大小 / chunk runs past the photo's size",
            {"body": f"{received} + {len(chunk.data)} > {chunk.size}"},
        )
    store.append(chunk.sha256, received, chunk.data)
    received += len(chunk.data)
    db.execute("UPDATE media SET received = ? WHERE sha256 = ?", [received, chunk.sha256])
    return received


def _complete(db: Database, store: MediaStore, sha256: str, size: int) -> MediaStatus:
    """Check the whole upload and put it in its place, or throw it away with the reason."""
    try:
        if store.has(sha256) and not store.partial_path(sha256).exists():
            # Put in place just before the server stopped: it was checked then.
            refusal = None
        else:
            refusal = _refusal(store, sha256, size)
            if refusal is None:
                store.promote(sha256, size)
        if refusal is not None:
            # Thrown away whole: the next try starts from 0 with bytes read afresh.
            store.discard(sha256)
    except OSError as exc:
        raise StorageFull() from exc
    with write_transaction(db):
        if refusal is not None:
            db.execute("DELETE FROM media WHERE sha256 = ?", [sha256])
        else:
            db.execute(
                "UPDATE media SET complete = 1, received = size, stored_at = ? WHERE sha256 = ?",
                [to_iso(utc_now()), sha256],
            )
    if refusal is not None:
        raise refusal
    return MediaStatus(sha256, size, size, True)


def _refusal(store: MediaStore, sha256: str, size: int) -> BadChunk | None:
    """Why the whole upload cannot be kept, or None: its SHA-256, then the image itself."""
    if store.partial_digest(sha256, size) != sha256:
        return BadChunk(
            "照片内容与其 SHA-256 不符，已丢弃，请重新上传 / the bytes received do not match "
            "their SHA-256: discarded, upload again from the start",
            {"sha256": "不符 / does not match"},
        )
    try:
        # No more pixels than a device's reduced photo has: a small file claiming many more
        # is refused from its header, before the server spends memory decoding it.
        check_image(
            store.partial_bytes(sha256, size), max_bytes=size, max_pixels=MAX_REDUCED_PIXELS
        )
    except PhotoRefused as exc:
        zh, en = half(exc.message, english=False), half(exc.message, english=True)
        return BadChunk(f"{zh}（已丢弃） / {en} (discarded)", {"sha256": exc.message})
    return None
