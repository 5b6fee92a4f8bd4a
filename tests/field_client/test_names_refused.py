"""On the device: a name or title that shows nothing, or holds NUL or control characters, is
refused when typed (the shared schemas' rule), naming the field; nothing reaches the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from field_client.store import FieldStore
from shared import protocol as p
from shared.errors import InvalidRecord
from tests.field_client.test_store import (
    MAY_2026_MS,
    VILLAGE,
    FakeWall,
    enrol,
    new_farmer,
    new_session,
    outbox,
)


@pytest.fixture
def device(tmp_path: Path) -> Iterator[FieldStore]:
    store = FieldStore(str(tmp_path / "field.db"), device_clock=FakeWall(MAY_2026_MS))
    enrol(store)
    yield store
    store.close()


BAD = ["   ", "\u200b\u200c", "\u3000", "\x01\x02", "张\x00三", "王\x1b[2J"]


@pytest.mark.parametrize("bad", BAD)
def test_a_new_farmer_with_such_a_name_is_refused(device: FieldStore, bad: str) -> None:
    before = len(outbox(device))
    with pytest.raises(InvalidRecord) as caught:
        new_farmer(device, name=bad)
    assert "name" in caught.value.errors
    assert "name" in str(caught.value.errors["name"])
    assert len(outbox(device)) == before


@pytest.mark.parametrize("bad", BAD)
def test_an_edit_to_such_a_title_or_place_is_refused(device: FieldStore, bad: str) -> None:
    session = new_session(device)
    before = len(outbox(device))
    for field in ("title", "place"):
        with pytest.raises(InvalidRecord) as caught:
            device.update(p.SESSION, session, {field: bad})
        assert field in caught.value.errors
    assert len(outbox(device)) == before
    assert device.record(p.SESSION, session)["title"] == "马铃薯晚疫病防治"


def test_real_names_are_kept(device: FieldStore) -> None:
    farmer = device.create(p.FARMER, {"name": "欧阳　娜娜", "village_code": VILLAGE})
    assert device.record(p.FARMER, farmer)["name"] == "欧阳　娜娜"
