"""Preparing pushed changes: which are plain new check-ins, their ids, and each change's hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from shared import protocol as p
from shared.ids import attendance_id, attendance_id_and_digest
from shared.schemas.field import is_canonical_checkin

_canonical_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
_SEPARATOR = "\x1f"
_UNSET = object()


@dataclass(slots=True, eq=False)
class Prepared:
    """A change as sent, with what the server worked out about it once."""

    change: dict[str, Any]
    # 8 bytes of what the change said: tells a resent change from a reused number.
    digest: bytes = b""
    # A well-formed new check-in: it may take the bulk path.
    checkin: bool = False
    # A check-in's id derived from its session and farmer (None for other kinds).
    _derived: Any = field(default=_UNSET)

    @property
    def seq(self) -> int:
        return int(self.change["q"])

    @property
    def derived_id(self) -> str | None:
        """A check-in's id from its session and farmer, worked out once per change."""
        if self._derived is _UNSET:
            change = self.change
            values = change.get("f") or {}
            derived = None
            if (
                change.get("k") == p.ATTENDANCE
                and isinstance(values, dict)
                and values.get("session_id")
                and values.get("farmer_id")
            ):
                derived = attendance_id(str(values["session_id"]), str(values["farmer_id"]))
            self._derived = derived
        return self._derived  # type: ignore[no-any-return]

    @property
    def checkin_id(self) -> str:
        """The id of a change prepare_change marked as a new check-in (worked out there)."""
        return self._derived  # type: ignore[no-any-return]

    @property
    def record_id(self) -> Any:
        """The id the change names, or a check-in's derived id."""
        return self.change.get("i") or self.derived_id


def prepare_change(change: dict[str, Any]) -> Prepared:
    """Mark a well-formed new check-in and work out its id and the change's hash."""
    values = change["f"]
    short = change["h"]
    if (
        change["k"] == p.ATTENDANCE
        and not change.get("i")
        and not change.get("b")
        and type(values) is dict
        and is_canonical_checkin(values)
        and _is_short_stamp(short)
    ):
        # Most of a big push: the id and the hash come from one SHA-1 of the parts.
        rest = f"{_SEPARATOR}{short}{_SEPARATOR}{values['checked_in_at']}{_SEPARATOR}{values['method']}"
        if "phone" in values:
            # Only when sent: a check-in without one keeps the hash it always had.
            rest += f"{_SEPARATOR}{values['phone']}"
        record_id, digest = attendance_id_and_digest(
            values["session_id"], values["farmer_id"], rest
        )
        return Prepared(change, digest, True, record_id)
    body = _canonical_json([change["k"], change.get("i"), short, change.get("b"), values])
    return Prepared(change, hashlib.blake2b(body.encode(), digest_size=8).digest())


def _is_short_stamp(short: str) -> bool:
    """PPPPPPPPPPPPP.CCCCC: a stamp as a device sends it, without its device part."""
    return short[13:14] == "." and short.isascii() and short.replace(".", "", 1).isdigit()
