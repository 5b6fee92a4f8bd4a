"""The dialect functions the figures and quality checks added (unindexed, json_length,
epoch_seconds, join_in_order, truncated) give SQLite's answers on the engine this run uses
(TIANJIAN_TEST_DB=postgresql for PostgreSQL): each text is run against the real database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlite_utils import Database

from server.store import dialect
from server.store.db import init_db


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    db = init_db(db_path)
    yield db
    db.close()


def one(db: Database, sql: str, params: Any = ()) -> Any:
    return db.execute(sql, params).fetchone()[0]


def test_an_unindexed_column_still_compares_as_itself(db: Database) -> None:
    e = dialect.engine_of(db)
    db.execute("INSERT INTO units (code, name, level) VALUES ('530102001000', '东乡', 'township')")
    where = f"{dialect.unindexed(e, 'code')} >= ? AND {dialect.unindexed(e, 'code')} < ?"
    assert one(db, f"SELECT count(*) FROM units WHERE {where}", ["530102", "530103"]) == 1


def test_json_length_counts_elements_and_keeps_null(db: Database) -> None:
    e = dialect.engine_of(db)
    assert one(db, f"SELECT {dialect.json_length(e, '?')}", [json.dumps(["a", "b", "c"])]) == 3
    assert one(db, f"SELECT {dialect.json_length(e, '?')}", ["[]"]) == 0
    assert one(db, f"SELECT {dialect.json_length(e, 'CAST(? AS TEXT)')}", [None]) is None


def test_epoch_seconds_are_whole_seconds_since_1970(db: Database) -> None:
    e = dialect.engine_of(db)
    assert one(db, f"SELECT {dialect.epoch_seconds(e, '?')}", ["1970-01-02T00:00:01Z"]) == 86401
    # Fractions of a second are cut off, as SQLite's unixepoch does.
    at = "2026-05-10T02:15:00.900Z"
    assert one(db, f"SELECT {dialect.epoch_seconds(e, '?')}", [at]) == 1778379300


def test_truncated_cuts_toward_zero(db: Database) -> None:
    e = dialect.engine_of(db)
    assert one(db, f"SELECT {dialect.truncated(e, '?')}", [30.9]) == 30
    assert one(db, f"SELECT {dialect.truncated(e, '?')}", [-1.5]) == -1
    # 29 days and 23 hours silent is 29 days, not 30.
    days = dialect.days_between(e, "?", "?")
    later, earlier = "2026-03-01T23:00:00Z", "2026-01-31T00:00:00Z"
    assert one(db, f"SELECT {dialect.truncated(e, days)}", [later, earlier]) == 29


def test_join_in_order_takes_an_on_clause(db: Database) -> None:
    e = dialect.engine_of(db)
    db.execute("INSERT INTO units (code, name, level) VALUES ('530102001000', '东乡', 'township')")
    db.execute(
        "INSERT INTO units (code, name, level, parent_code) "
        "VALUES ('530102001001', '东村', 'village', '530102001000')"
    )
    sql = (
        f"SELECT v.name, t.name FROM units v {dialect.join_in_order(e)} units t "
        "ON t.code = v.parent_code"
    )
    assert db.execute(sql).fetchall() == [("东村", "东乡")]
