"""Fixtures shared by every test: an app on a real database, its client and CLI runner.

The server's database is a real SQLite file, or with TIANJIAN_TEST_DB=postgresql a fresh
database in a throwaway PostgreSQL cluster the session starts and stops (tests/pg.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from server import create_app
from tests import pg
from tests.browser import browser, desk_page, phone_page  # noqa: F401  (fixtures for page tests)
from tests.helpers import load_demo_reference


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg.Cluster | None]:
    """The session's PostgreSQL cluster when the run asks for that engine, else None."""
    if not pg.wanted():
        yield None
        return
    cluster = pg.start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgresql(pg_cluster: pg.Cluster | None) -> Iterator[pg.Cluster]:
    """A PostgreSQL cluster whatever the run's engine, for tests that need both at once
    (copying a SQLite county into PostgreSQL): the session's, or one started for them."""
    if pg_cluster is not None:
        yield pg_cluster
        return
    cluster = pg.start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def db_path(tmp_path: Path, pg_cluster: pg.Cluster | None) -> Iterator[str]:
    """Where the test's server database is: a SQLite file, or a fresh PostgreSQL database's URL."""
    if pg_cluster is None:
        yield str(tmp_path / "server.db")
        return
    url = pg_cluster.database()
    yield url
    pg_cluster.drop(url)


@pytest.fixture
def new_db_path(tmp_path: Path, pg_cluster: pg.Cluster | None) -> Iterator[Callable[[str], str]]:
    """More server databases for a test that runs several servers (a province and its counties):
    `new_db_path(name)` gives a SQLite file named after it, or a fresh PostgreSQL database."""
    made: list[str] = []

    def new(name: str) -> str:
        if pg_cluster is None:
            return str(tmp_path / f"{name}.db")
        made.append(pg_cluster.database())
        return made[-1]

    yield new
    for url in made:
        pg_cluster.drop(url)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def module_db_path(
    tmp_path_factory: pytest.TempPathFactory, pg_cluster: pg.Cluster | None
) -> Iterator[str]:
    """db_path for a module's server that its tests share."""
    if pg_cluster is None:
        yield str(tmp_path_factory.mktemp("module") / "server.db")
        return
    url = pg_cluster.database()
    yield url
    pg_cluster.drop(url)


@pytest.fixture
def app(db_path: str, tmp_path: Path) -> Iterator[Flask]:
    # A database on PostgreSQL has no folder beside it for photos: name one.
    media = {"MEDIA_DIR": str(tmp_path / "media")} if pg.wanted() else {}
    app = create_app({"DATABASE": db_path, "TESTING": True, **media})
    load_demo_reference(db_path)
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
