"""What a media store does, whichever keeps the bytes: the folder (a county's default,
server/media/store.py) or S3-compatible object storage (server/media/s3.py), chosen by
TIANJIAN_MEDIA_BACKEND (server/media/chosen.py); both use the same content-addressed names,
given here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

SHA256 = re.compile(r"[0-9a-f]{64}")
READ_BLOCK = 64 * 1024


def checked(sha256: str) -> str:
    """The SHA-256 itself, or ValueError: a name built from a request never leaves the store."""
    if not SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256: {sha256!r}")
    return sha256


def final_name(sha256: str) -> str:
    """Where a whole picture is kept: ab/cd/<sha256>.jpg."""
    sha = checked(sha256)
    return f"{sha[:2]}/{sha[2:4]}/{sha}.jpg"


def thumb_name(sha256: str, pixels: int) -> str:
    """Where its thumbnail of `pixels` on the long side is kept: thumbs/ab/<sha256>-320.jpg."""
    sha = checked(sha256)
    return f"thumbs/{sha[:2]}/{sha}-{int(pixels)}.jpg"


def thumbs_prefix(sha256: str) -> str:
    """What every thumbnail of a picture is named with, whatever its size."""
    sha = checked(sha256)
    return f"thumbs/{sha[:2]}/{sha}-"


class Readable(Protocol):
    """A stream of stored bytes: an open file, an S3 object's body, bytes in memory."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


@dataclass
class Opened:
    """Stored bytes opened for reading: a stream to read in blocks and close, and its size."""

    stream: Readable
    size: int

    def blocks(self) -> Iterator[bytes]:
        while block := self.stream.read(READ_BLOCK):
            yield block

    def close(self) -> None:
        self.stream.close()


class MediaBackend(Protocol):
    """Photos' bytes by SHA-256: whole pictures, uploads under way (each chunk appended at the
    offset the database counts), and thumbnails. Every method takes a checked SHA-256."""

    def check(self) -> None:
        """Raise MediaStoreUnavailable now if the store cannot be used: called before the
        database's write lock is taken, so a store that does not answer never holds it."""
        ...

    def has(self, sha256: str) -> bool:
        """Whether the whole picture is stored (only checked bytes ever are)."""
        ...

    def open(self, sha256: str) -> Opened | None:
        """The whole picture opened for reading, or None when it is not stored."""
        ...

    def local_file(self, sha256: str) -> AbstractContextManager[Path]:
        """The whole picture as a file on this machine, for as long as the block lasts."""
        ...

    def remove(self, sha256: str) -> None:
        """Remove the whole picture and its thumbnails (absent ones are no error)."""
        ...

    def append(self, sha256: str, offset: int, chunk: bytes) -> None:
        """Keep `chunk` at `offset` of the upload, dropping anything held past `offset` first:
        bytes written by a request whose answer was never committed are not counted as held."""
        ...

    def partial_size(self, sha256: str) -> int:
        """How many bytes of the upload are held from its start (0 when none)."""
        ...

    def has_partial(self, sha256: str) -> bool: ...

    def partial_bytes(self, sha256: str, size: int) -> bytes:
        """The first `size` bytes of the upload (fewer when fewer are held)."""
        ...

    def promote(self, sha256: str, whole: bytes) -> None:
        """Put a checked upload (`whole`, its bytes) in its place, whole or not at all, and
        drop the partial."""
        ...

    def discard(self, sha256: str) -> None:
        """Drop the upload under way (absent is no error)."""
        ...

    def partial_touched(self, sha256: str) -> float | None:
        """When the upload was last written (seconds since the epoch), None when none is."""
        ...

    def partials(self) -> Iterator[tuple[str, float]]:
        """Every upload under way, with when it was last written."""
        ...

    def open_thumb(self, sha256: str, pixels: int) -> Opened | None: ...

    def put_thumb(self, sha256: str, pixels: int, data: bytes) -> None:
        """Keep a thumbnail; a reader never sees it half written."""
        ...
