"""The field device's database files are readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from field_client.store import FieldStore


def test_a_new_field_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "field.db"
    old_umask = os.umask(0o022)
    try:
        store = FieldStore(str(path))
        store.set("probe", 1)
        store.db.conn.commit()
        made = [path, *(tmp_path / f"field.db-{suffix}" for suffix in ("wal", "shm"))]
        assert all(p.exists() for p in made)
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in made} == {
            p.name: 0o600 for p in made
        }
        store.close()
    finally:
        os.umask(old_umask)
