"""dialect.py's SQL gives the same answers on the engine this run uses (SQLite, or PostgreSQL
with TIANJIAN_TEST_DB=postgresql): each function's text is run against the real database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlite_utils import Database

from server.store import dialect
from server.store.db import init_db, write_transaction


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    db = init_db(db_path)
    yield db
    db.close()


def one(db: Database, sql: str, params: Any = ()) -> Any:
    return db.execute(sql, params).fetchone()[0]


def test_china_time_of_a_utc_timestamp(db: Database) -> None:
    e = dialect.engine_of(db)
    # 16:30 UTC on New Year's Eve is 00:30 on 1 January in China.
    at = "2025-12-31T16:30:00.000Z"
    assert one(db, f"SELECT {dialect.china_month(e, '?')}", [at]) == 1
    assert one(db, f"SELECT {dialect.china_year(e, '?')}", [at]) == 2026
    assert one(db, f"SELECT {dialect.china_date(e, '?')}", [at]) == "2026-01-01"
    assert one(db, f"SELECT {dialect.date_month(e, '?')}", ["2026-03-09"]) == 3


def test_days_between_two_times(db: Database) -> None:
    e = dialect.engine_of(db)
    days = one(
        db,
        f"SELECT {dialect.days_between(e, '?', '?')}",
        ["2026-01-03T12:00:00Z", "2026-01-01T00:00:00Z"],
    )
    assert float(days) == pytest.approx(2.5)


def test_json_arrays_unnest(db: Database) -> None:
    e = dialect.engine_of(db)
    rows = db.execute(
        f"SELECT t.value FROM {dialect.json_each(e, '?', 't')} ORDER BY t.value",
        [json.dumps(["b", "a"])],
    ).fetchall()
    assert [r[0] for r in rows] == ["a", "b"]
    pairs = db.execute(
        f"SELECT {dialect.json_item(e, 'k.value', 1)} FROM {dialect.json_items(e, '?', 'k')}",
        [json.dumps([["x", "y"], ["z", "w"]])],
    ).fetchall()
    assert sorted(r[0] for r in pairs) == ["w", "y"]


def test_insert_or_ignore_and_replace(db: Database) -> None:
    e = dialect.engine_of(db)
    db.execute("CREATE TABLE dialect_t (k TEXT PRIMARY KEY, v TEXT, w TEXT)")
    with write_transaction(db):
        db.execute(dialect.insert_or_ignore(e, "dialect_t", ["k", "v"]), ["a", "1"])
        db.execute(dialect.insert_or_ignore(e, "dialect_t", ["k", "v"]), ["a", "2"])
    assert db.execute("SELECT v FROM dialect_t").fetchall() == [("1",)]
    with write_transaction(db):
        db.execute(
            dialect.insert_or_replace(e, "dialect_t", ["k", "v", "w"], ["k"]), ["a", "3", "x"]
        )
    assert [tuple(r) for r in db.execute("SELECT k, v, w FROM dialect_t").fetchall()] == [
        ("a", "3", "x")
    ]


def test_aggregates_and_scalars(db: Database) -> None:
    e = dialect.engine_of(db)
    db.execute("CREATE TABLE dialect_n (n INTEGER, s TEXT)")
    db.conn.executemany("INSERT INTO dialect_n VALUES (?, ?)", [(1, "a"), (2, "b"), (3, "c")])
    assert one(db, f"SELECT {dialect.count_where(e, 'n >= 2')} FROM dialect_n") == 2
    joined = one(
        db,
        f"SELECT {dialect.group_concat(e, 's', '；')} FROM (SELECT s FROM dialect_n ORDER BY s) x",
    )
    assert sorted(str(joined).split("；")) == ["a", "b", "c"]
    assert one(db, f"SELECT {dialect.greatest(e, '1', '5', '3')}") == 5
    assert one(db, f"SELECT {dialect.least(e, '4', '2')}") == 2
    assert one(db, f"SELECT {dialect.byte_length(e, '?')}", ["田间"]) == 6
    assert one(db, "SELECT sum(n) FROM dialect_n") == 6  # an int, as SQLite gives, not a Decimal
    assert isinstance(one(db, "SELECT sum(n) FROM dialect_n"), int)


def test_held_changes_are_numbered_on_both(db: Database) -> None:
    e = dialect.engine_of(db)
    with write_transaction(db):
        for seq in (1, 2):
            db.execute(
                "INSERT INTO held_changes (device_id, seq, envoy_id, change, waiting_kind, "
                "waiting_id, held_at) VALUES ('d', ?, 'e', '{}', 'session', 's', 'now')",
                [seq],
            )
    numbers = [
        r[0]
        for r in db.execute(f"SELECT {dialect.rowid(e)} FROM held_changes ORDER BY seq").fetchall()
    ]
    assert len(set(numbers)) == 2 and all(isinstance(n, int) for n in numbers)
