"""Held changes: those naming a record not yet arrived, kept and applied when it arrives."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from server.db import in_chunks
from server.devices import Device
from server.sync.apply import apply_change
from server.sync.batch import Batch
from server.sync.errors import Held
from server.sync.ledger import update_answer
from server.sync.prepare import Prepared
from shared import protocol as p
from shared.clock import to_iso, utc_now


def hold(db: Database, device: Device, change: dict[str, Any], waiting: Held) -> None:
    db.table("held_changes").insert(
        {
            "device_id": device.id,
            "seq": change["q"],
            "envoy_id": device.envoy_id,
            "change": json.dumps(change, ensure_ascii=False),
            "waiting_kind": waiting.kind,
            "waiting_id": waiting.record_id,
            "held_at": to_iso(utc_now()),
        },
        replace=True,
    )


def release_held(batch: Batch) -> None:
    """Apply held changes whose missing record has now arrived, until nothing more moves."""
    while True:
        arrived = [
            rid for kind in (p.SESSION, p.FARMER, p.PLOT) for rid in batch.dirty.get(kind, {})
        ]
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
            device = Device(row["device_id"], row["envoy_id"], ())
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
            progressed = True
        if not progressed:
            return
        # Only records made by released changes can release more.
        released_kinds = {json.loads(r["change"]).get("k") for r in held}
        if not released_kinds & {p.SESSION, p.FARMER, p.PLOT}:
            return
