"""Housekeeping that runs beside the server: the WAL is copied into the database when writes pause."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from server.store.db import init_db, write_transaction
from server.sync.maintenance import QuietCheckpointer


def _write_rows(db: object, count: int) -> None:
    with write_transaction(db):  # type: ignore[arg-type]
        db.execute("CREATE TABLE IF NOT EXISTS notes (n INTEGER, text TEXT)")  # type: ignore[attr-defined]
        db.conn.executemany(  # type: ignore[attr-defined]
            "INSERT INTO notes VALUES (?, ?)", [(n, "田" * 200) for n in range(count)]
        )


def _rows_in_database_file(path: Path) -> int:
    """Rows as the database file alone holds them, WAL ignored: what a checkpoint has copied."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM notes").fetchone()[0])
    except sqlite3.OperationalError:  # the table itself is still only in the WAL
        return 0
    finally:
        conn.close()


def test_the_wal_is_copied_only_once_writes_have_paused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    db = init_db(str(path))  # stays open, so no close checkpoints behind the test's back
    _write_rows(db, 2000)
    assert _rows_in_database_file(path) == 0

    busy = QuietCheckpointer(str(path), quiet_seconds=60, min_bytes=1)
    assert busy.wal_bytes() > 0
    assert busy.checkpoint_if_quiet() is False
    assert _rows_in_database_file(path) == 0

    small = QuietCheckpointer(str(path), quiet_seconds=0, min_bytes=1 << 40)
    assert small.checkpoint_if_quiet() is False  # too little in the WAL to bother

    quiet = QuietCheckpointer(str(path), quiet_seconds=0, min_bytes=1)
    assert quiet.checkpoint_if_quiet() is True
    assert _rows_in_database_file(path) == 2000
    db.close()


def test_the_checkpoint_thread_copies_the_wal_after_a_pause_and_stops(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    db = init_db(str(path))
    checkpointer = QuietCheckpointer(str(path), quiet_seconds=0.1, min_bytes=1)
    checkpointer.start()
    try:
        _write_rows(db, 500)
        deadline = time.monotonic() + 10
        while _rows_in_database_file(path) < 500 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _rows_in_database_file(path) == 500
    finally:
        checkpointer.stop()
    assert checkpointer._thread is not None and not checkpointer._thread.is_alive()
    db.close()
