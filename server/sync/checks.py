"""Checks a change passes before it is merged: envelope, stamp, owner, catalogue, references."""

from __future__ import annotations

from typing import Any

from server.media.photos import photo_subject
from server.sync.batch import Batch
from server.sync.device import Device
from server.sync.errors import Held, Rejected
from server.sync.prepare import Prepared
from shared import protocol as p
from shared.clock import parse_stamp
from shared.corrections import CORRECTED_KINDS, InvalidCorrection
from shared.corrections import check_correction as correction_rule
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
    if kind in p.REFERENCE_KINDS or kind in p.ENVOY_ONLY_KINDS:
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
    if kind == p.PHOTO:
        subject = photo_subject(values, current)
        if subject is not None and not batch.exists(*subject):
            raise Held(*subject)


def check_photo_subject(
    batch: Batch, device: Device, values: dict[str, Any], current: dict[str, Any] | None
) -> None:
    """A photo goes only on a session this envoy leads or co-runs, or on their own plot
    observation, when it is made and whenever an edit names its subject again: evidence of
    another envoy's work cannot be added from this device."""
    if current is not None and "subject_kind" not in values and "subject_id" not in values:
        return
    subject = photo_subject(values, current)
    if subject is None:
        return
    target, subject_id = subject
    me = device.envoy_id
    if target == p.SESSION and me not in batch.session_envoys(subject_id):
        raise Rejected(
            "只能为本人主持或协办的培训添加照片 / photos go only on sessions this envoy leads "
            "or co-runs",
            {"subject_id": "不是本人的培训 / not this envoy's session"},
        )
    if target == p.PLOT_OBSERVATION:
        observation = batch.loaded(p.PLOT_OBSERVATION, subject_id) or {}
        if observation.get("envoy_id") != me:
            raise Rejected(
                "只能为本人的田间观测添加照片 / photos go only on this envoy's own plot observations",
                {"subject_id": "不是本人的观测 / not this envoy's observation"},
            )


def check_new_in_parent(batch: Batch, device: Device, kind: str, values: dict[str, Any]) -> None:
    """A new check-in or hand-out goes only into a session this envoy leads or co-runs, a new
    observation only onto this envoy's own plot: a device cannot add to another envoy's figures."""
    me = device.envoy_id
    if kind in (p.ATTENDANCE, p.LEAFLET_HANDOUT):
        session_id = values.get("session_id")
        if session_id and me not in batch.session_envoys(session_id):
            raise Rejected(
                "只能在本人主持或协办的培训中签到或发放资料 / "
                "check-ins and hand-outs go only into sessions this envoy leads or co-runs",
                {"session_id": "不是本人的培训 / not this envoy's session"},
            )
    elif kind == p.PLOT_OBSERVATION:
        plot = batch.loaded(p.PLOT, values.get("plot_id") or "")
        if plot is None or plot.get("envoy_id") != me:
            raise Rejected(
                "只能观测本人的示范田 / observations go only onto this envoy's own plots",
                {"plot_id": "不是本人的示范田 / not this envoy's plot"},
            )


def check_correction(
    batch: Batch, device: Device, kind: str, record_id: str, values: dict[str, Any]
) -> None:
    """A correction names an original event of the same kind, envoy, title and place, and never
    takes it below zero (shared/corrections.py, the device's rule too); one that arrives before
    its event waits for it."""
    target_id = values.get("correction_of")
    if kind not in CORRECTED_KINDS or not target_id:
        return
    original = batch.loaded(kind, target_id)
    if original is None:
        other = next(k for k in CORRECTED_KINDS if k != kind)
        if batch.loaded(other, target_id) is not None:
            raise Rejected(
                f"correction_of: 只能更正同类记录 / a {kind} can only correct a {kind}, not a {other}",
                {"correction_of": f"是{other} / names a {other}"},
            )
        raise Held(kind, target_id)
    correction = {**values, "id": record_id, "envoy_id": device.envoy_id}
    try:
        correction_rule(kind, correction, original, batch.corrections_of(kind, target_id))
    except InvalidCorrection as exc:
        raise Rejected(exc.message, exc.errors) from exc
