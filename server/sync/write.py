"""Writing a push's changed records, quick check-ins and conflicts to their tables."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from server.store import dialect
from server.store.db import next_server_seq
from server.store.records import row_values, table_of, write_plan
from server.summaries import keep as summaries_kept
from server.sync.batch import QUICK_ROW_COLUMNS, Batch
from server.sync.errors import CheckinsCollided
from shared import protocol as p


def write_dirty(batch: Batch) -> None:
    total = sum(len(ids) for ids in batch.dirty.values()) + len(batch.quick_rows)
    if not total:
        return
    with summaries_kept.writing(batch.db):
        # Before the rows are written: the summaries read the records as they were.
        summaries_kept.after_push(batch)
        _write(batch, total)


def _write(batch: Batch, total: int) -> None:
    seq = next_server_seq(batch.db, total)
    for kind, ids in batch.dirty.items():
        plan = write_plan(kind)
        rows: list[Sequence[Any]] = []
        for record_id, origin in ids.items():
            state = batch.states[kind][record_id]
            internal = {
                "township_code": batch.township_of(kind, state),
                "origin_device": origin,
                "server_seq": seq,
            }
            seq += 1
            rows.append(row_values(plan, state, internal))
        _insert_rows(batch.db, kind, rows)
    # After the records they refer to, so a device pulling in order meets a session first.
    if batch.quick_rows:
        shared = batch.shared_checkin_values()
        rows = [row + shared + (n,) for n, row in enumerate(batch.quick_rows.values(), seq)]
        # Taken for new, so an insert that skips a row whose id is already there, and a count
        # of the rows stored tells whether that happened.
        stored = _insert_rows(batch.db, p.ATTENDANCE, rows, "INSERT OR IGNORE", QUICK_ROW_COLUMNS)
        if stored != len(rows):
            raise CheckinsCollided()
        batch.quick_rows.clear()
    if batch.conflicts:
        batch.db.table("conflicts").insert_all(batch.conflicts)
    batch.dirty.clear()


def _insert_rows(
    db: Database,
    kind: str,
    rows: Sequence[Sequence[Any]],
    verb: str = "INSERT OR REPLACE",
    columns: tuple[str, ...] | None = None,
) -> int:
    """Write rows of a table's columns (or of `columns`); return how many were stored."""
    columns = columns or write_plan(kind).columns
    return int(db.conn.executemany(_insert_sql(db, kind, verb, columns), rows).rowcount)


@functools.cache
def _pg_insert_sql(kind: str, verb: str, columns: tuple[str, ...]) -> str:
    """PostgreSQL's form: a record replaces the row with its id (the one unique key a new
    server_seq can collide on), or is skipped when one is there (`INSERT OR IGNORE`)."""
    table = f'"{table_of(kind)}"'
    if verb == "INSERT OR REPLACE":
        return dialect.insert_or_replace(dialect.POSTGRESQL, table, columns, ["id"])
    return dialect.insert_or_ignore(dialect.POSTGRESQL, table, columns)


def _insert_sql(db: Database, kind: str, verb: str, columns: tuple[str, ...]) -> str:
    if dialect.is_postgresql(db):
        return _pg_insert_sql(kind, verb, columns)
    marks = ",".join("?" * len(columns))
    names = ",".join(f"[{c}]" for c in columns)
    return f"{verb} INTO [{table_of(kind)}] ({names}) VALUES ({marks})"
