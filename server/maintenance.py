"""Housekeeping: purging tombstones older than the longest offline spell."""

from __future__ import annotations

from datetime import timedelta

from sqlite_utils import Database

from server.db import get_state, set_state, write_transaction
from server.migrations import FIELD_TABLES
from shared.clock import to_iso, utc_now


def purge_tombstones(db: Database, days: int) -> int:
    cutoff = to_iso(utc_now() - timedelta(days=days))
    purged = 0
    with write_transaction(db):
        high = int(get_state(db, "purged_seq") or 0)
        for table in FIELD_TABLES:
            row = db.execute(
                f"SELECT count(*), max(server_seq) FROM [{table}] WHERE deleted = 1 AND updated_at < ?",
                [cutoff],
            ).fetchone()
            if row[0]:
                purged += row[0]
                high = max(high, row[1])
                db.execute(f"DELETE FROM [{table}] WHERE deleted = 1 AND updated_at < ?", [cutoff])
        if purged:
            # Any cursor below the highest purged change may be missing a deletion.
            set_state(db, "purged_seq", high)
    return purged
