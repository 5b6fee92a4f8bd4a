"""The media folder, a county's default store: complete photos by SHA-256 (ab/cd/<sha256>.jpg),
uploads under way in partial/, thumbnails in thumbs/; never in SQLite (a photo is 200 KB, a
database row is not)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.media.backend import (
    SHA256,
    Opened,
    checked,
    final_name,
    thumb_name,
    thumbs_prefix,
)
from server.media.errors import MediaStoreUnavailable
from server.store.dialect import is_url

__all__ = ["SHA256", "MediaStore", "media_dir"]


def media_dir(config: Any) -> Path:
    """TIANJIAN_MEDIA_DIR, or beside the database: tianjian.db keeps its photos in tianjian-media/."""
    configured = str(config.get("MEDIA_DIR") or "")
    if configured:
        return Path(configured)
    if is_url(str(config["DATABASE"])):
        # A database on a server has no folder beside it: the setting must say where.
        raise MediaStoreUnavailable(
            "数据库在 PostgreSQL 上时须设置 TIANJIAN_MEDIA_DIR（各应用服务器共享的目录）或 "
            "TIANJIAN_MEDIA_BACKEND=s3 / with the database on PostgreSQL, set TIANJIAN_MEDIA_DIR "
            "(a folder every app machine shares) or TIANJIAN_MEDIA_BACKEND=s3",
            {"TIANJIAN_MEDIA_DIR": "unset"},
        )
    database = Path(str(config["DATABASE"]))
    return database.with_name(f"{database.stem}-media")


def _opened(path: Path) -> Opened | None:
    try:
        stream = open(path, "rb")
    except FileNotFoundError:
        return None
    return Opened(stream, os.fstat(stream.fileno()).st_size)


@dataclass(frozen=True)
class MediaStore:
    """Where one server keeps photos' bytes in a folder (server/media/backend.py MediaBackend).
    Every name here is a checked SHA-256: a path built from a request can never leave it."""

    root: Path

    def final_path(self, sha256: str) -> Path:
        return self.root / final_name(sha256)

    def partial_path(self, sha256: str) -> Path:
        return self.root / "partial" / f"{checked(sha256)}.part"

    def thumb_path(self, sha256: str, pixels: int) -> Path:
        return self.root / thumb_name(sha256, pixels)

    def check(self) -> None:
        """Nothing to ask: a folder that cannot be written fails at once (StorageFull)."""

    def has(self, sha256: str) -> bool:
        return self.final_path(sha256).is_file()

    def open(self, sha256: str) -> Opened | None:
        return _opened(self.final_path(sha256))

    @contextmanager
    def local_file(self, sha256: str) -> Iterator[Path]:
        yield self.final_path(sha256)

    def remove(self, sha256: str) -> None:
        self.final_path(sha256).unlink(missing_ok=True)
        prefix = thumbs_prefix(sha256)
        for thumb in (self.root / prefix).parent.glob(f"{Path(prefix).name}*.jpg"):
            thumb.unlink(missing_ok=True)

    def append(self, sha256: str, offset: int, chunk: bytes) -> None:
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

    def has_partial(self, sha256: str) -> bool:
        return self.partial_path(sha256).exists()

    def partial_bytes(self, sha256: str, size: int) -> bytes:
        try:
            with open(self.partial_path(sha256), "rb") as partial:
                return partial.read(size)
        except FileNotFoundError:
            return b""

    def promote(self, sha256: str, whole: bytes) -> None:
        """A rename of the partial file, cut to the checked length: whole or not at all."""
        partial, final = self.partial_path(sha256), self.final_path(sha256)
        with open(partial, "r+b") as held:
            held.truncate(len(whole))
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)

    def discard(self, sha256: str) -> None:
        self.partial_path(sha256).unlink(missing_ok=True)

    def partial_touched(self, sha256: str) -> float | None:
        try:
            return self.partial_path(sha256).stat().st_mtime
        except FileNotFoundError:
            return None

    def partials(self) -> Iterator[tuple[str, float]]:
        folder = self.root / "partial"
        if not folder.is_dir():
            return
        for path in folder.glob("*.part"):
            if SHA256.fullmatch(path.stem):
                try:
                    yield path.stem, path.stat().st_mtime
                except FileNotFoundError:
                    continue

    def open_thumb(self, sha256: str, pixels: int) -> Opened | None:
        return _opened(self.thumb_path(sha256, pixels))

    def put_thumb(self, sha256: str, pixels: int, data: bytes) -> None:
        target = self.thumb_path(sha256, pixels)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: two requests at once never serve a half-written file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
