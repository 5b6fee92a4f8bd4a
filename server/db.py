"""The server's SQLite database: one connection per request on `g`, WAL, migrations on open."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import sqlite_utils
from flask import Flask, current_app, g

from server.migrations import migrations


def open_db(path: str) -> sqlite_utils.Database:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    # Random UUID keys touch pages all over each index; a bigger cache keeps writes in memory.
    db.execute("PRAGMA cache_size=-32000")
    return db


def init_db(path: str) -> sqlite_utils.Database:
    db = open_db(path)
    migrations.apply(db)
    return db


def get_db() -> sqlite_utils.Database:
    if "db" not in g:
        g.db = open_db(current_app.config["DATABASE"])
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


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
