"""Checks a change passes before it is merged: envelope, stamp, owner, catalogue, references."""

from __future__ import annotations

from typing import Any

from server.devices import Device
from server.sync.batch import Batch
from server.sync.errors import Held, Rejected
from server.sync.prepare import Prepared
from shared import protocol as p
from shared.clock import parse_stamp
from shared.errors import InvalidRecord
from shared.ids import attendance_id, is_uuid
from shared.schemas.field import is_canonical_farmer, validate_fields

# Which field of a kind points at which other field record: a change whose target has not
# arrived yet is held, not refused.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    p.ATTENDANCE: (("session_id", p.SESSION), ("farmer_id", p.FARMER)),
    p.LEAFLET_HANDOUT: (("session_id", p.SESSION),),
    p.PLOT_OBSERVATION: (("plot_id", p.PLOT),),
}
# Which field names reference data, which must already be known to the server.
CATALOGUE_REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    p.FARMER: (("village_code", p.UNIT),),
    p.SESSION: (("unit_code", p.UNIT), ("technology_ids", p.TECHNOLOGY)),
    p.LEAFLET_RECEIPT: (("leaflet_title_id", p.LEAFLET_TITLE),),
    p.LEAFLET_HANDOUT: (("leaflet_title_id", p.LEAFLET_TITLE), ("unit_code", p.UNIT)),
    p.PLOT: (("village_code", p.UNIT), ("variety_id", p.VARIETY), ("technology_ids", p.TECHNOLOGY)),
}


def checked_envelope(prepared: Prepared) -> tuple[str, str, dict[str, Any], bool]:
    """Kind, id and loaded fields of a change, and whether they were canonical as sent."""
    change = prepared.change
    kind = change.get("k")
    if kind in p.REFERENCE_KINDS:
        raise Rejected(f"参考数据只能由科技局修改 / {kind} is reference data: it flows down only")
    if kind not in p.FIELD_KINDS:
        raise Rejected(f"未知的记录类型 / unknown kind {kind!r}")
    values = change.get("f")
    if not isinstance(values, dict) or not values:
        raise Rejected("变更内容为空 / change has no fields", {"f": "required"})
    if prepared.checkin:
        return kind, prepared.derived_id or "", values, True
    record_id = prepared.record_id
    if not isinstance(record_id, str) or not is_uuid(record_id):
        raise Rejected("记录编号无效 / record id missing or not a UUID", {"i": "not a UUID"})
    if kind == p.FARMER and is_canonical_farmer(values):
        return kind, record_id, values, True
    try:
        values = validate_fields(kind, values)
    except InvalidRecord as exc:
        raise Rejected(f"{kind} {record_id}: 字段无效 / invalid fields", exc.errors) from exc
    if kind == p.ATTENDANCE and change.get("i") and values.get("session_id"):
        if attendance_id(values["session_id"], values.get("farmer_id", "")) != record_id:
            raise Rejected(
                "签到编号与场次、农户不符 / attendance id does not match its session and farmer"
            )
    return kind, record_id, values, False


def checked_stamp(batch: Batch, device: Device, change: dict[str, Any]) -> tuple[str, bool]:
    """The full stamp of a change, and whether the server had to replace a stamp from the future."""
    short = change.get("h")
    try:
        physical, counter = parse_stamp(f"{short}.x")
    except (ValueError, AttributeError, TypeError) as exc:
        raise Rejected(
            "时间戳无效 / bad clock stamp", {"h": "expected PPPPPPPPPPPPP.CCCCC"}
        ) from exc
    if physical > batch.now_ms + p.MAX_CLOCK_AHEAD_MS:
        # A device clock running ahead must not let its edits beat everyone else's for days.
        batch.observe_quick_stamps()
        return batch.hlc.now(), True
    stamp = f"{physical:013d}.{counter:05d}.{device.id}"
    batch.hlc.observe(stamp)
    return stamp, False


def check_owner(
    batch: Batch, device: Device, kind: str, current: dict[str, Any] | None, values: dict[str, Any]
) -> None:
    me = device.envoy_id
    if kind == p.SESSION:
        # Who may edit is decided by the session as stored, so an edit cannot name its own
        # sender lead and take over another envoy's session.
        session = current if current is not None else values
        if me != session.get("lead_envoy_id") and me not in (session.get("co_envoy_ids") or []):
            if current is None or current.get("envoy_id") != me:
                raise Rejected(
                    "只能记录本人主持或协办的培训 / a session must be led or co-run by this envoy"
                )
        return
    if current is None or current.get("envoy_id") == me:
        return
    if kind == p.ATTENDANCE:
        session = batch.loaded(p.SESSION, current["session_id"]) or {}
        if me in (
            session.get("lead_envoy_id"),
            session.get("envoy_id"),
            *(session.get("co_envoy_ids") or []),
        ):
            return
    raise Rejected("这条记录属于另一位特派员 / this record belongs to another envoy")


def check_catalogue(batch: Batch, kind: str, values: dict[str, Any]) -> None:
    errors: dict[str, object] = {}
    for name, target in CATALOGUE_REFERENCES.get(kind, ()):
        value = values.get(name)
        if value is None:
            continue
        wanted = value if isinstance(value, list) else [value]
        unknown = [v for v in wanted if v not in batch.catalogue_ids(target)]
        if unknown:
            errors[name] = f"服务器上没有 / not known to the server: {', '.join(unknown)}"
    if errors:
        raise Rejected(f"{kind}: 引用了未知的参考数据 / refers to unknown reference data", errors)


def check_references(
    batch: Batch, kind: str, values: dict[str, Any], current: dict[str, Any] | None
) -> None:
    for name, target in REFERENCES.get(kind, ()):
        value = values.get(name) or (current or {}).get(name)
        if not value:
            continue
        if target == p.FARMER and value in batch.states.get(p.FARMER_ALIAS, {}):
            continue
        if not batch.exists(target, value):
            raise Held(target, value)
