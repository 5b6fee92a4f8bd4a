"""The server's database on PostgreSQL: writers serialised across connections (commit order of
server_seq), a lost connection replaced, the sqlite_utils surface the code uses."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from server import create_app
from server.store.db import get_db, init_db, next_server_seq, write_transaction
from tests.pg import Cluster


@pytest.fixture
def pg_url(postgresql: Cluster) -> Iterator[str]:
    url = postgresql.database()
    yield url
    postgresql.drop(url)


def test_a_second_writer_waits_for_the_first_to_commit(pg_url: str) -> None:
    """Numbers are handed out in commit order: the writer that reserved lower numbers commits
    before another can reserve any (docs/sync.md, "Commit order"), across connections as across
    processes, since the lock is the database's."""
    first, second = init_db(pg_url), init_db(pg_url)
    committed: list[str] = []
    reserved: dict[str, int] = {}
    holding = threading.Event()

    def slow_writer() -> None:
        with write_transaction(first):
            reserved["first"] = next_server_seq(first, 5)
            holding.set()
            time.sleep(0.5)
            committed.append("first")

    thread = threading.Thread(target=slow_writer)
    thread.start()
    holding.wait(5)
    started = time.monotonic()
    with write_transaction(second):
        waited = time.monotonic() - started
        reserved["second"] = next_server_seq(second)
        committed.append("second")
    thread.join()
    assert committed == ["first", "second"]
    assert waited > 0.3  # it waited on the lock, not on anything else
    assert reserved == {"first": 1, "second": 6}
    # A reader is never held up by a writer.
    with write_transaction(first):
        row = second.execute("SELECT value FROM server_state WHERE key = 'seq'").fetchone()
        assert row[0] == "6"
    first.close()
    second.close()


def test_a_write_that_fails_leaves_nothing_and_the_lock_free(pg_url: str) -> None:
    db, other = init_db(pg_url), init_db(pg_url)
    with pytest.raises(psycopg.errors.UndefinedTable), write_transaction(db):
        next_server_seq(db)
        db.execute("INSERT INTO no_such_table VALUES (1)")
    assert not db.conn.in_transaction
    with write_transaction(other):
        assert next_server_seq(other) == 1
    db.close()
    other.close()


def test_a_connection_the_server_dropped_is_replaced(pg_url: str, postgresql: Cluster) -> None:
    app: Flask = create_app({"DATABASE": pg_url, "TESTING": True})
    with app.app_context():
        pid = get_db().execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(postgresql.url("postgres"), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    with app.app_context(), pytest.raises(psycopg.OperationalError):
        get_db().execute("SELECT 1")  # this thread's connection finds out it is gone
    with app.app_context():
        assert get_db().execute("SELECT 1").fetchone()[0] == 1


def test_the_table_helpers_the_code_uses(pg_url: str) -> None:
    db = init_db(pg_url)
    with write_transaction(db):
        first = db.table("conflicts").insert({"kind": "farmer", "record_id": "a"}).last_pk
        db.table("conflicts").insert_all([{"kind": "farmer", "record_id": "b"}])
    assert isinstance(first, int)
    assert [r["record_id"] for r in db.query("SELECT record_id FROM conflicts ORDER BY id")] == [
        "a",
        "b",
    ]
    db.table("units").upsert_all(
        [{"code": "530102000000", "name": "五华区", "level": "county"}], pk="code"
    )
    db.table("units").upsert_all([{"code": "530102000000", "name": "五华"}], pk="code")
    assert list(db.query("SELECT name, level FROM units WHERE code = '530102000000'")) == [
        {"name": "五华", "level": "county"}
    ]
    db.close()


def test_postgresql_builds_the_tables_and_indexes_sqlite_builds(
    pg_url: str, tmp_path: Path
) -> None:
    """Every migration, run on each engine, gives the same tables with the same columns in the
    same order and the same named indexes (INDEXED BY names them on SQLite)."""
    sqlite = init_db(str(tmp_path / "server.db"))
    pg = init_db(pg_url)
    try:
        on_sqlite = {
            table: [r[1] for r in sqlite.execute(f"PRAGMA table_info([{table}])").fetchall()]
            for table in sqlite.table_names()
        }
        on_pg = {
            table: [
                r[0]
                for r in pg.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    "current_schema() AND table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
            ]
            for table in pg.table_names()
        }
        # PostgreSQL's one addition: held changes get the number SQLite gives every row.
        assert on_pg.pop("held_changes") == [*on_sqlite.pop("held_changes"), "rowid"]
        assert on_pg == on_sqlite
        sqlite_indexes = {
            r[0]
            for r in sqlite.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            ).fetchall()
        }
        pg_indexes = {
            r[0]
            for r in pg.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname NOT LIKE '%_pkey'"
            ).fetchall()
        }
        assert pg_indexes == sqlite_indexes
    finally:
        sqlite.close()
        pg.close()


def test_an_unreachable_postgresql_is_one_line_without_its_password(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from server.cli import cli

    url = f"postgresql://tianjian:s3cret@/province?host={tmp_path}"
    result = CliRunner().invoke(cli, ["--db", url, "devices", "list"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "无法打开数据库" in lines[0] and "cannot open database" in lines[0]
    assert "s3cret" not in result.output and "***" in result.output
