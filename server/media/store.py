"""The media folder: complete photos by SHA-256 (ab/cd/<sha256>.jpg), uploads under way in
partial/, thumbnails in thumbs/; never in SQLite (a photo is 200 KB, a database row is not)."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHA256 = re.compile(r"[0-9a-f]{64}")
READ_BLOCK = 64 * 1024


def media_dir(config: Any) -> Path:
    """TIANJIAN_MEDIA_DIR, or beside the database: tianjian.db keeps its photos in tianjian-media/."""
    configured = str(config.get("MEDIA_DIR") or "")
    if configured:
        return Path(configured)
    database = Path(str(config["DATABASE"]))
    return database.with_name(f"{database.stem}-media")


@dataclass(frozen=True)
class MediaStore:
    """Where one server keeps photos' bytes. Every name here is a checked SHA-256: a path built
    from a request can never leave the folder."""

    root: Path

    def _checked(self, sha256: str) -> str:
        if not SHA256.fullmatch(sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return sha256

    def final_path(self, sha256: str) -> Path:
        sha = self._checked(sha256)
        return self.root / sha[:2] / sha[2:4] / f"{sha}.jpg"

    def partial_path(self, sha256: str) -> Path:
        return self.root / "partial" / f"{self._checked(sha256)}.part"

    def thumb_path(self, sha256: str, pixels: int) -> Path:
        sha = self._checked(sha256)
        return self.root / "thumbs" / sha[:2] / f"{sha}-{pixels}.jpg"

    def append(self, sha256: str, offset: int, chunk: bytes) -> None:
        """Write a chunk at `offset` of the partial file, cutting off anything past it first:
        bytes written by a request whose answer was never committed are not counted as held."""
        path = self.partial_path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as _created:
            pass
        with open(path, "r+b") as partial:
            partial.truncate(offset)
            partial.seek(offset)
            partial.write(chunk)
            partial.flush()
            os.fsync(partial.fileno())

    def partial_size(self, sha256: str) -> int:
        path = self.partial_path(sha256)
        return path.stat().st_size if path.is_file() else 0

    def partial_digest(self, sha256: str, size: int) -> str:
        """SHA-256 of the first `size` bytes of the partial file, read a block at a time."""
        digest = hashlib.sha256()
        with open(self.partial_path(sha256), "rb") as partial:
            left = size
            while left > 0:
                block = partial.read(min(READ_BLOCK, left))
                if not block:
                    break
                digest.update(block)
                left -= len(block)
        return digest.hexdigest()

    def partial_bytes(self, sha256: str, size: int) -> bytes:
        with open(self.partial_path(sha256), "rb") as partial:
            return partial.read(size)

    def promote(self, sha256: str, size: int) -> None:
        """Move a checked upload to its place (a rename: whole or not at all)."""
        partial, final = self.partial_path(sha256), self.final_path(sha256)
        with open(partial, "r+b") as held:
            held.truncate(size)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)

    def discard(self, sha256: str) -> None:
        self.partial_path(sha256).unlink(missing_ok=True)

    def has(self, sha256: str) -> bool:
        return self.final_path(sha256).is_file()
