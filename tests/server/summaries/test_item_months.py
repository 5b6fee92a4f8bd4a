"""An item's reference counts are one row with its twelve months side by side (m020): a person
who comes in several months is one row per key, and rows kept before m020 move over as they
were (server/store/migrations/m020_item_months.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlite_utils import Database

from server.store.db import init_db
from server.store.migrations.m020_item_months import m020_item_months
from server.summaries import maintain, store
from server.sync import apply_push
from shared import protocol as p
from tests.helpers import results_of
from tests.server.fieldwork import Envoy, report_db


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


def _rows(db: Database, key: str) -> list[tuple[object, ...]]:
    return db.execute(
        f"SELECT item, {store.MONTH_COLUMNS} FROM summary_item_months "
        "WHERE year = 2026 AND scope_key = ? AND figure = 'trainees' ORDER BY item",
        [key],
    ).fetchall()


def test_a_person_in_two_months_is_one_row_per_key(db: Database) -> None:
    zhang = Envoy(db, "张三")
    may, june = zhang.session(), zhang.session(starts_at="2026-06-12T02:00:00Z")
    person = zhang.farmer("赵大")
    for session in (may, may, june):  # the second check-in at May's is the same pair
        zhang.checkin(session, person)
    maintain.refresh(db)
    for key in ("53", "5301", "530102"):
        (row,) = _rows(db, key)
        assert row[0] == person
        months = store.unpacked(list(row[1:]))
        assert months == {5: [1, 1], 6: [1, 1]}
    assert maintain.check(db) is None
    assert (
        zhang.db.execute(
            "SELECT count(*) FROM summary_firsts WHERE year = 2026 AND scope_key = '53'"
        ).fetchone()[0]
        == 1
    )  # first counted in May only


def test_rows_kept_before_move_over_as_they_were(db: Database) -> None:
    """m015's rows, a row per month, become one row per item with the same counts."""
    db.execute("DROP TABLE summary_item_months")
    db.execute(
        "CREATE TABLE summary_items (year INTEGER NOT NULL, scope_key TEXT NOT NULL, "
        "figure TEXT NOT NULL, item TEXT NOT NULL, month INTEGER NOT NULL, n INTEGER NOT NULL, "
        "k INTEGER NOT NULL, county TEXT NOT NULL, "
        "PRIMARY KEY (year, scope_key, figure, item, month))"
    )
    old = [
        (2026, "530102", "trainees", "a", 3, 2, 1, "530102"),
        (2026, "530102", "trainees", "a", 11, 1, 1, "530102"),
        (2026, "530102", "trainees", "b", 12, 4, 0, "530102"),
        (2026, "53", "trainees", "a", 3, 2, 1, ""),
        (2025, "530102", "technologies", "t1", 1, 1, 1, "530102"),
    ]
    db.conn.executemany("INSERT INTO summary_items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", old)
    m020_item_months(db)
    moved = db.execute(
        f"SELECT year, scope_key, figure, item, {store.MONTH_COLUMNS}, county "
        "FROM summary_item_months ORDER BY year, scope_key, figure, item"
    ).fetchall()
    assert [(*row[:4], store.unpacked(list(row[4:28])), row[28]) for row in moved] == [
        (2025, "530102", "technologies", "t1", {1: [1, 1]}, "530102"),
        (2026, "53", "trainees", "a", {3: [2, 1]}, ""),
        (2026, "530102", "trainees", "a", {3: [2, 1], 11: [1, 1]}, "530102"),
        (2026, "530102", "trainees", "b", {12: [4, 0]}, "530102"),
    ]
    assert store.own_keys(db, 2026, "530102") == ["530102"]
    with pytest.raises(Exception, match="summary_items"):
        db.execute("SELECT count(*) FROM summary_items").fetchall()


