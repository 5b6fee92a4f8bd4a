"""Other envoys' farmers held with masked mobiles: found by a typed number, never edited here."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from field_client import names, qr_checkin
from field_client.mobiles import farmers_with_mobile
from field_client.store import FieldStore, NotYours
from shared import protocol as p
from shared.ids import new_id
from shared.mobile import mask_mobile, mobile_hash
from tests.field_client.test_cli import ENVOY, VILLAGE

OTHER_ENVOY = "0b6f0d0e-8a2b-4c5d-9e7f-1a2b3c4d5e6f"
NUMBER = "13612345678"


def pulled_farmer(name: str, envoy_id: str, mobile: str, key: bytes) -> dict[str, Any]:
    """A farmer as the server sends it to this device: masked unless this envoy registered it."""
    farmer_id = new_id()
    stamp = "1795700000000.00001.server"
    state: dict[str, Any] = {
        "id": farmer_id,
        "envoy_id": envoy_id,
        "device_id": new_id(),
        "name": name,
        "village_code": VILLAGE,
        "mobile": mobile,
        "gender": "unspecified",
        "birth_year": None,
        "created_at": "2026-11-26T00:00:00Z",
        "updated_at": "2026-11-26T00:00:00Z",
        "deleted": False,
        "hlc": stamp,
        "_stamps": {"name": stamp, "village_code": stamp, "mobile": stamp},
    }
    if envoy_id != ENVOY:
        state["mobile"] = mask_mobile(mobile)
        state["mobile_hash"] = mobile_hash(key, farmer_id, mobile)
    return state


@pytest.fixture
def store(db: Path) -> FieldStore:
    return FieldStore(str(db))


def test_a_typed_number_finds_another_envoys_farmer_held_masked(store: FieldStore) -> None:
    key = secrets.token_bytes(32)
    other = pulled_farmer("赵大", OTHER_ENVOY, NUMBER, key)
    store.apply_pull([{"k": p.FARMER, "r": other}], 10, key.hex())
    assert store.record(p.FARMER, other["id"])["mobile"] == "136****5678"

    assert [f["id"] for f in farmers_with_mobile(store, "136-1234-5678")] == [other["id"]]
    assert [f.id for f in names.search_farmers(store, NUMBER)] == [other["id"]]
    assert names.farmer_id(store, "136 1234 5678") == other["id"]
    assert qr_checkin.farmer_with_mobile(store, NUMBER)["id"] == other["id"]
    # The last four digits, as the roster search takes them, still work on a masked number.
    assert [f.id for f in names.search_farmers(store, "5678")] == [other["id"]]

    # Numbers with the same mask but another hash are not taken for it.
    misses = [
        m
        for m in (f"136{n:04d}5678" for n in range(10_000))
        if mobile_hash(key, other["id"], m) != other["mobile_hash"]
    ]
    assert 9_000 < len(misses) < 9_999  # about 15 in 16: the hash is short on purpose
    assert farmers_with_mobile(store, misses[0]) == []
    assert names.search_farmers(store, misses[0]) == []


def test_the_envoys_own_farmer_with_the_number_comes_first(store: FieldStore) -> None:
    """A family phone: the envoy's own farmer and another envoy's farmer share the number."""
    key = secrets.token_bytes(32)
    other = pulled_farmer("王芳", OTHER_ENVOY, NUMBER, key)
    own = pulled_farmer("王五", ENVOY, NUMBER, key)
    store.apply_pull([{"k": p.FARMER, "r": other}, {"k": p.FARMER, "r": own}], 10, key.hex())
    assert [f["id"] for f in farmers_with_mobile(store, NUMBER)] == [own["id"], other["id"]]
    assert qr_checkin.farmer_with_mobile(store, NUMBER)["id"] == own["id"]


def test_a_farmer_held_masked_is_never_edited_here(store: FieldStore) -> None:
    key = secrets.token_bytes(32)
    other = pulled_farmer("赵大", OTHER_ENVOY, NUMBER, key)
    store.apply_pull([{"k": p.FARMER, "r": other}], 10, key.hex())
    for values in ({"mobile": "136****5678"}, {"mobile": "13900000000"}, {"name": "赵小"}):
        with pytest.raises(NotYours):
            store.update(p.FARMER, other["id"], values)
    with pytest.raises(NotYours):
        store.delete(p.FARMER, other["id"])
    assert store.counts() == {}
    held = store.record(p.FARMER, other["id"])
    assert {k: held[k] for k in ("name", "mobile", "mobile_hash")} == {
        k: other[k] for k in ("name", "mobile", "mobile_hash")
    }
