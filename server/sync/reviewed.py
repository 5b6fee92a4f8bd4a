"""Returned records a push corrects: an edit of the record, or a new event naming it in
correction_of, from its envoy's device turns the record's review to 已更正待复核 (corrected)."""

from __future__ import annotations

from sqlite_utils import Database

from server.quality import reviews
from server.sync.batch import Batch
from shared import protocol as p
from shared import review_status as rs


def returned_corrected(batch: Batch) -> list[tuple[str, str]]:
    """(kind, id) of this envoy's returned records that the push changed or corrected.

    One indexed query per push that changed anything, and nothing more unless the envoy has
    records returned to them: a push of check-ins only (kept in quick rows) asks nothing.
    """
    if not any(batch.dirty.values()):
        return []
    returned = batch.db.execute(
        "SELECT record_kind, record_id FROM reviews WHERE envoy_id = ? AND status = ?",
        [batch.device.envoy_id, rs.RETURNED],
    ).fetchall()
    if not returned:
        return []
    # The events this push recorded as corrections, by the event each corrects.
    corrected_events = {
        state["correction_of"]
        for kind in p.APPEND_ONLY_KINDS
        for record_id in batch.dirty.get(kind, {})
        if (state := batch.states[kind][record_id]).get("correction_of")
    }
    return [
        (kind, record_id)
        for kind, record_id in returned
        if record_id in batch.dirty.get(kind, {})
        or (kind in p.APPEND_ONLY_KINDS and record_id in corrected_events)
    ]


def mark_corrected(db: Database, device_id: str, records: list[tuple[str, str]]) -> None:
    """Set each record's review to corrected with a new server_seq (so it flows down to the
    envoy's devices) and audit it as done by the device, inside the push's transaction."""
    if not records:
        return
    row = db.execute("SELECT name FROM devices WHERE id = ?", [device_id]).fetchone()
    by = f"特派员设备 {row[0] if row and row[0] else device_id}"
    for kind, record_id in records:
        reviews.mark_corrected(db, kind, record_id, by)
