"""The server's database on PostgreSQL, offering the sqlite_utils surface the code already uses.

A file path keeps the county default, a sqlite_utils Database on sqlite3 with nothing in between
(server/store/db.py). A `postgresql://` URL gives a PgDatabase: the same `execute`, `query`,
`conn.executemany`, `conn.in_transaction`, `rollback`, `close` and the few `table(...)` helpers
the code calls, over one pooled psycopg 3 connection from a SQLAlchemy Core engine. Statements
keep SQLite's placeholders and quoting; sql_text.to_postgresql converts them, and what cannot be
converted lives in dialect.py. PgDatabase subclasses sqlite_utils.Database only so that every
call site's `db: Database` annotation holds for both engines; none of its SQLite code runs.

db.py imports this module only when it opens a PostgreSQL URL: psycopg and SQLAlchemy cost a
process about 22 MB, which a county server on SQLite never loads.
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
from server.store.dialect import POSTGRESQL, on_conflict_update, quote
from server.store.sql_text import begin_statement, to_postgresql

Params = Sequence[Any] | Mapping[str, Any] | None


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
    def failed(self) -> bool:
        """Whether a statement failed in the open transaction: PostgreSQL then takes no other
        statement but ROLLBACK (SQLite's transaction goes on after a failed statement)."""
        return self.driver.info.transaction_status == psycopg.pq.TransactionStatus.INERROR

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


# ---------------------------------------------------------------- the table helpers
# Migrations build tables with `db.table(name).create(columns, pk=...)` and the code inserts with
# `insert`, `insert_all` and `upsert_all`; on PostgreSQL these write the same tables with the
# types SQLite's would have and the same index names (`idx_<table>_<columns>`, which `INDEXED BY`
# hints name on SQLite).

_TYPES: dict[type, str] = {
    str: "TEXT",
    int: "BIGINT",
    float: "DOUBLE PRECISION",
    bytes: "BYTEA",
    bool: "BIGINT",
}


def _q(name: str) -> str:
    return quote(POSTGRESQL, name)


class PgTable(Table):
    """One table of a PgDatabase with the sqlite_utils methods the server uses."""

    def __init__(self, db: Any, name: str) -> None:  # noqa: D107 - no sqlite_utils set-up
        self.db = db
        self.name = name
        self.last_pk: Any = None
        self.last_rowid: Any = None

    def exists(self) -> bool:
        row = self.db.execute("SELECT to_regclass(?)", [self.name]).fetchone()
        return row is not None and row[0] is not None

    @property
    def pks(self) -> list[str]:
        rows = self.db.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST(? AS regclass) "
            "AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
            [self.name],
        ).fetchall()
        return [r[0] for r in rows]

    def create(  # type: ignore[override]
        self,
        columns: dict[str, Any],
        pk: str | Sequence[str] | None = None,
        not_null: Iterable[str] | None = None,
        foreign_keys: Iterable[tuple[str, str, str]] | None = None,
        if_not_exists: bool = False,
        **ignored: Any,
    ) -> PgTable:
        keys = [pk] if isinstance(pk, str) else list(pk or [])
        required = set(not_null or ())
        lines = []
        for name, kind in columns.items():
            if keys == [name] and kind is int:
                # SQLite's INTEGER PRIMARY KEY: numbered by the database when not given.
                lines.append(f"{_q(name)} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
                continue
            line = f"{_q(name)} {_TYPES.get(kind, 'TEXT')}"
            if name in required:
                line += " NOT NULL"
            if keys == [name]:
                line += " PRIMARY KEY"
            lines.append(line)
        if len(keys) > 1:
            lines.append(f"PRIMARY KEY ({', '.join(_q(k) for k in keys)})")
        for column, other, other_column in foreign_keys or ():
            lines.append(f"FOREIGN KEY ({_q(column)}) REFERENCES {_q(other)} ({_q(other_column)})")
        exists = "IF NOT EXISTS " if if_not_exists else ""
        self.db.execute(f"CREATE TABLE {exists}{_q(self.name)} ({', '.join(lines)})")
        return self

    def create_index(  # type: ignore[override]
        self,
        columns: Sequence[str],
        index_name: str | None = None,
        unique: bool = False,
        if_not_exists: bool = False,
        **ignored: Any,
    ) -> PgTable:
        name = index_name or f"idx_{self.name.replace(' ', '_')}_{'_'.join(columns)}"
        self.db.execute(
            f"CREATE {'UNIQUE ' if unique else ''}INDEX {'IF NOT EXISTS ' if if_not_exists else ''}"
            f"{_q(name)} ON {_q(self.name)} ({', '.join(_q(c) for c in columns)})"
        )
        return self

    def add_column(self, col_name: str, col_type: Any = None, **ignored: Any) -> PgTable:  # type: ignore[override]
        kind = _TYPES.get(col_type, "TEXT") if isinstance(col_type, type) else "TEXT"
        self.db.execute(f"ALTER TABLE {_q(self.name)} ADD COLUMN {_q(col_name)} {kind}")
        return self

    def drop(self, ignore: bool = False) -> None:
        self.db.execute(f"DROP TABLE {'IF EXISTS ' if ignore else ''}{_q(self.name)}")

    def insert(  # type: ignore[override]
        self, record: dict[str, Any], replace: bool = False, **ignored: Any
    ) -> PgTable:
        names = list(record)
        sql = (
            f"INSERT INTO {_q(self.name)} ({', '.join(_q(n) for n in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})"
        )
        keys = self.pks
        if replace and keys:
            sql += " " + on_conflict_update(POSTGRESQL, keys, [n for n in names if n not in keys])
        if keys:
            sql += f" RETURNING {', '.join(_q(k) for k in keys)}"
        row = self.db.execute(sql, [record[n] for n in names]).fetchone()
        self.last_pk = None if row is None else (row[0] if len(keys) == 1 else tuple(row))
        self.last_rowid = self.last_pk
        return self

    def insert_all(  # type: ignore[override]
        self, records: Iterable[dict[str, Any]], replace: bool = False, **ignored: Any
    ) -> PgTable:
        self._write_all(records, [], update=replace)
        return self

    def upsert_all(  # type: ignore[override]
        self, records: Iterable[dict[str, Any]], pk: str | Sequence[str], **ignored: Any
    ) -> PgTable:
        self._write_all(records, [pk] if isinstance(pk, str) else list(pk), update=True)
        return self

    def _write_all(self, records: Iterable[dict[str, Any]], keys: list[str], update: bool) -> None:
        """Rows grouped by the columns they name (a row leaves the columns it omits as they
        are, as sqlite_utils' upsert does), one executemany per group."""
        if update and not keys:
            keys = self.pks
        groups: dict[tuple[str, ...], list[list[Any]]] = {}
        for record in records:
            names = tuple(record)
            groups.setdefault(names, []).append([record[n] for n in names])
        for names, rows in groups.items():
            sql = (
                f"INSERT INTO {_q(self.name)} ({', '.join(_q(n) for n in names)}) "
                f"VALUES ({', '.join('?' for _ in names)})"
            )
            if update and keys:
                sql += " " + on_conflict_update(
                    POSTGRESQL, keys, [n for n in names if n not in keys]
                )
            self.db.conn.executemany(sql, rows)


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
