"""Fixtures for the device's web app: an enrolled store on a real SQLite file, the app, a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from field_client import pin
from field_client.store import FieldStore
from field_client.web import create_app
from shared import protocol as p
from tests.helpers import VILLAGE_EAST, VILLAGE_WEST

DEVICE = "d0d0d0d0-0000-4000-8000-000000000001"
ENVOY = "e0e0e0e0-0000-4000-8000-000000000001"
PIN = "246813"
LAN = ["192.168.137.1", "127.0.0.1"]
UNITS = [
    {"code": "530102001000", "name": "城关镇", "parent_code": "530102000000", "level": "township"},
    {"code": VILLAGE_EAST, "name": "东村", "parent_code": "530102001000", "level": "village"},
    {"code": VILLAGE_WEST, "name": "西村", "parent_code": "530102001000", "level": "village"},
]


def make_store(path: str) -> FieldStore:
    """A device enrolled for envoy 张三 holding the county's villages, as after a first sync."""
    store = FieldStore(path)
    store.save_enrolment(
        "http://bureau.invalid",
        {"device_id": DEVICE, "token": "t", "envoy": {"id": ENVOY, "name": "张三"}},
        0,
    )
    store.apply_pull([{"k": p.UNIT, "r": unit} for unit in UNITS], 1)
    return store


def new_session(store: FieldStore, title: str = "马铃薯晚疫病防治培训", **values: object) -> str:
    return store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": title,
            "unit_code": VILLAGE_EAST,
            "place": "东村村委会",
            "starts_at": store.best_now_iso(),
            "lead_envoy_id": ENVOY,
            **values,
        },
    )


def new_farmer(store: FieldStore, name: str = "李四", mobile: str | None = "13812345678") -> str:
    return store.create(
        p.FARMER, {"name": name, "mobile": mobile, "village_code": VILLAGE_EAST, "gender": "male"}
    )


@pytest.fixture
def store_path(tmp_path: Path) -> str:
    path = str(tmp_path / "field.db")
    store = make_store(path)
    pin.set_pin(store, PIN)
    store.close()
    return path


@pytest.fixture
def store(store_path: str) -> Iterator[FieldStore]:
    opened = FieldStore(store_path)
    yield opened
    opened.close()


@pytest.fixture
def app(store_path: str) -> Flask:
    return create_app(
        store_path, {"TESTING": True, "WTF_CSRF_ENABLED": False, "LAN_ADDRESSES": LAN}
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def envoy(app: Flask) -> FlaskClient:
    """A client signed in with the envoy's PIN."""
    signed = app.test_client()
    answer = signed.post("/login", data={"pin": PIN})
    assert answer.status_code == 302
    return signed
