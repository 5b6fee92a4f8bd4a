"""Perceptual hashes of photos (imagehash's pHash): a picture re-encoded and resized keeps nearly
the same hash, another picture does not; near pairs are found exactly as comparing every pair
would find them; bytes that are not a picture are refused in both languages."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from server.quality.photo_hashes import (
    UnreadablePicture,
    bits_apart,
    near_pairs,
    perceptual_hash,
)
from server.settings import BY_NAME

DISTANCE = BY_NAME["FLAG_PHOTO_HASH_DISTANCE"].default


def scene(seed: int, size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    """A made-up photo: a sky-to-field gradient with shapes placed by the seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    width, height = size
    for y in range(height):
        shade = int(255 * y / height)
        draw.line([(0, y), (width, y)], fill=(shade, 200 - shade // 2, 255 - shade))
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(width // 20, width // 5)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    return image


def saved(image: Image.Image, path: Path, **options: object) -> str:
    image.save(path, **options)
    return str(path)


def test_a_reencoded_resized_copy_is_near_and_another_picture_is_not(tmp_path: Path) -> None:
    original = scene(1)
    first = perceptual_hash(saved(original, tmp_path / "a.jpg", quality=90))
    copy = original.resize((800, 600))
    second = perceptual_hash(saved(copy, tmp_path / "b.jpg", quality=40))
    other = perceptual_hash(saved(scene(2), tmp_path / "c.jpg", quality=90))
    assert len(first) == 16 and int(first, 16) >= 0
    assert bits_apart(first, second) <= DISTANCE
    assert bits_apart(first, other) > DISTANCE * 2
    assert near_pairs({"a": first, "b": second, "c": other}, DISTANCE) == [
        ("a", "b", bits_apart(first, second))
    ]


def test_bytes_that_are_not_a_picture_are_refused(tmp_path: Path) -> None:
    pdf = tmp_path / "sheet.jpg"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n")
    truncated = tmp_path / "cut.jpg"
    buffer = io.BytesIO()
    scene(3).save(buffer, "JPEG")
    truncated.write_bytes(buffer.getvalue()[:200])
    for path in (pdf, truncated):
        with pytest.raises(UnreadablePicture) as raised:
            perceptual_hash(str(path))
        assert raised.value.status == 422
        assert "无法读取图片" in str(raised.value) and "not a readable picture" in str(raised.value)


def test_a_decompression_bomb_is_refused(tmp_path: Path) -> None:
    """A 50,000 x 50,000 PNG of a few kilobytes: Pillow's own limit stops it before decoding."""
    width = height = 50_000

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 64)  # far fewer rows than declared: never decoded anyway
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )
    with pytest.raises(UnreadablePicture):
        perceptual_hash(str(bomb))


hashes = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3),
    st.integers(0, 2**64 - 1).map(lambda n: f"{n:016x}"),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(found=hashes, distance=st.integers(0, 20), seed=st.integers(0, 2**64 - 1))
def test_near_pairs_are_every_pair_within_the_distance(
    found: dict[str, str], distance: int, seed: int
) -> None:
    # Neighbours of one hash, a few bits flipped, so close pairs are common.
    keys = sorted(found)
    rng = random.Random(seed)
    for index, key in enumerate(keys[1:]):
        if index % 2 == 0:
            base = int(found[keys[0]], 16)
            for _ in range(rng.randrange(0, distance + 3)):
                base ^= 1 << rng.randrange(64)
            found[key] = f"{base:016x}"
    expected = sorted(
        (a, b, bits_apart(found[a], found[b]))
        for i, a in enumerate(keys)
        for b in keys[i + 1 :]
        if bits_apart(found[a], found[b]) <= distance
    )
    assert near_pairs(found, distance) == expected


def test_a_hash_that_is_not_one_is_ignored() -> None:
    assert near_pairs({"a": "0" * 16, "b": "zz", "c": "", "d": "0" * 16}, 0) == [("a", "d", 0)]
