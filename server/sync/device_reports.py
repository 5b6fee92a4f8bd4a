"""The latest report each device sent with a sync (what it holds, shared/device_report.py):
kept on its devices row, written only when it differs from the last one written."""

from __future__ import annotations

import json
import threading

from sqlite_utils import Database

from shared.clock import to_iso, utc_now
from shared.device_report import PARTS, DeviceReport, KindCounts

# Device id -> the report text last written by this process. A pull that brings nothing
# carries the same report as the one before, and must stay read-only (see record_contact).
_written: dict[str, str] = {}
_lock = threading.Lock()


def record_report(db: Database, device_id: str, report: DeviceReport, text: str) -> bool:
    """Keep a device's latest report (committed at once) unless it is the one this process
    last wrote for it; True when written."""
    with _lock:
        if _written.get(device_id) == text:
            return False
    db.execute(
        "UPDATE devices SET outbox_waiting = ?, device_report = ?, reported_at = ? WHERE id = ?",
        [report.waiting, json.dumps(report.as_dict()), to_iso(utc_now()), device_id],
    )
    db.conn.commit()
    with _lock:
        _written[device_id] = text
    return True


def latest_report(raw: str | None) -> DeviceReport | None:
    """A device's stored report (devices.device_report), or None if it never sent one."""
    if not raw:
        return None
    stored = json.loads(raw)
    kinds = {
        kind: KindCounts(*(int(numbers.get(part, 0)) for part in PARTS))
        for kind, numbers in stored.get("kinds", {}).items()
    }
    return DeviceReport(int(stored.get("cursor", 0)), kinds)
