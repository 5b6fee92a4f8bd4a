"""Fixtures shared by every test: an app on a real SQLite file, its client and CLI runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from server import create_app
from tests.browser import browser, desk_page, phone_page  # noqa: F401  (fixtures for page tests)
from tests.helpers import load_demo_reference


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "server.db")


@pytest.fixture
def app(db_path: str) -> Iterator[Flask]:
    app = create_app({"DATABASE": db_path, "TESTING": True})
    load_demo_reference(db_path)
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
