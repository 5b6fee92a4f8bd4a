"""The server's database: SQLite (a file, the county default) or PostgreSQL (a `postgresql://` URL);
one connection per server thread, migrations on open, writers serialised in the database."""

from __future__ import annotations

import contextlib
import datetime
import os
import sqlite3
import threading
import time
from collections.abc import Iterator

import psycopg
import sqlalchemy
import sqlite_utils
from flask import Flask, current_app, g

from server.store import dialect
from server.store.database import PgDatabase, is_url
from server.store.migrations import migrations
from shared.errors import TianjianError
from shared.private_files import create_owner_only

# A backstop: the WAL is normally copied into the database when writes pause
# (maintenance.QuietCheckpointer), so a push does not wait for that copy.
WAL_CHECKPOINT_PAGES = 65_536
WAL_KEEP_BYTES = 8 * 1024 * 1024


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


def storage_full(error: Exception) -> StorageFull | None:
    """The error as StorageFull when the database said its disk is full, else None."""
    if isinstance(error, psycopg.errors.DiskFull):
        return StorageFull()
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None and code & 0xFF == sqlite3.SQLITE_FULL:
        return StorageFull()
    return None


# What a PostgreSQL server that cannot be reached or refuses the login raises.
PG_ERRORS = (psycopg.Error, sqlalchemy.exc.SQLAlchemyError)


def open_db(path: str) -> sqlite_utils.Database:
    """The database at `path` (a SQLite file with the server's pragmas, or a PostgreSQL URL);
    DatabaseUnavailable if it cannot be opened."""
    if is_url(path):
        try:
            return PgDatabase(path)
        except PG_ERRORS as exc:
            raise DatabaseUnavailable(_shown(path), _first_line(exc)) from exc
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
    if not create and not is_url(path) and not os.path.isfile(path):
        raise NoDatabase(path)
    db = open_db(path)
    try:
        if dialect.is_postgresql(db):
            _apply_on_postgresql(db)
        else:
            migrations.apply(db)
    except (sqlite3.Error, *PG_ERRORS) as exc:
        db.close()
        raise DatabaseUnavailable(_shown(path), _first_line(exc)) from exc
    return db


def _shown(target: str) -> str:
    """The database named in a message: a URL without its password."""
    if is_url(target):
        return sqlalchemy.make_url(target).render_as_string(hide_password=True)
    return target


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# pg_advisory_xact_lock keys: one for migrating, one for every write transaction (any two
# numbers the server's database uses for nothing else).
MIGRATE_LOCK = 7_351_001
WRITE_LOCK = 7_351_002


def _apply_on_postgresql(db: sqlite_utils.Database) -> None:
    """The pending migrations in one transaction (PostgreSQL's DDL is transactional), behind an
    advisory lock so two app processes starting at once do not both migrate. The record of
    applied migrations is the table SQLite keeps (same name and columns)."""
    with write_transaction(db, lock=MIGRATE_LOCK):
        db.execute(
            "CREATE TABLE IF NOT EXISTS _sqlite_migrations (id INTEGER PRIMARY KEY, "
            "migration_set TEXT, name TEXT, applied_at TEXT)"
        )
        db.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS idx__sqlite_migrations_migration_set_name "
            "ON _sqlite_migrations (migration_set, name)"
        )
        done = {
            row[0]
            for row in db.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [migrations.name]
            ).fetchall()
        }
        for migration in migrations._migrations:
            if migration.name in done:
                continue
            migration.fn(db)
            db.execute(
                "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
                [migrations.name, migration.name, str(datetime.datetime.now(datetime.UTC))],
            )


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
    if cached is not None and _per_thread.path == path and _usable(cached):
        return cached
    if cached is not None:
        with contextlib.suppress(*PG_ERRORS):
            cached.close()
    _per_thread.db, _per_thread.path = open_db(path), path
    return _per_thread.db


def _usable(db: sqlite_utils.Database) -> bool:
    return not isinstance(db, PgDatabase) or db.pg.usable


_last_commit = [0.0]


def last_commit_at() -> float:
    """When this process last committed a write transaction, on the monotonic clock."""
    return _last_commit[0]


@contextlib.contextmanager
def write_transaction(
    db: sqlite_utils.Database, lock: int = WRITE_LOCK
) -> Iterator[sqlite_utils.Database]:
    """One writer at a time, so server sequence numbers are handed out in commit order.

    SQLite: BEGIN IMMEDIATE takes the database's write lock. PostgreSQL: every write transaction
    first takes one transaction-scoped advisory lock, held until COMMIT or ROLLBACK, so across
    all app processes a transaction that reserved lower numbers has committed before the next
    reserves any (docs/sync.md, "Commit order"); reads are never blocked."""
    if dialect.is_postgresql(db):
        db.execute("BEGIN")
        db.execute("SELECT pg_advisory_xact_lock(?)", [lock])
    else:
        db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    else:
        db.execute("COMMIT")
        _last_commit[0] = time.monotonic()


def transaction_failed(db: sqlite_utils.Database) -> bool:
    """Whether a failed statement doomed the open transaction (PostgreSQL), so that what a
    `finally` would undo goes with its rollback instead."""
    return isinstance(db, PgDatabase) and db.pg.failed


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
