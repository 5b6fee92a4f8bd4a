"""Serving pull pages: records changed after a device's cursor that it should hold."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from server.db import get_state
from server.devices import Device
from server.migrations import FIELD_TABLES
from server.records import row_to_state, table_of
from server.sync.errors import ResyncRequired
from shared import protocol as p


def pull_page(
    db: Database, device: Device, cursor: int, limit: int, include_own: bool
) -> dict[str, Any]:
    """One page of records changed after `cursor` that this device should hold."""
    db.execute("BEGIN")
    try:
        purged = int(get_state(db, "purged_seq") or 0)
        if 0 < cursor < purged:
            raise ResyncRequired()
        high = int(get_state(db, "seq") or 0)
        found: list[tuple[int, str, dict[str, Any]]] = []
        for kind in p.ALL_KINDS:
            for row in _changed_rows(db, device, kind, cursor, limit, include_own):
                found.append((row["server_seq"], kind, row))
        found.sort(key=lambda item: item[0])
        page = found[:limit]
        more = len(found) > limit
        records = [{"k": kind, "r": _wire_record(kind, row)} for _seq, kind, row in page]
        next_cursor = page[-1][0] if more else max(high, cursor)
        device_max = db.execute("SELECT max_seq FROM devices WHERE id = ?", [device.id]).fetchone()
        held = None if more else held_for(db, device)
    finally:
        db.execute("COMMIT")
    answer = {
        "records": records,
        "cursor": next_cursor,
        "more": more,
        "device_max_seq": (device_max[0] if device_max else 0) or 0,
    }
    if held is not None:
        answer["held"], answer["held_count"] = held
    return answer


def held_for(db: Database, device: Device) -> tuple[list[dict[str, Any]], int]:
    """The changes the server holds for this device (the first HELD_LISTED), and how many.

    Sent with a pull's last page, so the device can show what waits for a record not yet
    arrived: q its sequence number, k kind, i record id, w and wi the kind and id waited for,
    t when it was held.
    """
    count = db.execute(
        "SELECT count(*) FROM held_changes WHERE device_id = ?", [device.id]
    ).fetchone()[0]
    rows = db.execute(
        "SELECT seq, change, waiting_kind, waiting_id, held_at FROM held_changes "
        "WHERE device_id = ? ORDER BY seq LIMIT ?",
        [device.id, p.HELD_LISTED],
    ).fetchall()
    listed = []
    for seq, change, waiting_kind, waiting_id, held_at in rows:
        wire = json.loads(change)
        listed.append(
            {
                "q": seq,
                "k": wire.get("k"),
                "i": wire.get("i"),
                "w": waiting_kind,
                "wi": waiting_id,
                "t": held_at,
            }
        )
    return listed, count


def _changed_rows(
    db: Database, device: Device, kind: str, cursor: int, limit: int, include_own: bool
) -> list[dict[str, Any]]:
    table = table_of(kind)
    where = ["server_seq > ?"]
    params: list[Any] = [cursor]
    if table in FIELD_TABLES:
        scope = ["envoy_id = ?"]
        params.append(device.envoy_id)
        if device.township_codes:
            scope.append(f"township_code IN ({','.join('?' * len(device.township_codes))})")
            params.extend(device.township_codes)
        where.append(f"({' OR '.join(scope)})")
        if not include_own:
            where.append("(origin_device IS NULL OR origin_device != ?)")
            params.append(device.id)
    sql = f"SELECT * FROM [{table}] WHERE {' AND '.join(where)} ORDER BY server_seq LIMIT ?"
    return list(db.query(sql, [*params, limit + 1]))


def in_scope(device: Device, envoy_id: str | None, township_code: str | None) -> bool:
    """Whether a field record of this envoy and township reaches this device's pulls: the rule
    _changed_rows puts in SQL."""
    return envoy_id == device.envoy_id or (
        township_code is not None and township_code in device.township_codes
    )


def refusal_version(
    device: Device, kind: str, state: dict[str, Any], township_code: str | None
) -> dict[str, Any] | None:
    """The server's version of a record to send back with a refused change, as a pull would
    send it, or None when the device could not pull it: a refusal must not leak a record."""
    if not in_scope(device, state.get("envoy_id"), township_code):
        return None
    return dict(state)


def _wire_record(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    state = row_to_state(kind, row)
    if kind == p.ENVOY:
        # Envoys' phone numbers stay on the server.
        state.pop("mobile", None)
    return state
