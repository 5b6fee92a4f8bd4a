"""What staff look at (conflicts, candidate pairs) and the CSV exports, on rows
written straight into a real database file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from sqlite_utils import Database

from server.farmers.candidates import candidate_pairs
from server.files import exports
from server.store.db import init_db
from server.sync.conflicts import count_conflicts, latest_conflicts
from server.sync.devices import envoy_by_name
from shared.ids import new_id
from tests.helpers import VILLAGE_EAST, VILLAGE_WEST, load_demo_reference


@pytest.fixture
def db(tmp_path: object) -> Iterator[Database]:
    path = f"{tmp_path}/server.db"
    init_db(path).close()
    load_demo_reference(path)
    database = init_db(path)
    yield database
    database.close()


def add_farmer(db: Database, envoy: str, name: str, mobile: str | None, village: str) -> str:
    farmer_id = new_id()
    seq = db.execute("SELECT coalesce(max(server_seq), 0) + 1 FROM farmers").fetchone()[0]
    db["farmers"].insert(
        {
            "id": farmer_id,
            "name": name,
            "mobile": mobile,
            "village_code": village,
            "birth_year": 1970,
            "envoy_id": envoy_by_name(db, envoy)["id"],
            "hlc": "0000000000001.00000",
            "created_at": "2026-05-01T00:00:00Z",
            "deleted": 0,
            "server_seq": seq,
        }
    )
    return farmer_id


def test_candidate_pairs_name_village_and_who_registered_each_with_mobiles_masked(
    db: Database,
) -> None:
    first = add_farmer(db, "张三", "孙梅", "13612345678", VILLAGE_EAST)
    second = add_farmer(db, "李梅", "孙玫", "13612345678", VILLAGE_WEST)
    db["merge_candidates"].insert(
        {"farmer_a": first, "farmer_b": second, "reason": "same_mobile", "found_at": "x"}
    )
    [pair] = candidate_pairs(db)
    assert (pair["farmer_a"], pair["farmer_b"], pair["reason"]) == (first, second, "same_mobile")
    assert (pair["name_a"], pair["envoy_a"], pair["village_name_a"]) == ("孙梅", "张三", "东村")
    assert (pair["name_b"], pair["envoy_b"], pair["birth_year_b"]) == ("孙玫", "李梅", 1970)
    assert pair["mobile_a"] == pair["mobile_b"] == "136****5678"
    assert candidate_pairs(db, show_mobiles=True)[0]["mobile_a"] == "13612345678"
    db.execute("UPDATE merge_candidates SET resolved_at = 'x'")
    assert candidate_pairs(db) == []


def test_latest_conflicts_newest_first_and_paged(db: Database) -> None:
    for number in range(1, 4):
        db["conflicts"].insert(
            {"kind": "farmer", "record_id": "r", "field": "name", "winning_value": f'"{number}"'}
        )
    assert [r["winning_value"] for r in latest_conflicts(db)] == ['"3"', '"2"', '"1"']
    assert [r["id"] for r in latest_conflicts(db, limit=1, offset=1)] == [2]
    assert count_conflicts(db) == 3


def test_csv_text_has_a_bom_chosen_headers_and_words_for_booleans() -> None:
    text = exports.csv_text(
        ["code", "name", "met", "note"],
        [{"code": "0530102", "name": "示范县", "met": True}, {"code": "2", "met": False}],
        headers=["代码", "名称", "达标", "备注"],
        first_line="示范县 2026 年 · 截至 2026年11月26日",
        booleans=("是", "否"),
    )
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [
        ["示范县 2026 年 · 截至 2026年11月26日"],
        ["代码", "名称", "达标", "备注"],
        ["0530102", "示范县", "是", ""],
        ["2", "", "否", ""],
    ]
    with pytest.raises(ValueError):
        exports.csv_text(["a", "b"], [], headers=["甲"])
