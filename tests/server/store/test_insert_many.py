"""Multi-row inserts (server.store.db.insert_many) store every row, across statements."""

from __future__ import annotations

from pathlib import Path

from server.store.db import init_db
from server.store.sql_text import ROWS_PER_INSERT, insert_many


def test_every_row_stored_across_statements_and_conflicts_resolved_by_the_tail(
    tmp_path: Path,
) -> None:
    db = init_db(str(tmp_path / "server.db"))
    db.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL)")
    db.execute("INSERT INTO t VALUES (5, 'old')")
    count = 2 * ROWS_PER_INSERT + 7  # two full statements and a short one
    rows = [(n, f"行{n}") for n in range(count)]
    insert_many(db, "INSERT INTO t", rows, "ON CONFLICT (a) DO UPDATE SET b = excluded.b")
    assert db.execute("SELECT a, b FROM t ORDER BY a").fetchall() == rows
    insert_many(db, "INSERT INTO t", [])
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == count
