"""Housekeeping: purging tombstones older than the longest offline spell; checkpointing the WAL
when writes pause."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from datetime import timedelta

from sqlite_utils import Database

from server.store.db import get_state, last_commit_at, open_db, set_state, write_transaction
from server.store.tables import FIELD_TABLES
from server.summaries import keep as summaries_kept
from server.sync.held import expire_held
from shared.clock import to_iso, utc_now


def purge_tombstones(db: Database, days: int) -> int:
    """Delete tombstones older than `days`, and expire changes held as long; how many tombstones."""
    cutoff = to_iso(utc_now() - timedelta(days=days))
    purged = 0
    with write_transaction(db), summaries_kept.writing(db):
        high = int(get_state(db, "purged_seq") or 0)
        summaries_kept.before_purge(db, cutoff)
        for table in FIELD_TABLES:
            row = db.execute(
                f"SELECT count(*), max(server_seq) FROM [{table}] WHERE deleted = 1 AND updated_at < ?",
                [cutoff],
            ).fetchone()
            if row[0]:
                purged += row[0]
                high = max(high, row[1])
                db.execute(f"DELETE FROM [{table}] WHERE deleted = 1 AND updated_at < ?", [cutoff])
        if purged:
            # Any cursor below the highest purged change may be missing a deletion.
            set_state(db, "purged_seq", high)
    # Changes held as long still wait for a record that will not come.
    expire_held(db, days)
    return purged


class QuietCheckpointer:
    """Copies the write-ahead log into the database once writes have paused.

    SQLite would otherwise do it inside whichever commit crosses its threshold, and that push
    would wait for a copy of everything written since the last one. Passive: a push that
    arrives meanwhile writes on, and the copy gives way to it.
    """

    def __init__(self, path: str, quiet_seconds: float, min_bytes: int = 1024 * 1024) -> None:
        self.path = path
        self.quiet_seconds = quiet_seconds
        self.min_bytes = min_bytes
        # The commit the last checkpoint came after: one checkpoint per pause, not one a tick.
        self._checkpointed_after = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wal_bytes(self) -> int:
        try:
            return os.path.getsize(f"{self.path}-wal")
        except OSError:
            return 0

    def checkpoint_if_quiet(self) -> bool:
        """Checkpoint when something was committed, nothing since for quiet_seconds, and the
        WAL has grown; return whether it did."""
        committed = last_commit_at()
        if committed <= self._checkpointed_after:
            return False
        if time.monotonic() - committed < self.quiet_seconds or self.wal_bytes() < self.min_bytes:
            return False
        db = open_db(self.path)
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            db.close()
        self._checkpointed_after = committed
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(max(self.quiet_seconds / 2, 0.05)):
            try:
                self.checkpoint_if_quiet()
            except sqlite3.Error as exc:
                # Not fatal: SQLite's own threshold still checkpoints; try again next time.
                logging.getLogger(__name__).warning("WAL checkpoint failed: %s", exc)
