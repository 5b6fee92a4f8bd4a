"""Merging one change into the record the server holds, and answering it."""

from __future__ import annotations

import json
from typing import Any

from server.store.records import data_of
from server.sync.batch import Batch
from server.sync.checks import (
    check_catalogue,
    check_correction,
    check_new_in_parent,
    check_owner,
    check_photo_subject,
    check_references,
    checked_envelope,
    checked_stamp,
)
from server.sync.county_scope import check_county_scope
from server.sync.device import Device
from server.sync.device_view import mobile_key, refusal_version
from server.sync.errors import Rejected
from server.sync.prepare import Prepared
from shared import protocol as p
from shared.clock import to_iso, utc_now
from shared.errors import InvalidRecord
from shared.merge import STAMPS, merge, stamped_change, with_derived_meta
from shared.schemas.field import data_fields, load_defaults, validate_record


def apply_change(batch: Batch, device: Device, prepared: Prepared) -> dict[str, Any]:
    """Apply one change and answer it; a change whose target has not arrived raises Held."""
    change = prepared.change
    seq = change["q"]
    try:
        kind, record_id, values, trusted = checked_envelope(prepared)
        stamp = checked_stamp(batch, device, change)
        return {
            "q": seq,
            **_apply(batch, device, kind, record_id, values, stamp, change.get("b"), trusted),
        }
    except Rejected as exc:
        answer: dict[str, Any] = {"q": seq, "s": p.REJECTED, "r": exc.reason}
        if exc.errors:
            answer["e"] = exc.errors
        version = _version_for(batch, device, prepared)
        if version is not None:
            # The device drops its refused edit and takes the server's version back.
            answer["x"] = version
        return answer


def _version_for(batch: Batch, device: Device, prepared: Prepared) -> dict[str, Any] | None:
    """The server's version of a refused change's record, if the device could pull it anyway."""
    kind = prepared.change.get("k")
    record_id = prepared.record_id
    if kind not in p.FIELD_KINDS or not isinstance(record_id, str):
        return None
    current = batch.state(kind, record_id)
    if current is None:
        return None
    return refusal_version(
        device, kind, current, batch.township_of(kind, current), mobile_key(batch.db)
    )


def _apply(
    batch: Batch,
    device: Device,
    kind: str,
    record_id: str,
    values: dict[str, Any],
    stamp_info: tuple[str, bool],
    base: str | None,
    trusted: bool = False,
) -> dict[str, Any]:
    stamp, clamped = stamp_info
    current = batch.state(kind, record_id)
    if current is not None and kind in p.APPEND_ONLY_KINDS:
        raise Rejected(
            "此类记录只能追加，更正请新建一条 / append-only: record a correction as a new event"
        )
    # First, so a county's copy refused to anyone else says why whoever it is.
    check_county_scope(batch, device, kind, current, values)
    # A county's link sends what its county already held each envoy to (whose session, whose
    # plot): the province holds the link to its county and its own copies instead, above.
    link = bool(device.county_code)
    if not link:
        check_owner(batch, device, kind, current, values)
    check_catalogue(batch, kind, values)
    check_references(batch, kind, values, current)
    if kind == p.PHOTO:
        check_photo_subject(batch, device, values, current)
    if current is None:
        if not link:
            check_new_in_parent(batch, device, kind, values)
        check_correction(batch, device, kind, record_id, values)
    incoming = stamped_change(values, stamp)
    if kind == p.ATTENDANCE:
        incoming["seen_by"] = [device.id]
        incoming[STAMPS]["seen_by"] = stamp
    result = merge(kind, current, incoming, base)
    state = result.state
    if current is None:
        state.update({"id": record_id, "envoy_id": device.envoy_id, "device_id": device.id})
    with_derived_meta(state)
    if trusted and current is None:
        # Canonical fields of a new record load as sent: the schema would add only defaults.
        clean = load_defaults(kind)
    else:
        try:
            clean = validate_record(kind, data_of(kind, state))
        except InvalidRecord as exc:
            raise Rejected(
                f"{kind} {record_id}: 记录不完整或无效 / incomplete or invalid record", exc.errors
            ) from exc
    if current is None:
        # Store the schema's defaults for fields a create left out: a NULL in a field that may
        # not be null would make every later edit of the record fail validation.
        for name in data_fields(kind):
            if name not in state and name in clean:
                state[name] = clean[name]
                state[STAMPS][name] = stamp
    batch.states.setdefault(kind, {})[record_id] = state
    if result.changed or current is None:
        origin = device.id if current is None and not clamped else None
        previous = batch.dirty.setdefault(kind, {}).get(record_id, origin)
        batch.dirty[kind][record_id] = origin if previous == origin else None
    for conflict in result.conflicts:
        batch.conflicts.append(
            {
                "kind": kind,
                "record_id": record_id,
                "field": conflict.field,
                "winning_value": json.dumps(conflict.winning_value, ensure_ascii=False),
                "winning_stamp": conflict.winning_stamp,
                "losing_value": json.dumps(conflict.losing_value, ensure_ascii=False),
                "losing_stamp": conflict.losing_stamp,
                "device_id": device.id,
                "recorded_at": to_iso(utc_now()),
            }
        )
    if kind == p.FARMER and current is None:
        batch.new_farmers.append(record_id)
    if current is None and state.get("correction_of") in batch.corrections:
        batch.corrections[state["correction_of"]].append(state)
    if current is None:
        return {"s": p.APPLIED}
    if result.conflicts or kind == p.ATTENDANCE:
        answer: dict[str, Any] = {"s": p.MERGED}
        if result.conflicts:
            answer["c"] = [c.field for c in result.conflicts]
        return answer
    return {"s": p.APPLIED}
