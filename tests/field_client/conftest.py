"""Fixtures for the field client's tests: a fresh device, and one enrolled by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from field_client.store import FieldStore
from shared import protocol as p
from tests.field_client.test_cli import (
    DEVICE,
    ENVOY,
    NO_SERVER,
    TECH,
    TITLE,
    TOWNSHIP,
    VARIETY,
    VILLAGE,
)


@pytest.fixture
def blank_db(tmp_path: Path) -> Path:
    return tmp_path / "field.db"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A device enrolled by hand (no server) with the reference data a pull would bring."""
    path = tmp_path / "field.db"
    store = FieldStore(str(path))
    store.save_enrolment(
        NO_SERVER, {"device_id": DEVICE, "token": "t", "envoy": {"id": ENVOY, "name": "x"}}, 0
    )
    rows = [
        (p.UNIT, VILLAGE, {"code": VILLAGE, "name": "东村", "level": "village"}),
        (p.UNIT, TOWNSHIP, {"code": TOWNSHIP, "name": "城关镇", "level": "township"}),
        (p.TECHNOLOGY, TECH, {"id": TECH, "name": "马铃薯脱毒种薯技术"}),
        (p.VARIETY, VARIETY, {"id": VARIETY, "name": "云薯304", "crop": "马铃薯"}),
        (p.LEAFLET_TITLE, TITLE, {"id": TITLE, "title": "马铃薯晚疫病防治"}),
    ]
    for kind, key, data in rows:
        store.db.execute(
            "INSERT INTO reference (kind, id, data) VALUES (?, ?, ?)",
            [kind, key, json.dumps(data, ensure_ascii=False)],
        )
    store.close()
    return path
