"""A county's own keys hold presence and the keys above count counties
(server/summaries/presence.py): a check-in whose person is present in its month writes no item
row, the keys above count each county once, a kept source after a questioned one gains k alone,
and m029 turns rows kept as source counts into the same rows the push path keeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from server.quality import reviews
from server.store.migrations.m029_present_items import m029_present_items
from server.summaries import maintain, presence, store
from shared import protocol as p
from shared import review_status as rs
from tests.server.fieldwork import Envoy, report_db
from tests.server.summaries.test_nation import EAST, FAR, two_provinces

WEST = "530102001002"


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


@pytest.fixture
def nation(tmp_path: Path, db_path: str) -> Iterator[Database]:
    database = two_provinces(tmp_path, db_path)
    yield database
    database.close()


def _items(db: Database) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in db.execute(
            f"SELECT scope_key, item, {store.MONTH_COLUMNS} FROM summary_item_months "
            "ORDER BY scope_key, item"
        )
    ]


def _months(db: Database, key: str, item: str) -> dict[int, list[int]]:
    row = db.execute(
        f"SELECT {store.MONTH_COLUMNS} FROM summary_item_months WHERE year = 2026 "
        "AND scope_key = ? AND figure = 'trainees' AND item = ?",
        [key, item],
    ).fetchone()
    return store.unpacked(list(row)) if row else {}


def _person_times(db: Database) -> float:
    return db.execute(
        "SELECT sum(value) FROM summary_rollup WHERE scope_key = '' AND figure = 'person_times'"
    ).fetchone()[0]


def test_a_person_present_in_the_month_changes_no_item_row(db: Database) -> None:
    zhang = Envoy(db, "张三")
    first, second = zhang.session(), zhang.session(unit_code=WEST)
    person = zhang.farmer("赵大")
    zhang.checkin(first, person)
    before = (_items(db), db.execute("SELECT * FROM summary_firsts ORDER BY 1, 2, 3, 4").fetchall())
    zhang.checkin(second, person)  # the same month, the same township: only West's village is new
    after = _items(db)
    assert [row for row in after if row not in before[0]] == [
        (WEST, person, *store.packed({5: [1, 1]}))
    ]
    firsts = db.execute("SELECT * FROM summary_firsts ORDER BY 1, 2, 3, 4").fetchall()
    assert [row for row in firsts if row not in before[1]] == [(2026, WEST, "trainees", 5, 1, 1)]
    assert len(firsts) == len(before[1]) + 1
    assert _person_times(db) == 2
    for key in ("", "53", "530102", "530102001", f"@{zhang.envoy_id}"):
        assert _months(db, key, person) == {5: [1, 1]}, key
    assert maintain.check(db) is None


def test_keys_above_count_the_counties_holding_the_month(nation: Database) -> None:
    zhang = Envoy(nation, "张三")
    near, far = zhang.session(unit_code=EAST), zhang.session(unit_code=FAR)
    zhao = zhang.farmer("赵大", village_code=EAST)
    for session in (near, far, near):
        zhang.checkin(session, zhao)
    assert _months(nation, "", zhao) == {5: [2, 2]}
    assert _months(nation, f"@{zhang.envoy_id}", zhao) == {5: [2, 2]}
    for key in ("53", "54", "530102", "540102", f"@{zhang.envoy_id}/540102"):
        assert _months(nation, key, zhao) == {5: [1, 1]}, key
    assert maintain.check(nation) is None


def test_a_kept_source_after_a_questioned_one_gains_k_alone(db: Database) -> None:
    zhang = Envoy(db, "张三")
    first, second = zhang.session(), zhang.session(unit_code=WEST)
    person = zhang.farmer("赵大")
    zhang.checkin(first, person)
    (checkin,) = db.execute(
        f"SELECT id FROM [{p.TABLES[p.ATTENDANCE]}] WHERE session_id = ?", [first]
    ).fetchone()
    reviews.set_review(db, "staff-cli", p.ATTENDANCE, checkin, rs.QUESTIONED, "核实")
    maintain.refresh(db)
    assert _months(db, "53", person) == {5: [1, 0]}
    zhang.checkin(second, person)
    for key in ("", "53", "530102", "530102001", WEST):
        assert _months(db, key, person) == {5: [1, 1]}, key
    assert _months(db, EAST, person) == {5: [1, 0]}
    assert maintain.check(db) is None


@pytest.mark.parametrize("bad", [{5: [-1, 0]}, {5: [1, -1]}, {5: [1, 2]}, {13: [1, 1]}])
def test_a_push_adds_only_increases(db: Database, bad: dict[int, list[int]]) -> None:
    with pytest.raises(ValueError):
        presence.add_present(db, 2026, {("530102", "trainees"): {"a": bad}})


def test_m029_makes_source_counts_presence_and_counts_counties(nation: Database) -> None:
    """Rows kept as counts of sources (own keys) and sums of them (keys above) become the rows
    the push path keeps now; the first months stay."""
    zhang = Envoy(nation, "张三")
    near, later, far = (
        zhang.session(unit_code=EAST),
        zhang.session(unit_code=EAST, starts_at="2026-05-20T02:00:00Z"),
        zhang.session(unit_code=FAR, starts_at="2026-07-01T02:00:00Z"),
    )
    zhao, qian = zhang.farmer("赵大", village_code=EAST), zhang.farmer("钱二", village_code=FAR)
    for session, person in ((near, zhao), (later, zhao), (far, zhao), (far, qian)):
        zhang.checkin(session, person)
    nation.conn.commit()
    kept = store.snapshot(nation)
    # As kept before m029: own keys counted sources (say three each), the keys above their sums.
    triple = ", ".join(f"{name} = {name} * 3" for name in store.MONTH_COLUMNS.split(", "))
    nation.execute(f"UPDATE summary_item_months SET {triple} WHERE county != ''")
    nation.execute(
        f"UPDATE summary_item_months SET {triple.replace('* 3', '* 5')} WHERE county = ''"
    )
    assert store.snapshot(nation) != kept
    m029_present_items(nation)
    assert store.snapshot(nation) == kept
    assert maintain.check(nation) is None
