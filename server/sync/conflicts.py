"""Edits that lost to a concurrent edit of the same field, kept for staff to see (times UTC ISO
as stored; the command line and the pages both call these)."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database


def latest_conflicts(db: Database, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Edits that lost to a concurrent edit of the same field, newest first.

    Keys: id, recorded_at, kind, record_id, field, winning_value, winning_stamp, losing_value,
    losing_stamp, device_id (the device whose edit lost). Values are stored as JSON text.
    """
    return list(
        db.query("SELECT * FROM conflicts ORDER BY id DESC LIMIT ? OFFSET ?", [limit, offset])
    )


def count_conflicts(db: Database) -> int:
    """How many losing edits are recorded."""
    return int(db.execute("SELECT count(*) FROM conflicts").fetchone()[0])
