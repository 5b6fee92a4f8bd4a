"""The idempotency ledger: each change's number and hash per device, so a resend is answered alike."""

from __future__ import annotations

from sqlite_utils import Database

from shared import protocol as p

# (device, seq) keys are kept as runs of consecutive numbers answered alike; a run is capped
# so a lookup knows how far back a run holding a number can start.
MAX_RUN = 10_000
# Statuses a resent change is answered `duplicate` for, whichever it was: kept in runs.
_RUN_STATUSES = frozenset((p.APPLIED, p.MERGED))


def device_max_seq(db: Database, device_id: str) -> int:
    row = db.execute("SELECT max_seq FROM devices WHERE id = ?", [device_id]).fetchone()
    return int(row[0] or 0) if row else 0


def record_answers(
    db: Database, device_id: str, answered: list[tuple[int, bytes, str, str | None]]
) -> None:
    """Keep each change's number and hash; applied and merged ones in runs, the rest alone."""
    rows: list[tuple[str, int, int, bytes, str, str | None]] = []
    # The run being gathered: its first and last numbers and their hashes.
    first = last = -2
    hashes: list[bytes] = []
    for seq, digest, status, reason in sorted(answered, key=_seq_of):
        if status in _RUN_STATUSES and seq == last + 1 and len(hashes) < MAX_RUN:
            hashes.append(digest)
            last = seq
            continue
        if hashes:
            rows.append((device_id, first, last, b"".join(hashes), p.APPLIED, None))
        if status in _RUN_STATUSES:
            first = last = seq
            hashes = [digest]
        else:
            first = last = -2
            hashes = []
            rows.append((device_id, seq, seq, digest, status, reason))
    if hashes:
        rows.append((device_id, first, last, b"".join(hashes), p.APPLIED, None))
    db.conn.executemany("INSERT INTO device_change_runs VALUES (?, ?, ?, ?, ?, ?)", rows)


def update_answer(db: Database, device_id: str, seq: int, status: str, reason: str | None) -> None:
    """A held change's answer once it is applied or refused (it was recorded on its own)."""
    db.execute(
        "UPDATE device_change_runs SET status = ?, reason = ? WHERE device_id = ? AND first_seq = ?",
        [status, reason, device_id, seq],
    )


def _seq_of(answered: tuple[int, bytes, str, str | None]) -> int:
    return answered[0]


def previous_answers(
    db: Database, device_id: str, seqs: list[int]
) -> dict[int, tuple[bytes, str, str | None]]:
    """The hash and answer of each of these numbers this device sent before."""
    wanted = set(seqs)
    answers: dict[int, tuple[bytes, str, str | None]] = {}
    if not wanted:
        return answers
    low, high = min(wanted), max(wanted)
    for first, last, hashes, status, reason in db.execute(
        "SELECT first_seq, last_seq, hashes, status, reason FROM device_change_runs "
        "WHERE device_id = ? AND first_seq BETWEEN ? AND ? AND last_seq >= ?",
        [device_id, low - MAX_RUN + 1, high, low],
    ):
        for seq in range(max(first, low), min(last, high) + 1):
            if seq in wanted:
                at = (seq - first) * 8
                answers[seq] = (hashes[at : at + 8], status, reason)
    return answers
