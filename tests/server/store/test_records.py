"""Reading records in bulk: which of many ids exist, whether all of them do or only some."""

from __future__ import annotations

from pathlib import Path

from server.store.db import init_db
from server.store.records import existing_ids
from shared import protocol as p
from shared.ids import new_id


def test_existing_ids_across_chunks_all_present_and_some_missing(tmp_path: Path) -> None:
    db = init_db(str(tmp_path / "s.db"))
    stored = [new_id() for _ in range(1200)]
    db.conn.executemany(
        "INSERT INTO farmers (id, envoy_id, hlc, name, village_code, deleted) "
        "VALUES (?, 'e', 'h', '张三', '530102001001', 0)",
        [(farmer_id,) for farmer_id in stored],
    )
    assert existing_ids(db, p.FARMER, stored) == set(stored)
    missing = [new_id() for _ in range(3)]
    # Missing ids in the first and the last chunk of 500: each chunk is judged on its own.
    asked = [missing[0], *stored, *missing[1:], stored[0]]
    assert existing_ids(db, p.FARMER, asked) == set(stored)
    assert existing_ids(db, p.FARMER, missing) == set()
