"""The report a device sends with every sync: what it holds, counted from its database, and kept
in step batch by batch during a push."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from field_client import holdings
from field_client.store import FieldStore
from shared import protocol as p
from shared.device_report import KindCounts, decode
from shared.merge import STAMPS
from tests.field_client.test_store import MAY_2026_MS, FakeWall, enrol, new_farmer

OTHER_ENVOY = "e0e0e0e0-0000-4000-8000-000000000009"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FieldStore]:
    store = FieldStore(str(tmp_path / "field.db"), device_clock=FakeWall(MAY_2026_MS))
    enrol(store)
    yield store
    store.close()


def report(store: FieldStore) -> dict[str, KindCounts]:
    """The report as the server reads it from the header."""
    return decode(holdings.count(store).report().encode()).kinds


def test_new_records_count_as_live_waiting_and_new(store: FieldStore) -> None:
    for n in range(3):
        new_farmer(store, name=f"农户{n}")
    assert report(store) == {p.FARMER: KindCounts(live=3, waiting=3, new=3)}
    # Sent and applied: live, nothing waits.
    store.settle([1, 2, 3], [])
    assert report(store) == {p.FARMER: KindCounts(live=3)}


def test_other_envoys_records_are_not_counted(store: FieldStore) -> None:
    new_farmer(store, name="本人的")
    store.settle([1], [])
    theirs = {
        **store.record(p.FARMER, new_farmer(store, name="别人的")),
        "id": "f" * 8 + "-0000-4000-8000-000000000001",
        "envoy_id": OTHER_ENVOY,
    }
    store.settle([2], [])
    store.apply_pull([{"k": p.FARMER, "r": theirs}], cursor=7)
    counted = holdings.count(store)
    assert counted.cursor == 7
    assert counted.report().of(p.FARMER) == KindCounts(live=2)


def test_an_unsent_deletion_of_a_synced_record_is_gone(store: FieldStore) -> None:
    kept, deleted = new_farmer(store, name="甲"), new_farmer(store, name="乙")
    store.settle([1, 2], [])
    store.delete(p.FARMER, deleted)
    assert report(store) == {p.FARMER: KindCounts(live=1, waiting=1, gone=1)}
    # Made and deleted before any sync: the server will hold a tombstone, as the device does.
    scrap = new_farmer(store, name="丙")
    store.delete(p.FARMER, scrap)
    assert report(store) == {p.FARMER: KindCounts(live=1, waiting=3, gone=1)}
    assert store.record(p.FARMER, kept) is not None


def test_a_refused_new_record_is_kept_as_refused_not_live(store: FieldStore) -> None:
    new_farmer(store, name="甲")
    new_farmer(store, name="乙")
    store.settle([1], [{"q": 2, "s": p.REJECTED, "r": "不行 / no"}])
    assert report(store) == {p.FARMER: KindCounts(live=1, refused=1)}


def test_the_tally_follows_batches_as_they_are_sent(store: FieldStore) -> None:
    first, second = new_farmer(store, name="甲"), new_farmer(store, name="乙")
    store.settle([1, 2], [])
    new_farmer(store, name="丙")
    store.update(p.FARMER, first, {"name": "甲改"})
    store.delete(p.FARMER, second)
    tally = holdings.count(store)
    assert tally.report().of(p.FARMER) == KindCounts(live=2, waiting=3, new=1, gone=1)
    pending = store.pending(10)
    tally.sent(pending[:1])  # the create
    assert tally.report().of(p.FARMER) == KindCounts(live=2, waiting=2, gone=1)
    tally.sent(pending[1:])
    assert tally.report().of(p.FARMER) == KindCounts(live=2)


def test_a_restored_checkin_is_new_to_the_server(store: FieldStore) -> None:
    farmer = new_farmer(store, name="甲")
    session = store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "培训",
            "unit_code": "530102001001",
            "starts_at": "2026-05-28T01:00:00Z",
            "lead_envoy_id": store.identity()[1],
        },
    )
    checkin, _new = store.checkin(session, farmer)
    store.settle([1, 2, 3], [])
    store.undo_checkin(checkin, "点错了")
    store.settle([4], [])
    assert p.ATTENDANCE not in report(store)  # nothing of the kind: left out of the header
    store.checkin(session, farmer)
    assert report(store)[p.ATTENDANCE] == KindCounts(live=1, waiting=1, new=1)
    assert STAMPS in store.record(p.ATTENDANCE, checkin)


def test_a_push_of_very_many_changes_is_not_counted_before_it_starts(
    store: FieldStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_farmer(store, name="甲")
    assert holdings.count_before_push(store) is not None
    new_farmer(store, name="乙")
    monkeypatch.setattr(holdings, "COUNT_BEFORE_PUSH", 1)
    # Two wait, more than the limit: the pull that ends the sync reports instead.
    assert holdings.count_before_push(store) is None
