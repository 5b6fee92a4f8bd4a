"""The server's database files are readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from server.store.db import init_db


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_server_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "server.db"
    old_umask = os.umask(0o022)  # the usual umask, which would leave the files world-readable
    try:
        db = init_db(str(path))
        db.execute("INSERT INTO server_state (key, value) VALUES ('probe', '1')")
        db.conn.commit()
        made = [path, *(tmp_path / f"server.db-{suffix}" for suffix in ("wal", "shm"))]
        assert all(p.exists() for p in made)
        assert {p.name: mode_of(p) for p in made} == {p.name: 0o600 for p in made}
        db.close()
    finally:
        os.umask(old_umask)
