"""Held changes: those naming a record not yet arrived, kept (within limits) and applied when it
arrives; expired after the tombstone retention; listed and dropped by staff."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from server.accounts import audit
from server.store import dialect
from server.store.db import write_transaction
from server.store.sql_text import in_chunks
from server.sync import refusals
from server.sync.apply import apply_change
from server.sync.batch import Batch
from server.sync.county_scope import known_links
from server.sync.device import Device
from server.sync.errors import Held
from server.sync.idempotency import update_answer
from server.sync.prepare import Prepared
from shared import protocol as p
from shared.clock import to_iso, utc_now

if TYPE_CHECKING:
    from server.accounts.users import User

# Kinds whose arrival can release a held change: what check-ins, hand-outs and observations
# name, the events corrections name, and the plot observation a photo shows.
WAITED_FOR = (
    p.SESSION,
    p.FARMER,
    p.PLOT,
    p.LEAFLET_RECEIPT,
    p.LEAFLET_HANDOUT,
    p.PLOT_OBSERVATION,
)

# The audit entry of a drop lists this many of the changes dropped (and counts them all).
HELD_LOGGED = 100
DROPPED = "科技局已删除这条暂存的变更 / the bureau dropped this held change"


def held_usage(db: Database, device_id: str) -> tuple[int, int]:
    """How many changes the server holds for a device, and their bytes: what its limits count."""
    count, used = db.execute(
        f"SELECT count(*), coalesce(sum({dialect.byte_length(dialect.engine_of(db), 'change')}), 0) "
        "FROM held_changes WHERE device_id = ?",
        [device_id],
    ).fetchone()
    return int(count), int(used)


def hold_new(batch: Batch, device: Device, change: dict[str, Any], waiting: Held) -> dict[str, Any]:
    """Hold a change, or refuse it when the device already has its limit held; its answer."""
    text = json.dumps(change, ensure_ascii=False)
    size = len(text.encode())
    if batch.held_usage is None:
        batch.held_usage = list(held_usage(batch.db, device.id))
    count, used = batch.held_usage
    limits = batch.held_limits
    if count + 1 > limits.changes or used + size > limits.bytes:
        reason = (
            f"服务器上已有本设备 {count} 条变更在等待尚未到达的记录（上限 {limits.changes} 条、"
            f"{limits.bytes // 1024} KB），这条不再暂存：请先同步它们引用的培训、农户或示范田，"
            f"或请科技局清理暂存 / {count} changes of this device already wait on the server for "
            f"records that have not arrived (limit {limits.changes} changes, "
            f"{limits.bytes // 1024} KB), so this one is not held: sync the sessions, farmers or "
            "plots they name first, or ask the bureau to clear them"
        )
        return {"q": change["q"], "s": p.REJECTED, "r": reason}
    _store(batch.db, device, change, text, waiting)
    batch.held_usage = [count + 1, used + size]
    return {"q": change["q"], "s": p.HELD}


def hold(db: Database, device: Device, change: dict[str, Any], waiting: Held) -> None:
    """Keep (or keep again, now waiting for another record) a change already held."""
    _store(db, device, change, json.dumps(change, ensure_ascii=False), waiting)


def _store(db: Database, device: Device, change: dict[str, Any], text: str, waiting: Held) -> None:
    db.table("held_changes").insert(
        {
            "device_id": device.id,
            "seq": change["q"],
            "envoy_id": device.envoy_id,
            "change": text,
            "waiting_kind": waiting.kind,
            "waiting_id": waiting.record_id,
            "held_at": to_iso(utc_now()),
        },
        replace=True,
    )


def release_held(batch: Batch) -> None:
    """Apply held changes whose missing record has now arrived, until nothing more moves."""
    while True:
        arrived = [rid for kind in WAITED_FOR for rid in batch.dirty.get(kind, {})]
        if not arrived:
            return
        held = []
        for chunk, marks in in_chunks(arrived):
            held += list(
                batch.db.query(f"SELECT * FROM held_changes WHERE waiting_id IN ({marks})", chunk)
            )
        if not held:
            return
        progressed = False
        for row in held:
            # Applied as the device that sent it, whichever device's push let it through.
            county = known_links(batch).get(row["device_id"], "")
            device = Device(row["device_id"], row["envoy_id"] or "", (), county_code=county)
            change = json.loads(row["change"])
            try:
                result = apply_change(batch, device, Prepared(change))
            except Held as waiting:
                if waiting.record_id == row["waiting_id"]:
                    continue
                hold(batch.db, device, change, waiting)
                progressed = True
                continue
            batch.db.execute(
                "DELETE FROM held_changes WHERE device_id = ? AND seq = ?",
                [row["device_id"], row["seq"]],
            )
            update_answer(batch.db, row["device_id"], row["seq"], result["s"], result.get("r"))
            if result["s"] == p.REJECTED:
                refused = Prepared(change).record_id
                refusals.record(
                    batch.db,
                    [
                        refusals.of_change(
                            device.id,
                            device.envoy_id,
                            change,
                            refused,
                            result["r"],
                            result.get("e"),
                        )
                    ],
                )
            progressed = True
        if not progressed:
            return
        # Only records made by released changes can release more.
        released_kinds = {json.loads(r["change"]).get("k") for r in held}
        if not released_kinds & set(WAITED_FOR):
            return


def list_held(db: Database) -> list[dict[str, Any]]:
    """Every held change, oldest first: its id for `held drop`, whose, and what it waits for."""
    engine = dialect.engine_of(db)
    row = dialect.rowid(engine, "h")
    return list(
        db.query(
            f"SELECT {row} AS id, h.held_at, e.name AS envoy, h.device_id, h.seq, "
            f"h.waiting_kind, h.waiting_id, {dialect.byte_length(engine, 'h.change')} AS bytes "
            f"FROM held_changes h LEFT JOIN envoys e ON e.id = h.envoy_id ORDER BY h.held_at, {row}"
        )
    )


def drop_held(
    db: Database,
    ids: list[int] | None = None,
    device_id: str | None = None,
    by: User | str = audit.SYSTEM,
) -> int:
    """Drop held changes by id (as `list_held` shows) or all of one device; how many went.

    A dropped change is answered `rejected` from then on, should its device send it again.
    Audited as done `by` (one entry listing what was dropped) when anything went.
    """
    where, params = _selection(ids, device_id)
    target = ("device", device_id) if device_id is not None else ("held", _id_list(ids))
    return _drop(db, where, params, DROPPED, (by, *target))


def expire_held(db: Database, days: int) -> int:
    """Drop held changes older than `days` (the tombstone retention); how many went."""
    cutoff = to_iso(utc_now() - timedelta(days=days))
    reason = (
        f"等待超过 {days} 天，所等的记录始终未到，已过期 / "
        f"held for more than {days} days without the record it names arriving: expired"
    )
    return _drop(db, "held_at < ?", [cutoff], reason)


def _selection(ids: list[int] | None, device_id: str | None) -> tuple[str, list[Any]]:
    if device_id is not None:
        return "device_id = ?", [device_id]
    wanted = list(ids or [])
    return f"rowid IN ({','.join('?' * len(wanted)) or 'NULL'})", wanted


def _id_list(ids: list[int] | None) -> str:
    return ",".join(str(number) for number in ids or [])


def _drop(
    db: Database,
    where: str,
    params: list[Any],
    reason: str,
    audited: tuple[User | str, str, str | None] | None = None,
) -> int:
    with write_transaction(db):
        held = db.execute(
            f"SELECT device_id, seq, envoy_id, change, waiting_kind, waiting_id "
            f"FROM held_changes WHERE {where}",
            params,
        ).fetchall()
        rows = [(row[0], row[1]) for row in held]
        for device_id, seq in rows:
            update_answer(db, device_id, seq, p.REJECTED, reason)
        refused = []
        for device_id, _seq, envoy_id, text, _kind, _waiting in held:
            change = json.loads(text)
            record_id = Prepared(change).record_id
            refused.append(refusals.of_change(device_id, envoy_id, change, record_id, reason))
        refusals.record(db, refused)
        db.conn.executemany("DELETE FROM held_changes WHERE device_id = ? AND seq = ?", rows)
        if audited is not None and rows:
            by, target_kind, target_id = audited
            logged = [
                {"device_id": row[0], "seq": row[1], "waiting_for": f"{row[4]} {row[5]}"}
                for row in held[:HELD_LOGGED]
            ]
            audit.record(
                db,
                by,
                audit.HELD_DROP,
                target_kind,
                target_id,
                {"held": logged, "count": len(rows)},
                {"count": 0},
            )
    return len(rows)
