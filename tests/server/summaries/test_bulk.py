"""A rebuild writes each county's own rows and sums the keys above counties at the end
(server/summaries/bulk.py): pushes while it runs are kept, and a county's rows are found
through its index."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlite_utils import Database

from server.figures.counted import Scope
from server.store import dialect
from server.summaries import maintain, store
from server.summaries import read as summaries_read
from tests.server.fieldwork import Envoy, report_db


@pytest.fixture
def work(db_path: str) -> Iterator[dict[str, Any]]:
    for db in report_db(db_path):
        zhang = Envoy(db, "张三")
        session = zhang.session()
        for name in ("赵大", "钱二", "孙三"):
            zhang.checkin(session, zhang.farmer(name))
        yield {"db": db, "zhang": zhang, "session": session}


def test_pushes_while_a_rebuild_runs_are_kept(
    work: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check-in pushed after the rebuild emptied the summaries but before its county's turn
    (its deltas on rows the county's turn replaces), and one pushed after that turn but before
    the end (deltas on the county's new rows, the keys above not summed yet)."""
    db: Database = work["db"]
    zhang: Envoy = work["zhang"]
    real = maintain.write_transaction
    transactions: list[int] = []

    @contextlib.contextmanager
    def pushing_between(db_: Database) -> Iterator[Database]:
        transactions.append(1)
        if len(transactions) in (2, 3):  # before the county's turn; before the end
            zhang.checkin(work["session"], zhang.farmer(f"农户{len(transactions)}"))
        with real(db_) as inside:
            yield inside

    monkeypatch.setattr(maintain, "write_transaction", pushing_between)
    assert maintain.rebuild(db) == 1
    monkeypatch.undo()
    assert len(transactions) == 3
    assert maintain.usable(db) and maintain.check(db) is None
    for prefix in ("53", "5301", "530102"):
        found = summaries_read.compute(db, Scope(2026, prefix))
        assert found is not None
        assert found.total()["unique_trainees"] == 5
        assert found.total()["trainee_attendances"] == 5
    found = summaries_read.compute(db, Scope(2026, "", envoy_id=zhang.envoy_id))
    assert found is not None and found.total()["unique_trainees"] == 5


def test_rebuild_gives_the_rows_the_pushes_kept(work: dict[str, Any]) -> None:
    """Summed at the end (rebuild) or passed up a check-in at a time (pushes): the same rows,
    with rows above counties and first-month counters."""
    db: Database = work["db"]
    maintain.refresh(db)
    kept = store.snapshot(db)
    assert any(row[1] == "53" for row in kept["summary_item_months"])
    assert any(row[1] == "53" for row in kept["summary_firsts"])
    maintain.rebuild(db)
    assert store.snapshot(db) == kept


def plan_of(db: Database, sql: str, params: list[Any]) -> str:
    """How the database would run a query: SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN with
    sequential scans priced out, as on a province-sized table (a test's few rows are read
    faster whole, so its planner would rightly pick no index at all)."""
    if not dialect.is_postgresql(db):
        return str(db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
    db.execute("ANALYZE")  # statistics, as a live server's autovacuum keeps them
    db.execute("BEGIN")
    try:
        db.execute("SET LOCAL enable_seqscan = off")
        return str(db.execute(f"EXPLAIN {sql}", params).fetchall())
    finally:
        db.execute("ROLLBACK")


def test_a_countys_rows_are_found_through_its_index(work: dict[str, Any]) -> None:
    """The index holds only rows with a county; a condition that does not say so reads every
    county's rows of the year to find one county's on SQLite (what made a rebuild slow down as
    it went). PostgreSQL's planner proves the index's condition from the county's value itself,
    so there the condition that says so is the one that must use it."""
    db: Database = work["db"]
    maintain.refresh(db)
    assert store.own_keys(db, 2026, "530102")
    by_county = f"SELECT DISTINCT scope_key FROM summary_item_months WHERE {store.BY_COUNTY}"
    assert "idx_summary_item_months_county" in plan_of(db, by_county, ["530102", 2026])
    if dialect.is_postgresql(db):
        return
    whole = "SELECT DISTINCT scope_key FROM summary_item_months WHERE county = ? AND year = ?"
    assert "idx_summary_item_months_county" not in plan_of(db, whole, ["530102", 2026])  # the trap
