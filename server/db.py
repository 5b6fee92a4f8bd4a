"""The server's SQLite database: one connection per server thread, WAL, migrations on open."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

import sqlite_utils
from flask import Flask, current_app, g

from server.migrations import migrations
from shared.private_files import create_owner_only

T = TypeVar("T")

# A backstop: the WAL is normally copied into the database when writes pause
# (maintenance.QuietCheckpointer), so a push does not wait for that copy.
WAL_CHECKPOINT_PAGES = 65_536
WAL_KEEP_BYTES = 8 * 1024 * 1024


# Values per `IN (...)`: well inside SQLite's limit on bound parameters.
IN_CHUNK = 500


def in_chunks(values: Iterable[T]) -> Iterator[tuple[list[T], str]]:
    """Values in slices small enough for one `IN (...)`, each with its placeholders."""
    items = list(values)
    for start in range(0, len(items), IN_CHUNK):
        chunk = items[start : start + IN_CHUNK]
        yield chunk, ",".join("?" * len(chunk))


def open_db(path: str) -> sqlite_utils.Database:
    create_owner_only(path)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    # Random UUID keys touch pages all over each index; a bigger cache keeps writes in memory.
    db.execute("PRAGMA cache_size=-16000")
    # Checkpoint the WAL only past ~256 MB rather than every 4 MB: a big push dirties the same
    # index pages commit after commit, and copying them into the database once instead of many
    # times took a third off the cost of storing 100,000 check-ins. The file is cut back after.
    db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    db.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
    return db


def init_db(path: str) -> sqlite_utils.Database:
    db = open_db(path)
    migrations.apply(db)
    return db


_per_thread = threading.local()


def get_db() -> sqlite_utils.Database:
    if "db" not in g:
        g.db = _thread_connection(current_app.config["DATABASE"])
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None and db.conn.in_transaction:
        db.rollback()


def _thread_connection(path: str) -> sqlite_utils.Database:
    """One connection per server thread, kept between requests: closing the last connection
    to a WAL database checkpoints it, which would cost every push a full checkpoint."""
    cached = getattr(_per_thread, "db", None)
    if cached is not None and _per_thread.path == path:
        return cached
    if cached is not None:
        cached.close()
    _per_thread.db, _per_thread.path = open_db(path), path
    return _per_thread.db


_last_commit = [0.0]


def last_commit_at() -> float:
    """When this process last committed a write transaction, on the monotonic clock."""
    return _last_commit[0]


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """BEGIN IMMEDIATE, so server sequence numbers are handed out in commit order."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    else:
        db.execute("COMMIT")
        _last_commit[0] = time.monotonic()


def next_server_seq(db: sqlite_utils.Database, count: int = 1) -> int:
    """Reserve `count` sequence numbers inside the open write transaction; return the first."""
    row = db.execute("SELECT value FROM server_state WHERE key = 'seq'").fetchone()
    first = int(row[0]) + 1
    db.execute("UPDATE server_state SET value = ? WHERE key = 'seq'", [first + count - 1])
    return first


def get_state(db: sqlite_utils.Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("SELECT value FROM server_state WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def set_state(db: sqlite_utils.Database, key: str, value: object) -> None:
    db.execute(
        "INSERT INTO server_state (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, str(value)],
    )


def register(app: Flask) -> None:
    app.teardown_appcontext(close_db)
