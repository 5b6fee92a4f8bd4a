"""Copy a county's SQLite database into an empty PostgreSQL one: every row of every table.

`tianjian-server --db county.db copy --to postgresql://…` (server/cli_store.py). The target is
migrated first, must hold no records, and is filled in one transaction: records with their
server_seq, device tokens (hashed, as stored), idempotency runs, held changes with their numbers,
the server state (sequence, purge cursor, mobile key, upstream cursor) and the summaries as they
are, so devices carry on from their cursors against the new server as if nothing had moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import sqlite_utils

from server.store import dialect
from server.store.db import init_db, write_transaction
from server.store.dialect import is_url
from shared.errors import TianjianError

if TYPE_CHECKING:
    # Only for the type: the CLI imports this module, and on SQLite loads no PostgreSQL driver.
    from server.store.database import PgDatabase

# Rows a fresh migrated database already has, replaced by the source's.
_SEEDED = ("server_state",)
# Bookkeeping each side keeps for itself.
_SKIPPED = ("_sqlite_migrations", "summary_writer")
_BATCH = 2_000


class TargetNotEmpty(TianjianError):
    status = 409

    def __init__(self, table: str) -> None:
        super().__init__(
            f"目标数据库已有数据（{table}），只能复制到空库 / the target database already holds "
            f"records ({table}): copy only into an empty one"
        )


class NotPostgreSQL(TianjianError):
    status = 400
    message = (
        "--to 须为 postgresql:// 地址，源须为 SQLite 文件 / --to must be a postgresql:// URL "
        "and --db a SQLite file"
    )


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def copy_database(source: sqlite_utils.Database, target_url: str) -> list[Copied]:
    """Copy every table of the open SQLite database `source` into the PostgreSQL database at
    `target_url`; the rows copied per table. Nothing is written if anything fails."""
    if dialect.is_postgresql(source) or not is_url(target_url):
        raise NotPostgreSQL()
    target = init_db(target_url)
    try:
        tables = _in_reference_order(target, _tables(source))
        copied = []
        with write_transaction(target):
            # Copying is not a write the summaries miss: they come across as they are.
            target.execute("INSERT INTO summary_writer (id) VALUES (1)")
            for table in tables:
                copied.append(Copied(table, _copy_table(source, target, table)))
            target.execute("DELETE FROM summary_writer")
        return copied
    finally:
        target.close()


def _tables(db: sqlite_utils.Database) -> list[str]:
    return [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        ).fetchall()
        if row[0] not in _SKIPPED
    ]


def _in_reference_order(target: sqlite_utils.Database, tables: list[str]) -> list[str]:
    """Tables ordered so a table another refers to (a foreign key) comes before it."""
    refers: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in target.execute(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
        "WHERE contype = 'f'"
    ).fetchall():
        child, parent = child.strip('"'), parent.strip('"')
        if child in refers and parent in refers and parent != child:
            refers[child].add(parent)
    ordered: list[str] = []
    while refers:
        ready = sorted(t for t, parents in refers.items() if not parents - set(ordered))
        ordered.extend(ready)
        for t in ready:
            del refers[t]
    return ordered


def _columns(target: sqlite_utils.Database, table: str) -> list[str]:
    return [
        row[0]
        for row in target.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]


def _copy_table(source: sqlite_utils.Database, target: sqlite_utils.Database, table: str) -> int:
    wanted = _columns(target, table)
    if not wanted:
        return 0
    present = set(wanted)
    if table in _SEEDED:
        target.execute(f'DELETE FROM "{table}"')
    elif target.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():
        raise TargetNotEmpty(table)
    # SQLite's rowid is a real column on PostgreSQL where the code names rows by it.
    source_columns = [c for c in wanted if c != "rowid"]
    have = {row[1] for row in source.execute(f"PRAGMA table_info([{table}])").fetchall()}
    source_columns = [c for c in source_columns if c in have]
    selected = ", ".join(f"[{c}]" for c in source_columns)
    names = list(source_columns)
    if "rowid" in present:
        selected = f"rowid, {selected}"
        names = ["rowid", *names]
    # COPY, not INSERT: a province's millions of rows go in ten times faster. It writes the
    # identity columns as given (as OVERRIDING SYSTEM VALUE would) and fires the same triggers;
    # its text form reads SQLite's 0/1 as booleans, as INSERT's parameters did.
    columns = ", ".join(dialect.quote(dialect.POSTGRESQL, n) for n in names)
    cursor = source.execute(f"SELECT {selected} FROM [{table}]")
    count = 0
    driver = cast("PgDatabase", target).pg.driver
    with driver.cursor().copy(f'COPY "{table}" ({columns}) FROM STDIN') as copying:
        while rows := cursor.fetchmany(_BATCH):
            for row in rows:
                copying.write_row(row)
            count += len(rows)
    _advance_identities(target, table, names)
    return count


def _advance_identities(target: sqlite_utils.Database, table: str, names: list[str]) -> None:
    """Identity columns continue after the highest number copied, as SQLite's rowids would."""
    for column in names:
        sequence = target.execute(
            "SELECT pg_get_serial_sequence(?, ?)", [f'"{table}"', column]
        ).fetchone()[0]
        if sequence:
            target.execute(
                f'SELECT setval(?, (SELECT coalesce(max("{column}"), 0) + 1 FROM "{table}"), false)',
                [sequence],
            )
