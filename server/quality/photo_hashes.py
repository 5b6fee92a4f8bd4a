"""Perceptual hashes of stored photos, and finding pictures near-identical by them (issue 21).

The hash is imagehash's pHash (DCT of a 32x32 grey image, 64 bits): a picture re-encoded,
resized or lightly cropped keeps nearly the same bits, where its SHA-256 changes entirely. It
is computed once, when a photo's bytes are complete (`hash_if_missing`, called by the upload's
API on the last chunk), and kept in `media.phash` (16 hex digits), so no list of flags ever
opens a picture; `hash_missing` catches up on any stored without one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path

import imagehash
from PIL import Image, UnidentifiedImageError
from sqlite_utils import Database

from server.store.db import write_transaction
from shared.errors import TianjianError

HASH_BITS = 64
# JPEG decodes at 1/2 to 1/8 scale when asked for a small image: the hash needs only 32x32.
DRAFT_SIZE = (256, 256)


class UnreadablePicture(TianjianError):
    """Stored bytes that Pillow cannot read as a picture (so they have no perceptual hash)."""

    status = 422

    def __init__(self, path: str) -> None:
        super().__init__(f"无法读取图片 / not a readable picture: {path}")


def perceptual_hash(path: str) -> str:
    """The picture's pHash as 16 hex digits; UnreadablePicture when it is not one Pillow reads
    within its own limits (a decompression bomb included)."""
    try:
        with Image.open(path) as image:
            image.draft("L", DRAFT_SIZE)
            return str(imagehash.phash(image))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise UnreadablePicture(path) from exc


def hash_media(db: Database, sha256: str, path: str) -> str:
    """Compute and keep the perceptual hash of the complete media `sha256` stored at `path`
    (inside the caller's write transaction)."""
    found = perceptual_hash(path)
    db.execute("UPDATE media SET phash = ? WHERE sha256 = ?", [found, sha256])
    return found


def hash_if_missing(db: Database, sha256: str, path: str) -> str | None:
    """The perceptual hash of complete media `sha256`, computed and kept now if it has none
    (the chunk upload's last answer calls this); None when Pillow cannot read the bytes, which
    the upload checked already, so only a file changed since would say so."""
    row = db.execute("SELECT phash FROM media WHERE sha256 = ?", [sha256]).fetchone()
    if row is None or row[0]:
        return row[0] if row else None
    try:
        with write_transaction(db):
            return hash_media(db, sha256, path)
    except UnreadablePicture:
        return None


def hash_missing(db: Database, path_of: Callable[[str], Path], limit: int = 1000) -> int:
    """Hash up to `limit` complete media that have no perceptual hash yet (stored before
    m017, or whose hashing failed), each kept as it is done; those Pillow cannot read keep
    none. `path_of` is where the media store keeps a SHA-256's bytes. How many were hashed."""
    rows = db.execute(
        "SELECT sha256 FROM media WHERE complete = 1 AND phash IS NULL LIMIT ?", [limit]
    ).fetchall()
    done = 0
    for (sha256,) in rows:
        try:
            with write_transaction(db):
                hash_media(db, sha256, str(path_of(sha256)))
        except UnreadablePicture:
            continue
        done += 1
    return done


def bits_apart(a: str, b: str) -> int:
    """How many of two hashes' bits differ (their Hamming distance)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def near_pairs(hashes: Mapping[str, str], distance: int) -> list[tuple[str, str, int]]:
    """Every pair of keys whose hashes differ in at most `distance` bits, as (a, b, bits) with
    a < b. Two hashes that close agree exactly on at least one of `distance` + 1 blocks of
    their bits (pigeonhole), so only keys sharing a block's value are compared: no all-pairs
    pass over a county's photos."""
    if distance < 0:
        return []
    values = {key: int(value, 16) for key, value in hashes.items() if _is_hash(value)}
    blocks = min(distance + 1, HASH_BITS)
    bounds = [(i * HASH_BITS // blocks, (i + 1) * HASH_BITS // blocks) for i in range(blocks)]
    buckets: dict[tuple[int, int], list[str]] = defaultdict(list)
    for key, value in values.items():
        for index, (lo, hi) in enumerate(bounds):
            buckets[(index, (value >> lo) & ((1 << (hi - lo)) - 1))].append(key)
    seen: set[tuple[str, str]] = set()
    found = []
    for members in buckets.values():
        for i, first in enumerate(members):
            for second in members[i + 1 :]:
                pair = (first, second) if first < second else (second, first)
                if pair in seen:
                    continue
                seen.add(pair)
                bits = (values[first] ^ values[second]).bit_count()
                if bits <= distance:
                    found.append((*pair, bits))
    return sorted(found)


def _is_hash(value: str) -> bool:
    try:
        return len(value) == HASH_BITS // 4 and int(value, 16) >= 0
    except ValueError:
        return False
