"""The outbox of unsent changes: read in order for pushing, settled by the server's answers,
renumbered after a restore. Part of FieldStore (a mixin), kept apart for its size."""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlite_utils

PENDING = "pending"
REJECTED = "rejected"


class Outbox:
    """The outbox half of FieldStore: its methods use the store's connection and transaction."""

    db: sqlite_utils.Database

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[sqlite_utils.Database]: ...
        def get(self, key: str, default: str | None = None) -> str | None: ...
        def set(self, key: str, value: object) -> None: ...
        def _write_record(self, kind: str, state: dict[str, Any]) -> None: ...

    def pending(self, limit: int, after_seq: int = 0) -> list[sqlite3.Row]:
        """Unsent changes in order, from the first after `after_seq`, read by column name."""
        # sqlite3.Row, not dicts: building a dict per change was a fifth of a big push's time.
        cursor = self.db.conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state = ? AND seq > ? ORDER BY seq LIMIT ?",
            [PENDING, after_seq, limit],
        ).fetchall()

    def unsent_with(self, kind: str, name: str) -> bool:
        """Whether an unsent change of this kind sets the field `name`."""
        found = self.db.execute(
            "SELECT 1 FROM outbox WHERE state = ? AND kind = ? AND fields LIKE ? LIMIT 1",
            [PENDING, kind, f'%"{name}":%'],
        ).fetchone()
        return found is not None

    def counts(self) -> dict[str, int]:
        return {
            state: count
            for state, count in self.db.execute("SELECT state, count(*) FROM outbox GROUP BY state")
        }

    def pending_by_kind(self) -> list[tuple[str, int]]:
        """How many unsent changes of each kind wait."""
        return list(
            self.db.execute(
                "SELECT kind, count(*) FROM outbox WHERE state = ? GROUP BY kind ORDER BY kind",
                [PENDING],
            )
        )

    def discard_rejected(self, seq: int) -> bool:
        """Forget one refused change (it is never sent); False when no such refusal is kept."""
        with self.transaction():
            cursor = self.db.execute(
                "DELETE FROM outbox WHERE seq = ? AND state = ?", [seq, REJECTED]
            )
        return cursor.rowcount > 0

    def rejected(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM outbox WHERE state = ? ORDER BY seq", [REJECTED]))

    def settle(self, done: list[int], rejected: list[dict[str, Any]]) -> None:
        """Forget changes the server has; keep refused ones, with their reason, in sight."""
        with self.transaction():
            # The server answers in runs of sequence numbers; a range delete walks each run once.
            self.db.conn.executemany("DELETE FROM outbox WHERE seq BETWEEN ? AND ?", _runs(done))
            for answer in rejected:
                self.db.execute(
                    "UPDATE outbox SET state = ?, reason = ?, errors = ? WHERE seq = ?",
                    [REJECTED, answer.get("r"), dumps(answer.get("e") or {}), answer["q"]],
                )
                self._after_rejection(answer)

    def _after_rejection(self, answer: dict[str, Any]) -> None:
        entry = self.db.execute(
            "SELECT kind, id, is_create FROM outbox WHERE seq = ?", [answer["q"]]
        ).fetchone()
        if entry is None:
            return
        kind, record_id, is_create = entry
        # Without a (kind, id) index this scans the pending entries; rejections are rare.
        if self.db.execute(
            "SELECT 1 FROM outbox WHERE kind = ? AND id = ? AND state = ? LIMIT 1",
            [kind, record_id, PENDING],
        ).fetchone():
            return
        if answer.get("x"):
            # The server's own version replaces the refused one.
            self._write_record(kind, answer["x"])
        elif is_create or self._create_refused(kind, record_id):
            # Never on the server: the record lives on in the rejected list until fixed (an
            # edit after a refused create, such as an undone check-in, was never there either).
            self.db.execute("DELETE FROM records WHERE kind = ? AND id = ?", [kind, record_id])

    def _create_refused(self, kind: str, record_id: str) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM outbox WHERE kind = ? AND id = ? AND state = ? AND is_create = 1",
                [kind, record_id, REJECTED],
            ).fetchone()
            is not None
        )

    def renumber(self, seqs: list[int], above: int) -> None:
        """A restored copy reused sequence numbers the server has seen: give these fresh ones."""
        with self.transaction():
            next_seq = max(int(self.get("next_seq", "1") or 1), above + 1)
            for seq in sorted(seqs):
                self.db.execute("UPDATE outbox SET seq = ? WHERE seq = ?", [next_seq, seq])
                next_seq += 1
            self.set("next_seq", next_seq)
            # Only a restored copy reuses numbers: what it lost is on the server, fetch it back.
            self.set("resync_own", 1)

    def note_server_high_water(self, device_max_seq: int) -> bool:
        """True when the server has seen sequences this copy never made: we were restored."""
        if int(self.get("next_seq", "1") or 1) <= device_max_seq:
            with self.transaction():
                self.set("next_seq", device_max_seq + 1)
                self.set("resync_own", 1)
            return True
        return False

    def note_held(self, held: list[dict[str, Any]], count: int) -> None:
        """Remember what the server said it holds for this device at the last pull."""
        with self.transaction():
            self.set("held", dumps(held))
            self.set("held_count", count)

    def held(self) -> tuple[list[dict[str, Any]], int]:
        """The changes the server held for this device at the last pull (as listed), and
        how many it held in all."""
        listed = json.loads(self.get("held") or "[]")
        return listed, int(self.get("held_count") or len(listed))


_OUTBOX_NAMES = (
    "seq",
    "kind",
    "id",
    "stamp",
    "base",
    "fields",
    "is_create",
    "state",
    "reason",
    "errors",
    "created_at",
)
_OUTBOX_COLUMNS = ", ".join(_OUTBOX_NAMES)


def _runs(seqs: list[int]) -> list[tuple[int, int]]:
    """Sequence numbers as (first, last) runs of consecutive values."""
    runs: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if runs and seq == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def dumps(value: Any) -> str:
    """Compact JSON text, Chinese kept as it is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
