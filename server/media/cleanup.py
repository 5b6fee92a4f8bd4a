"""Tidying the media store, folder or S3 (with `purge-tombstones`): uploads abandoned for longer
than the tombstones are kept, and pictures no photo record names any more once their tombstones
went."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlite_utils import Database

from server.media.backend import MediaBackend
from server.store.db import write_transaction


@dataclass(frozen=True)
class Tidied:
    """What one tidying removed: uploads under way left alone too long, and whole pictures no
    record names."""

    abandoned: int
    unnamed: int


def tidy_media(db: Database, store: MediaBackend, days: int, now: float | None = None) -> Tidied:
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
        store.remove(sha)
    return Tidied(len(abandoned), len(unnamed))


def _abandoned(db: Database, store: MediaBackend, cutoff: float) -> list[str]:
    """Uploads under way last written before the cutoff (or gone), and uploads no row counts
    (a first chunk whose transaction never committed) last written before it."""
    found = []
    counted = set()
    for (sha,) in db.execute("SELECT sha256 FROM media WHERE complete = 0"):
        counted.add(sha)
        touched = store.partial_touched(sha)
        if touched is None or touched < cutoff:
            found.append(sha)
    for sha, touched in store.partials():
        if sha not in counted and touched < cutoff:
            found.append(sha)
    return found
