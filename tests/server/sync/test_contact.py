"""A device's last contact is written at most once a minute: a pull that brings nothing is
read-only, so a server that devices poll does not grow its write-ahead log."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.sync import devices
from shared import protocol as p
from shared.clock import wall_ms
from tests.server.test_api import PULL, Device


class Watcher:
    """Another connection to the same file: sees whether anyone committed since it last looked."""

    def __init__(self, db_path: str) -> None:
        self.path = db_path
        self.conn = sqlite3.connect(db_path)
        self.version = self._version()
        self.wal = self._wal_size()

    def _version(self) -> int:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def _wal_size(self) -> int:
        wal = self.path + "-wal"
        return os.path.getsize(wal) if os.path.exists(wal) else 0

    def written(self) -> bool:
        version, wal = self._version(), self._wal_size()
        changed = (version, wal) != (self.version, self.wal)
        self.version, self.wal = version, wal
        return changed


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
        watching.conn.close()
    skew = sqlite3.connect(db_path).execute("SELECT skew_ms FROM devices WHERE id = ?", [zhang.id])
    assert abs(skew.fetchone()[0] - ahead[0]) < 5_000
