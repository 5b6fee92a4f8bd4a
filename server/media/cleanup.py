"""Tidying the media folder (with `purge-tombstones`): uploads abandoned for longer than the
tombstones are kept, and pictures no photo record names any more once their tombstones went."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlite_utils import Database

from server.media.store import SHA256, MediaStore
from server.store.db import write_transaction


@dataclass(frozen=True)
class Tidied:
    """What one tidying removed: uploads under way left alone too long, and whole pictures no
    record names."""

    abandoned: int
    unnamed: int


def tidy_media(db: Database, store: MediaStore, days: int, now: float | None = None) -> Tidied:
    """Remove partial uploads untouched for `days` and whole pictures no photo record names.

    A device whose record still names a removed picture is told `received` 0 when it asks, and
    sends it again: nothing a record needs is lost for good.
    """
    cutoff = (time.time() if now is None else now) - days * 86400
    abandoned = _abandoned(db, store, cutoff)
    unnamed = [
        row[0]
        for row in db.execute(
            "SELECT m.sha256 FROM media m WHERE m.complete = 1 "
            "AND NOT EXISTS (SELECT 1 FROM photos ph WHERE ph.sha256 = m.sha256)"
        )
    ]
    with write_transaction(db):
        for sha in [*abandoned, *unnamed]:
            db.execute("DELETE FROM media WHERE sha256 = ?", [sha])
    for sha in abandoned:
        store.discard(sha)
    for sha in unnamed:
        store.final_path(sha).unlink(missing_ok=True)
        for thumb in store.thumb_path(sha, 1).parent.glob(f"{sha}-*.jpg"):
            thumb.unlink(missing_ok=True)
    return Tidied(len(abandoned), len(unnamed))


def _abandoned(db: Database, store: MediaStore, cutoff: float) -> list[str]:
    """Uploads under way whose partial file was last written before the cutoff (or is gone),
    and partial files no upload row counts (a first chunk whose transaction never committed)."""
    found = []
    counted = set()
    for (sha,) in db.execute("SELECT sha256 FROM media WHERE complete = 0"):
        counted.add(sha)
        path = store.partial_path(sha)
        if not path.is_file() or path.stat().st_mtime < cutoff:
            found.append(sha)
    partial = store.root / "partial"
    if partial.is_dir():
        for path in partial.glob("*.part"):
            if (
                SHA256.fullmatch(path.stem)
                and path.stem not in counted
                and path.stat().st_mtime < cutoff
            ):
                found.append(path.stem)
    return found
