"""The server's database on PostgreSQL, offering the sqlite_utils surface the code already uses.

A file path keeps the county default, a sqlite_utils Database on sqlite3 with nothing in between
(server/store/db.py). A `postgresql://` URL gives a PgDatabase: the same `execute`, `query`,
`conn.executemany`, `conn.in_transaction`, `rollback`, `close` and the few `table(...)` helpers
the code calls, over one pooled psycopg 3 connection from a SQLAlchemy Core engine. Statements
keep SQLite's placeholders and quoting; sql_text.to_postgresql converts them, and what cannot be
converted lives in dialect.py. PgDatabase subclasses sqlite_utils.Database only so that every
call site's `db: Database` annotation holds for both engines; none of its SQLite code runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import psycopg
import sqlalchemy
import sqlite_utils
from psycopg.adapt import Loader
from sqlite_utils.db import Table

from server.store import dialect
from server.store.pg_tables import PgTable
from server.store.sql_text import begin_statement, to_postgresql

Params = Sequence[Any] | Mapping[str, Any] | None


def is_url(target: str) -> bool:
    """Whether the database setting names PostgreSQL rather than a SQLite file."""
    return target.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


_engines: dict[str, sqlalchemy.Engine] = {}
_engines_lock = threading.Lock()


def engine_for(url: str) -> sqlalchemy.Engine:
    """One pooled engine per URL in this process (psycopg 3 as the driver)."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            driver_url = sqlalchemy.make_url(url).set(drivername="postgresql+psycopg")
            engine = sqlalchemy.create_engine(
                driver_url, pool_size=8, max_overflow=32, pool_pre_ping=True
            )
            _engines[url] = engine
        return engine


def dispose_engine(url: str) -> None:
    """Close every pooled connection to `url` (a test dropping its database first)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


class _NumberLoader(Loader):
    """numeric as SQLite gives it: sum() of integers an int, anything else a float (never a
    Decimal, which neither JSON nor float arithmetic takes)."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        if "." in text or "e" in text or "E" in text or "N" in text:
            return float(text)
        return int(text)


def _plain(params: Params) -> Sequence[Any] | Mapping[str, Any]:
    """Parameters as psycopg takes them, with booleans as SQLite stores them (0/1)."""
    if params is None:
        return ()
    if isinstance(params, Mapping):
        return {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
    return tuple(int(v) if isinstance(v, bool) else v for v in params)


_OPEN = (
    psycopg.pq.TransactionStatus.INTRANS,
    psycopg.pq.TransactionStatus.INERROR,
    psycopg.pq.TransactionStatus.ACTIVE,
)


class PgCursor:
    """A finished statement's rows and counts, as a sqlite3 cursor offers them."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> None:
        return None

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description is not None else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description is not None else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgConnection:
    """The `db.conn` of a PgDatabase: autocommit unless a BEGIN opened a transaction, as sqlite3
    with sqlite_utils behaves (a lone write commits; write_transaction opens and commits)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw  # SQLAlchemy's pooled proxy: close() hands it back to the pool
        self.driver: psycopg.Connection[Any] = raw.driver_connection
        self.driver.autocommit = True
        self.driver.adapters.register_loader("numeric", _NumberLoader)

    @property
    def in_transaction(self) -> bool:
        return self.driver.info.transaction_status in _OPEN

    def execute(self, sql: str, params: Params = None) -> PgCursor:
        cursor = self.driver.cursor()
        cursor.execute(begin_statement(sql) or to_postgresql(sql), _plain(params))
        return PgCursor(cursor)

    def executemany(self, sql: str, rows: Iterable[Params]) -> PgCursor:
        cursor = self.driver.cursor()
        cursor.executemany(to_postgresql(sql), [_plain(r) for r in rows])
        return PgCursor(cursor)

    def cursor(self) -> PgConnection:
        return self

    def commit(self) -> None:
        if self.in_transaction:
            self.driver.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.driver.execute("ROLLBACK")

    @property
    def usable(self) -> bool:
        """False once the server went away (a restart, a failover): the pool's next
        connection is then taken instead of failing every request on this one."""
        return not (self.driver.closed or self.driver.broken)

    def close(self) -> None:
        if self.usable:
            self.rollback()
        self._raw.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()


class PgDatabase(sqlite_utils.Database):
    """The server's database on PostgreSQL (see the module doc)."""

    engine_name = dialect.POSTGRESQL

    def __init__(self, url: str) -> None:  # noqa: D107 - no sqlite_utils set-up runs
        self.url = url
        self.engine = engine_for(url)
        self.pg = PgConnection(self.engine.raw_connection())
        self.conn = self.pg  # type: ignore[assignment]
        self._tracer = None
        self._registered_functions: set[tuple[str, int]] = set()

    def execute(self, sql: str, parameters: Params = None) -> Any:
        return self.pg.execute(sql, parameters)

    def query(self, sql: str, params: Params = None) -> Iterator[dict[str, Any]]:  # type: ignore[override]
        cursor = self.pg.execute(sql, params)
        if cursor.description is None:
            raise ValueError("query() can only be used with SQL that returns rows")
        keys = [d[0] for d in cursor.description]
        return (dict(zip(keys, row, strict=True)) for row in cursor.fetchall())

    def table(self, table_name: str, **kwargs: Any) -> Table:
        return PgTable(self, table_name)

    def __getitem__(self, table_name: str) -> Table:  # type: ignore[override]
        return self.table(table_name)

    def rename_table(self, name: str, new_name: str) -> None:
        self.execute(f'ALTER TABLE "{name}" RENAME TO "{new_name}"')

    def table_names(self, fts4: bool = False, fts5: bool = False) -> list[str]:
        return [
            row[0]
            for row in self.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "ORDER BY tablename"
            ).fetchall()
        ]

    def close(self) -> None:
        self.pg.close()
