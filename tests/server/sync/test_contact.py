"""A device's last contact is written at most once a minute: a pull that brings nothing is
read-only, so a server that devices poll does not grow its write-ahead log (SQLite) or burn
transaction ids and dead rows (PostgreSQL)."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from server.store.db import init_db
from server.store.dialect import is_url
from server.sync import devices
from shared import protocol as p
from shared.clock import wall_ms
from tests.server.test_api import PULL, Device


class Watcher:
    """Another connection to the same database: sees whether anyone committed a write since it
    last looked. SQLite: the file's data_version and the WAL's size. PostgreSQL: each table's
    row count and newest row version (xmin): an insert, update or delete changes one of them,
    while reads, and the planner's statistics autovacuum may gather meanwhile, do not."""

    def __init__(self, db_path: str) -> None:
        self.path = db_path
        self.pg = psycopg.connect(db_path, autocommit=True) if is_url(db_path) else None
        self.sqlite = None if self.pg else sqlite3.connect(db_path)
        self.seen = self._state()

    def _state(self) -> object:
        if self.pg is not None:
            tables = [
                row[0]
                for row in self.pg.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
                )
            ]
            each = " UNION ALL ".join(
                f"SELECT '{name}', count(*), max(CAST(CAST(xmin AS text) AS bigint)) FROM \"{name}\""
                for name in tables
            )
            return self.pg.execute(each).fetchall()
        assert self.sqlite is not None
        wal = self.path + "-wal"
        version = int(self.sqlite.execute("PRAGMA data_version").fetchone()[0])
        return version, os.path.getsize(wal) if os.path.exists(wal) else 0

    def written(self) -> bool:
        state = self._state()
        changed = state != self.seen
        self.seen = state
        return changed

    def close(self) -> None:
        for conn in (self.pg, self.sqlite):
            if conn is not None:
                conn.close()


def test_a_noop_pull_within_the_minute_writes_nothing(
    client: FlaskClient, db_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    zhang = Device(client, db_path, "张三")
    clock = [1000.0]
    monkeypatch.setattr(devices, "_monotonic", lambda: clock[0])
    # Each pull reports a clock a second further off, so a contact written is never the same
    # row again (SQLite skips writing a row rewritten unchanged).
    ahead = [0]

    def pull(cursor: int, protocol: int = p.PROTOCOL_VERSION) -> dict[str, Any]:
        ahead[0] += 1000
        headers = {
            **zhang.headers,
            p.HEADER_PROTOCOL: str(protocol),
            p.HEADER_DEVICE_TIME: str(wall_ms() + ahead[0]),
        }
        response = client.get(PULL, query_string={"cursor": cursor}, headers=headers)
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json())

    cursor = pull(0)["cursor"]
    watching = Watcher(db_path)
    try:
        for _ in range(5):
            clock[0] += 10
            assert pull(cursor)["records"] == []
            assert not watching.written()
        # A minute after the last write the contact is written again.
        clock[0] += 15
        pull(cursor)
        assert watching.written()
        clock[0] += 1
        pull(cursor)
        assert not watching.written()
        # A device that changes protocol is noted at once.
        pull(cursor, protocol=p.PROTOCOL_VERSION + 1)
        assert watching.written()
    finally:
        watching.close()
    db = init_db(db_path)
    skew = db.execute("SELECT skew_ms FROM devices WHERE id = ?", [zhang.id]).fetchone()[0]
    db.close()
    assert abs(skew - ahead[0]) < 5_000
