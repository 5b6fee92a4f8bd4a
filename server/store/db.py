"""The server's SQLite database: one connection per server thread, WAL, migrations on open."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

import sqlite_utils
from flask import Flask, current_app, g

from server.store.migrations import migrations
from shared.errors import TianjianError
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


# Rows per multi-row INSERT: SQLite's executemany binds and steps the statement once per row,
# and for a table of several text keys that overhead is near half the cost of a row;
# one statement of 100 rows (800 parameters for 8 columns) took a 8,400-row write from
# ~18 to ~10 ms of processor time.
ROWS_PER_INSERT = 100


def insert_many(
    db: sqlite_utils.Database, head: str, rows: Sequence[Sequence[object]], tail: str = ""
) -> None:
    """`head` ("INSERT INTO t") with `rows` as multi-row VALUES, `tail` after (ON CONFLICT ...);
    every value a bound parameter. The rows must all have the same width."""
    if not rows:
        return
    row_marks = "(" + ",".join("?" * len(rows[0])) + ")"
    for start in range(0, len(rows), ROWS_PER_INSERT):
        part = rows[start : start + ROWS_PER_INSERT]
        db.conn.execute(
            f"{head} VALUES {','.join([row_marks] * len(part))} {tail}",
            [value for row in part for value in row],
        )


class DatabaseUnavailable(TianjianError):
    """The database file cannot be opened (no such folder, not a database, no permission)."""

    status = 503

    def __init__(self, path: str, reason: object) -> None:
        super().__init__(f"无法打开数据库 / cannot open database {path}: {reason}")


class NoDatabase(TianjianError):
    """A command that reads the database was pointed at a file that does not exist."""

    status = 503

    def __init__(self, path: str) -> None:
        super().__init__(
            f"数据库不存在，请先运行 tianjian-server init 或用 --db 指定 / no database at {path}: "
            "run `tianjian-server init` first, or name it with --db"
        )


class StorageFull(TianjianError):
    """SQLite could not write: the disk (or the database's size limit) is full."""

    status = 507
    message = (
        "服务器磁盘已满，本次数据未保存，请联系科技局后再同步 / the server's disk is full: "
        "nothing of this request was saved; tell the bureau, then sync again"
    )


def storage_full(error: sqlite3.Error) -> StorageFull | None:
    """The error as StorageFull when SQLite said "database or disk is full", else None."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None and code & 0xFF == sqlite3.SQLITE_FULL:
        return StorageFull()
    return None


def open_db(path: str) -> sqlite_utils.Database:
    """The database at `path` with the server's pragmas; DatabaseUnavailable if it cannot be."""
    create_owner_only(path)
    try:
        return _configured(
            sqlite_utils.Database(sqlite3.connect(path, check_same_thread=False, timeout=30))
        )
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(path, exc) from exc


def _configured(db: sqlite_utils.Database) -> sqlite_utils.Database:
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


def init_db(path: str, create: bool = True) -> sqlite_utils.Database:
    """Open the database and bring it up to date; with create=False, NoDatabase if the file
    does not exist yet (a command run in the wrong folder must not leave an empty one there)."""
    if not create and not os.path.isfile(path):
        raise NoDatabase(path)
    db = open_db(path)
    try:
        migrations.apply(db)
    except sqlite3.Error as exc:
        db.close()
        raise DatabaseUnavailable(path, exc) from exc
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
