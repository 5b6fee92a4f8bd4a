"""What a device may see of a record, for a pull and for a refused change's answer alike: its
envoy's records and its townships', sessions its envoy runs, other envoys' farmers' mobiles
masked, and only the later-added fields it said it understands."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from server.store.db import get_state
from server.sync.device import Device
from shared import protocol as p
from shared.merge import STAMPS
from shared.mobile import mask_mobile, mobile_hash
from shared.schemas.field import ADDED_FIELDS

# The capability a device must announce to be sent each field added to a kind later.
FIELD_CAPABILITY = p.ADDED_FIELD_CAPABILITY


def in_scope(device: Device, envoy_id: str | None, township_code: str | None) -> bool:
    """Whether a field record of this envoy and township reaches this device's pulls: the rule
    pull.py `_changed_rows` puts in SQL, but for sessions run by the device's envoy (runs_session)."""
    return envoy_id == device.envoy_id or (
        township_code is not None and township_code in device.township_codes
    )


def runs_session(device: Device, session: dict[str, Any]) -> bool:
    """Whether this device's envoy leads or co-runs the session (then it is pulled anywhere)."""
    return device.envoy_id == session.get("lead_envoy_id") or device.envoy_id in (
        session.get("co_envoy_ids") or []
    )


def refusal_version(
    device: Device,
    kind: str,
    state: dict[str, Any],
    township_code: str | None,
    key: bytes | None = None,
) -> dict[str, Any] | None:
    """The server's version of a record to send back with a refused change, as a pull would
    send it (another envoy's farmer's mobile masked), or None when the device could not pull
    it: a refusal must not leak a record."""
    if not in_scope(device, state.get("envoy_id"), township_code) and not (
        kind == p.SESSION and runs_session(device, state)
    ):
        return None
    version = dict(state)
    if kind == p.FARMER:
        mask_for(device, version, key)
    return for_device(device, kind, version)


def for_device(device: Device, kind: str, state: dict[str, Any]) -> dict[str, Any]:
    """A state as this device may be sent it: without later-added fields it did not say it
    understands (an older device's schema would refuse them on its next edit of the record),
    and without those left empty (nothing to say, and bytes saved on every check-in)."""
    for name in ADDED_FIELDS.get(kind, ()):
        if name in state and (
            state[name] is None or FIELD_CAPABILITY[name] not in device.capabilities
        ):
            del state[name]
            if STAMPS in state:
                state[STAMPS] = {k: v for k, v in state[STAMPS].items() if k != name}
    return state


def mobile_key(db: Database) -> bytes:
    """The server's key of the hash beside masked mobiles (made by migration m006)."""
    return bytes.fromhex(get_state(db, "mobile_key") or "")


def mask_for(device: Device, farmer: dict[str, Any], key: bytes | None) -> bool:
    """Mask a farmer's mobile in place unless this device's envoy registered them; beside it,
    a short keyed hash a typed number can be checked against. True when it masked."""
    mobile = farmer.get("mobile")
    if not mobile or farmer.get("envoy_id") == device.envoy_id:
        return False
    farmer["mobile"] = mask_mobile(mobile)
    if key:
        farmer["mobile_hash"] = mobile_hash(key, farmer["id"], mobile)
    return True
