"""What this device holds, as the report it sends with every sync request
(shared/device_report.py): counted once before a push and kept in step as batches go, counted
again before each pull page. The server keeps the latest for its per-envoy ledger."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from field_client.outbox import PENDING, REJECTED
from field_client.store import FieldStore
from shared import protocol as p
from shared.device_report import DeviceReport, KindCounts

# A change that sets `deleted` (the store writes compact JSON, so this is how it reads).
_SETS_DELETED = '"deleted":'
# Above this many unsent changes a push does not count them before it starts: reading them all
# took half a second of a 100,000-change push (a fifth of its time); the pull that ends the
# sync reports instead, when they are gone.
COUNT_BEFORE_PUSH = 20_000


@dataclass
class Tally:
    """The report's numbers, kept in step with the outbox during a push without reading it again.

    `clears` maps a change's number to the (kind, part) that stops counting once it is sent: a
    new record stops being new when its create goes, a deletion stops being gone when it goes.
    Kept only when some unsent change sets `deleted`; otherwise every unsent create is a new
    record, and sending it clears one `new` of its kind.
    """

    cursor: int
    live: Counter[str] = field(default_factory=Counter)
    waiting: Counter[str] = field(default_factory=Counter)
    new: Counter[str] = field(default_factory=Counter)
    gone: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    clears: dict[int, tuple[str, str]] | None = None

    def report(self) -> DeviceReport:
        return DeviceReport(
            self.cursor,
            {
                kind: KindCounts(
                    self.live[kind],
                    self.waiting[kind],
                    self.new[kind],
                    self.gone[kind],
                    self.refused[kind],
                )
                for kind in p.FIELD_KINDS
            },
        )

    def sent(self, entries: Sequence[Any]) -> None:
        """These changes are on their way: count them as the server will have them."""
        for entry in entries:
            kind = entry["kind"]
            self.waiting[kind] -= 1
            if self.clears is None:
                if entry["is_create"]:
                    self.new[kind] -= 1
                continue
            cleared = self.clears.pop(entry["seq"], None)
            if cleared is not None:
                counter = self.new if cleared[1] == "new" else self.gone
                counter[cleared[0]] -= 1
        for counter in (self.waiting, self.new, self.gone):
            for kind in counter:
                counter[kind] = max(0, counter[kind])


def count_before_push(store: FieldStore) -> Tally | None:
    """The tally a push keeps in step, or None when too much waits to count it quickly."""
    waiting = store.db.conn.execute(
        "SELECT count(*) FROM outbox WHERE state = ?", [PENDING]
    ).fetchone()[0]
    return count(store) if waiting <= COUNT_BEFORE_PUSH else None


def count(store: FieldStore) -> Tally:
    """Count what the device holds and what waits in its outbox, from the database."""
    _device, envoy_id = store.identity()
    tally = Tally(int(store.get("cursor", "0") or 0))
    deletions = 0
    for kind, waiting, creates, deleting in store.db.conn.execute(
        "SELECT kind, count(*), sum(is_create), sum(instr(fields, ?) > 0) FROM outbox "
        "WHERE state = ? GROUP BY kind",
        [_SETS_DELETED, PENDING],
    ):
        tally.waiting[kind] = waiting
        tally.new[kind] = creates or 0
        deletions += deleting or 0
    if deletions:
        _count_precisely(store, tally, envoy_id)
    recount_kept(store, tally)
    return tally


def brings_own(records: list[dict[str, Any]], envoy_id: str | None) -> bool:
    """Whether a pulled page holds field records of the device's own envoy: only those change
    what it holds (a pull that starts over counts afresh)."""
    return any(
        item["k"] in p.FIELD_KINDS and item["r"].get("envoy_id") == envoy_id for item in records
    )


def recount_kept(store: FieldStore, tally: Tally) -> None:
    """Count again the live records of the device's own envoy and the refused new ones kept in
    the rejected list (after a refusal moved a record from one to the other)."""
    _device, envoy_id = store.identity()
    db = store.db.conn
    # The index on (envoy_id, kind, deleted) answers this without reading a record.
    tally.live = Counter(
        dict(
            db.execute(
                "SELECT kind, count(*) FROM records WHERE envoy_id = ? AND deleted = 0 "
                "GROUP BY kind",
                [envoy_id],
            ).fetchall()
        )
    )
    # Not those taken back as live (the server's version came back with the refusal).
    tally.refused = Counter(
        dict(
            db.execute(
                "SELECT o.kind, count(DISTINCT o.id) FROM outbox o WHERE o.state = ? "
                "AND o.is_create = 1 AND NOT EXISTS (SELECT 1 FROM records r WHERE "
                "r.kind = o.kind AND r.id = o.id AND r.deleted = 0) GROUP BY o.kind",
                [REJECTED],
            ).fetchall()
        )
    )


def _count_precisely(store: FieldStore, tally: Tally, envoy_id: str) -> None:
    """New and gone record by record, when some unsent change deletes or restores a record.

    A record whose create is unsent is new if it is live here. Otherwise the server holds the
    record as it was before the first unsent change touching `deleted` (live if that change
    deletes it) and the device as it is now: live there and deleted here is gone, the other
    way round new. Each stops counting when its last such change is sent.
    """
    tally.new.clear()
    tally.gone.clear()
    tally.clears = {}
    touched: dict[tuple[str, str], dict[str, Any]] = {}
    rows = store.db.conn.execute(
        "SELECT o.seq, o.kind, o.id, o.is_create, instr(o.fields, ?) > 0, "
        "instr(o.fields, '\"deleted\":true') > 0, r.deleted, r.envoy_id FROM outbox o "
        "LEFT JOIN records r ON r.kind = o.kind AND r.id = o.id WHERE o.state = ? "
        "AND (o.is_create = 1 OR instr(o.fields, ?) > 0) ORDER BY o.seq",
        [_SETS_DELETED, PENDING, _SETS_DELETED],
    )
    for seq, kind, record_id, is_create, sets, deletes, deleted, owner in rows:
        if owner != envoy_id:
            continue
        seen = touched.setdefault(
            (kind, record_id),
            {"create": None, "first_deletes": None, "last": seq, "live": deleted == 0},
        )
        if is_create and seen["create"] is None:
            seen["create"] = seq
        if sets:
            if seen["first_deletes"] is None:
                seen["first_deletes"] = bool(deletes)
            seen["last"] = seq
    for (kind, _record_id), seen in touched.items():
        if seen["create"] is not None:
            if seen["live"]:
                tally.new[kind] += 1
                tally.clears[seen["create"]] = (kind, "new")
            continue
        was_live = bool(seen["first_deletes"])
        if was_live and not seen["live"]:
            tally.gone[kind] += 1
            tally.clears[seen["last"]] = (kind, "gone")
        elif not was_live and seen["live"]:
            tally.new[kind] += 1
            tally.clears[seen["last"]] = (kind, "new")
