"""Fixtures for client-and-server tests: a real server process and ways to compare replicas."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.store.db import init_db
from server.store.records import row_to_state, table_of
from shared import protocol as p
from shared.mobile import mask_mobile
from shared.schemas.field import data_fields
from tests import pg
from tests.e2e.fake_camera import fake_camera  # noqa: F401  (a fixture: browsers with a fake camera)
from tests.helpers import LiveServer, load_demo_reference


@pytest.fixture
def live_server(db_path: str) -> Iterator[LiveServer]:
    load_demo_reference(db_path)
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def demo_server(sqlite_path: str, pg_cluster: pg.Cluster | None) -> LiveServer:
    """A server (not started) for a county scripts/demo built as a SQLite file: on that file,
    or in a run on PostgreSQL on a copy of it there (`tianjian-server copy`), its photos read
    from the folder beside the file."""
    if pg_cluster is None:
        return LiveServer(sqlite_path)
    url = pg_cluster.database()
    subprocess.run(
        [sys.executable, "-m", "server", "--db", sqlite_path, "copy", "--to", url],
        check=True,
        capture_output=True,
        timeout=300,
    )
    server = LiveServer(url)
    server.media_dir = str(Path(sqlite_path).with_name(Path(sqlite_path).stem + "-media"))
    return server


def server_records(
    db_path: str, kinds: tuple[str, ...] = p.FIELD_KINDS, viewer: str | None = None
) -> dict[tuple[str, str], Any]:
    """Every field record on the server; as envoy `viewer`'s devices hold them when given
    (other envoys' farmers' mobiles masked)."""
    db = init_db(db_path)
    found = {}
    for kind in kinds:
        for row in db.query(f"SELECT * FROM [{table_of(kind)}]"):
            state = row_to_state(kind, row)
            if viewer is not None and kind == p.FARMER and state["envoy_id"] != viewer:
                state["mobile"] = mask_mobile(state["mobile"]) or None
            found[(kind, row["id"])] = comparable(kind, state)
    db.close()
    return found


def device_records(
    store: Any, kinds: tuple[str, ...] = p.FIELD_KINDS
) -> dict[tuple[str, str], Any]:
    found = {}
    for kind in kinds:
        for state in store.records(kind, include_deleted=True):
            found[(kind, state["id"])] = comparable(kind, state)
    return found


def comparable(kind: str, state: dict[str, Any]) -> str:
    keep = {name: state.get(name) for name in data_fields(kind)}
    keep["deleted"] = bool(state.get("deleted"))
    return json.dumps(keep, sort_keys=True, ensure_ascii=False)


def count_rows(db_path: str, table: str, where: str = "deleted = 0") -> int:
    db = init_db(db_path)
    try:
        return db.execute(f"SELECT count(*) FROM [{table}] WHERE {where}").fetchone()[0]
    finally:
        db.close()