def test_a_push_through_two_villages_of_a_county_adds_up(db: Database) -> None:
    """One push with a person's check-ins at sessions of two villages of a township, held
    already at another township's session: the county's and township's rows take both
    villages' months (one dict per person is shared between its keys, and summed where two
    places meet) as presence, and the keys above count the one county holding each month, the
    same as a rebuild gives."""
    zhang = Envoy(db, "张三")
    east = zhang.session(unit_code="530102001001")
    west = zhang.session(unit_code="530102001002", starts_at="2026-07-03T02:00:00Z")
    other = zhang.session(unit_code="530102002001")
    held, new = zhang.farmer("赵大"), zhang.farmer("钱二")
    zhang.checkin(other, held)
    maintain.refresh(db)
    changes = []
    for session, person in ((east, held), (west, held), (east, new), (west, new)):
        zhang.seq += 1
        changes.append(
            {
                "q": zhang.seq,
                "k": p.ATTENDANCE,
                "h": zhang.stamp(),
                "f": {
                    "session_id": session,
                    "farmer_id": person,
                    "checked_in_at": "2026-05-10T02:15:00Z",
                    "method": "qr_self",
                },
            }
        )
    assert [r["s"] for r in results_of(apply_push(db, zhang.device, changes))] == [p.APPLIED] * 4
    for key, months in (
        ("530102", {5: [1, 1], 7: [1, 1]}),
        ("53", {5: [1, 1], 7: [1, 1]}),
        ("", {5: [1, 1], 7: [1, 1]}),
        ("530102001", {5: [1, 1], 7: [1, 1]}),
        ("530102002", {5: [1, 1]}),
        ("530102001001", {5: [1, 1]}),
        ("530102001002", {7: [1, 1]}),
    ):
        assert store.unpacked(list(_row(db, key, held))) == months, key
    assert store.unpacked(list(_row(db, "530102", new))) == {5: [1, 1], 7: [1, 1]}
    assert maintain.check(db) is None


def _row(db: Database, key: str, item: str) -> tuple[int, ...]:
    return tuple(
        db.execute(
            f"SELECT {store.MONTH_COLUMNS} FROM summary_item_months WHERE year = 2026 "
            "AND scope_key = ? AND figure = 'trainees' AND item = ?",
            [key, item],
        ).fetchone()
    )


def _held_rows(db: Database) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4").fetchall()
        for table in ("summary_item_months", "summary_firsts")
    }


def test_a_push_adding_in_place_keeps_the_rows_the_general_path_writes(
    new_db_path: Callable[[str], str],
) -> None:
    """add_grouped(increases=True) (a push: held items added to in place, their firsts read in
    SQL) leaves the same rows as the general path: firsts moving earlier, staying, new items,
    one side's first only (k) appearing."""
    held: store.Grouped = {
        ("530102", "trainees"): {"a": {5: [2, 2]}, "b": {7: [1, 0]}, "c": {3: [1, 1]}},
        ("53", "trainees"): {"a": {5: [2, 2]}},
    }
    change: store.Grouped = {
        ("530102", "trainees"): {
            "a": {2: [1, 1], 9: [3, 2]},  # both firsts move to February
            "b": {8: [2, 2]},  # n stays in July, k appears in August
            "c": {3: [1, 0], 4: [0, 0]},  # nothing moves
            "d": {6: [1, 1]},  # new to the key
        },
        ("53", "trainees"): {"a": {2: [1, 1]}, "d": {6: [1, 0]}},
    }
    found = []
    for increases in (False, True):
        db = init_db(new_db_path(f"increases-{increases}"))
        store.add_grouped(db, 2026, held)
        store.add_grouped(db, 2026, change, increases=increases)
        found.append(_held_rows(db))
        db.close()
    assert found[0] == found[1]
    assert found[1]["summary_firsts"]  # something to compare
    firsts = {row[1:4]: row[4:] for row in found[1]["summary_firsts"]}
    assert firsts[("530102", "trainees", 2)] == (1, 1)  # a moved to February
    assert ("530102", "trainees", 5) not in firsts


def test_adding_in_place_takes_a_kept_county_without_a_new_one(db: Database) -> None:
    """Above counties a month may gain a county whose source is not under question without
    gaining a county (n 0, k 1: the county held the month, only under question)."""
    store.add_grouped(db, 2026, {("53", "trainees"): {"a": {5: [1, 0]}}})
    store.add_grouped(db, 2026, {("53", "trainees"): {"a": {5: [0, 1]}}}, increases=True)
    assert store.unpacked(list(_row(db, "53", "a"))) == {5: [1, 1]}
    firsts = db.execute("SELECT month, n, k FROM summary_firsts WHERE scope_key = '53'").fetchall()
    assert [tuple(row) for row in firsts] == [(5, 1, 1)]


@pytest.mark.parametrize("bad", [[-1, 0], [0, -1]])
def test_adding_in_place_refuses_a_change_that_is_not_an_increase(
    db: Database, bad: list[int]
) -> None:
    store.add_grouped(db, 2026, {("530102", "trainees"): {"a": {5: [2, 2]}}})
    with pytest.raises(ValueError, match="not an increase"):
        store.add_grouped(db, 2026, {("530102", "trainees"): {"a": {5: bad}}}, increases=True)
