"""Without a (kind, id) index on the outbox, records with unsent changes are still told apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from field_client.store import FieldStore
from shared import protocol as p
from shared.clock import format_stamp
from shared.merge import STAMPS
from tests.field_client.test_store import MAY_2026_MS, FakeWall, enrol, new_farmer


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FieldStore]:
    store = FieldStore(str(tmp_path / "field.db"), device_clock=FakeWall(MAY_2026_MS))
    enrol(store)
    yield store
    store.close()


def test_full_resync_keeps_only_records_with_unsent_changes(store: FieldStore) -> None:
    synced, edited, refused = (new_farmer(store, name=f"农户{n}") for n in range(3))
    store.settle([1, 2, 3], [])
    store.update(p.FARMER, edited, {"name": "改"})
    store.update(p.FARMER, refused, {"name": "改"})
    store.settle([], [{"q": 5, "s": p.REJECTED, "r": "no"}])
    assert store.record(p.FARMER, refused) is not None
    store.start_full_resync()
    assert store.record(p.FARMER, synced) is None
    assert store.record(p.FARMER, edited) is not None
    # A refused change is not unsent: the record comes back from the server like the others.
    assert store.record(p.FARMER, refused) is None
    assert store.get("cursor") == "0"


def test_one_page_merges_unsent_records_and_replaces_the_rest(store: FieldStore) -> None:
    synced, edited = new_farmer(store, name="甲"), new_farmer(store, name="乙")
    store.settle([1, 2], [])
    store.update(p.FARMER, edited, {"name": "本机改的"})
    stamp = format_stamp(MAY_2026_MS - 1, 0, "server")
    page = []
    for farmer_id in (synced, edited):
        server = {**store.record(p.FARMER, farmer_id), "name": "服务器的"}
        server[STAMPS] = {**server[STAMPS], "name": stamp}
        page.append({"k": p.FARMER, "r": server})
    store.apply_pull(page, cursor=3)
    assert store.record(p.FARMER, synced)["name"] == "服务器的"
    assert store.record(p.FARMER, edited)["name"] == "本机改的"
