"""The rule for corrections of leaflet receipts and hand-outs, checked alike on device and server.

A correction is a new event with `correction_of` set (its copies may be negative). It must name
an existing, uncorrected-original event of the same kind, envoy and leaflet title, at the same
session or village (hand-outs), and the event plus all its corrections never total below zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from shared import protocol as p
from shared.errors import TianjianError

CORRECTED_KINDS: Final = (p.LEAFLET_RECEIPT, p.LEAFLET_HANDOUT)
# What a correction must share with the event it corrects, by kind.
SAME_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    p.LEAFLET_RECEIPT: ("envoy_id", "leaflet_title_id"),
    p.LEAFLET_HANDOUT: ("envoy_id", "leaflet_title_id", "session_id", "unit_code"),
}
_FIELD_NAMES: Final[Mapping[str, str]] = {
    "envoy_id": "特派员 / envoy",
    "leaflet_title_id": "资料名称 / leaflet title",
    "session_id": "培训场次 / session",
    "unit_code": "村 / village",
}


class InvalidCorrection(TianjianError, ValueError):
    """A correction that corrects nothing it may, or takes a total below zero."""

    status = 422


class CorrectedEventMissing(InvalidCorrection):
    """The event a correction names is not known here (a server may hold the correction)."""


def check_correction(
    kind: str,
    correction: Mapping[str, Any],
    original: Mapping[str, Any] | None,
    earlier_corrections: Iterable[Mapping[str, Any]],
) -> None:
    """Raise InvalidCorrection unless `correction` may correct `original`.

    `correction` is the new event's fields (with `envoy_id`); `original` the stored event its
    `correction_of` names, or None when there is none; `earlier_corrections` the stored
    corrections of that event (deleted ones and the correction itself are skipped).
    A `correction` without `correction_of` passes: it is not a correction.
    """
    target = correction.get("correction_of")
    if not target:
        return
    if kind not in CORRECTED_KINDS:
        raise InvalidCorrection(
            f"{kind} 不能用 correction_of 更正 / {kind} has no corrections",
            {"correction_of": "not allowed"},
        )
    if original is None or original.get("deleted"):
        raise CorrectedEventMissing(
            f"correction_of: 要更正的记录不存在 / the event corrected does not exist: {target}",
            {"correction_of": "找不到原记录 / no such event"},
        )
    if original.get("correction_of"):
        raise InvalidCorrection(
            "correction_of: 请更正原始记录，而不是另一条更正 / "
            "correct the original event, not a correction of it",
            {"correction_of": "是一条更正 / is a correction"},
        )
    differing = [
        name
        for name in SAME_FIELDS[kind]
        if (correction.get(name) or None) != (original.get(name) or None)
    ]
    if differing:
        shown = "、".join(_FIELD_NAMES[name] for name in differing)
        raise InvalidCorrection(
            f"correction_of: 更正须与原记录相同（{shown}） / "
            f"a correction must match the event it corrects in: {', '.join(differing)}",
            {name: "与原记录不同 / differs from the event corrected" for name in differing},
        )
    total = _copies(original) + _copies(correction)
    total += sum(
        _copies(other)
        for other in earlier_corrections
        if not other.get("deleted") and other.get("id") != correction.get("id")
    )
    if total < 0:
        raise InvalidCorrection(
            f"copies: 更正后总数为 {total}，不能小于0 / "
            f"the event and its corrections would total {total}, below zero",
            {"copies": f"总数不能小于0 / total below zero ({total})"},
        )


def _copies(event: Mapping[str, Any]) -> int:
    value = event.get("copies")
    return value if isinstance(value, int) else 0
