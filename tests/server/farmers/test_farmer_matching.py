"""Which of two records of one farmer is canonical, and which pairs staff are offered, follow
from when the records were made: never from the order they arrived in or from their ids."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path
from typing import Any

from server import create_app
from server.store.db import init_db
from shared import protocol as p
from shared.clock import wall_ms
from tests.helpers import VILLAGE_EAST, load_demo_reference
from tests.server.test_api import Device

# Ids in the opposite order to the records' making, so an order by id cannot pass for one by time.
IDS = {
    "zhang_first": "ffffffff-0000-4000-8000-000000000001",
    "zhang_again": "eeeeeeee-0000-4000-8000-000000000002",
    "li_same_phone": "dddddddd-0000-4000-8000-000000000003",
    "zhang_third": "cccccccc-0000-4000-8000-000000000004",
}
PHONE = "13912345678"


def farmer(name: str, made_ms: int, counter: int, key: str) -> dict[str, Any]:
    fields = {"name": name, "village_code": VILLAGE_EAST, "mobile": PHONE, "birth_year": 1965}
    return {"k": p.FARMER, "i": IDS[key], "h": f"{made_ms:013d}.{counter:05d}", "f": fields}


def outcome(tmp_path: Path, pushes: list[list[dict[str, Any]]]) -> tuple[set, set]:
    """Aliases and candidate pairs after the pushes, on a fresh server."""
    tmp_path.mkdir()
    db_path = str(tmp_path / "server.db")
    app = create_app({"DATABASE": db_path, "TESTING": True})
    load_demo_reference(db_path)
    device = Device(app.test_client(), db_path, "张三")
    for push in pushes:
        changes = []
        for change in push:
            device.seq += 1
            changes.append({**change, "q": device.seq})
        device.push(changes)
    db = init_db(db_path)
    try:
        names = {v: k for k, v in IDS.items()}
        aliases = {
            (names[a], names[b])
            for a, b in db.execute("SELECT id, canonical_id FROM farmer_aliases")
        }
        pairs = {
            (names[a], names[b], reason)
            for a, b, reason in db.execute(
                "SELECT farmer_a, farmer_b, reason FROM merge_candidates WHERE resolved_at IS NULL"
            )
        }
    finally:
        db.close()
    return aliases, pairs


def test_the_first_made_record_is_canonical_whatever_the_order_in_one_push(
    tmp_path: Path,
) -> None:
    now = wall_ms()
    # All within one second, as a device registering a family at a session makes them.
    records = [
        farmer("张大", now, 1, "zhang_first"),
        farmer("张大", now + 200, 1, "zhang_again"),
        farmer("李二", now + 400, 1, "li_same_phone"),
    ]
    seen = set()
    for n, order in enumerate(permutations(records)):
        aliases, pairs = outcome(tmp_path / str(n), [list(order)])
        seen.add((frozenset(aliases), frozenset(pairs)))
        assert aliases == {("zhang_again", "zhang_first")}
        assert pairs == {("zhang_first", "li_same_phone", "same_mobile")}
    assert len(seen) == 1


def test_a_record_arriving_later_is_merged_the_same_way_whatever_the_ids(tmp_path: Path) -> None:
    """Stored 张大 and 李二 share a phone; a second 张大 with it arrives: merged into the first
    张大, and no pair is offered for the record that was merged away."""
    now = wall_ms()
    first = [farmer("张大", now, 1, "zhang_first"), farmer("李二", now, 2, "li_same_phone")]
    later = [farmer("张大", now + 300, 1, "zhang_third")]
    for n, stored in enumerate(permutations(first)):
        aliases, pairs = outcome(tmp_path / str(n), [list(stored), later])
        assert aliases == {("zhang_third", "zhang_first")}
        assert pairs == {("zhang_first", "li_same_phone", "same_mobile")}


def test_a_record_made_earlier_but_arriving_later_becomes_canonical(tmp_path: Path) -> None:
    """A device offline for a week registered the farmer first: its record is the canonical one,
    as it would have been had it arrived first."""
    now = wall_ms()
    arrived_first = [farmer("张大", now + 500, 1, "zhang_again")]
    made_first = [farmer("张大", now, 1, "zhang_first")]
    one_way = outcome(tmp_path / "a", [arrived_first, made_first])
    other_way = outcome(tmp_path / "b", [made_first, arrived_first])
    assert one_way == other_way == ({("zhang_again", "zhang_first")}, set())
