"""The correction rule shared by device and server."""

from __future__ import annotations

from typing import Any

import pytest

from shared import protocol as p
from shared.corrections import CorrectedEventMissing, InvalidCorrection, check_correction

ENVOY = "e0e0e0e0-0000-4000-8000-000000000001"
OTHER = "e0e0e0e0-0000-4000-8000-000000000002"
TITLE = "77777777-0000-4000-8000-000000000001"
SESSION = "5e5e5e5e-0000-4000-8000-000000000001"
EVENT_ID = "aaaaaaaa-0000-4000-8000-000000000001"


def handout(copies: int, **extra: Any) -> dict[str, Any]:
    return {
        "envoy_id": ENVOY,
        "leaflet_title_id": TITLE,
        "session_id": SESSION,
        "unit_code": None,
        "copies": copies,
        **extra,
    }


ORIGINAL = handout(30, id=EVENT_ID)


def test_a_correction_within_the_total_passes() -> None:
    check_correction(p.LEAFLET_HANDOUT, handout(-30, correction_of=EVENT_ID), ORIGINAL, [])
    check_correction(p.LEAFLET_HANDOUT, handout(5, correction_of=EVENT_ID), ORIGINAL, [])


def test_not_a_correction_passes() -> None:
    check_correction(p.LEAFLET_HANDOUT, handout(30), None, [])


def test_a_correction_of_nothing_is_refused() -> None:
    with pytest.raises(CorrectedEventMissing) as caught:
        check_correction(p.LEAFLET_HANDOUT, handout(-5, correction_of=EVENT_ID), None, [])
    assert "correction_of" in caught.value.errors


def test_below_zero_with_earlier_corrections_is_refused() -> None:
    earlier = [handout(-20, id="b", correction_of=EVENT_ID)]
    with pytest.raises(InvalidCorrection) as caught:
        check_correction(p.LEAFLET_HANDOUT, handout(-11, correction_of=EVENT_ID), ORIGINAL, earlier)
    assert "copies" in caught.value.errors
    # A deleted earlier correction no longer counts.
    check_correction(
        p.LEAFLET_HANDOUT,
        handout(-11, correction_of=EVENT_ID),
        ORIGINAL,
        [{**earlier[0], "deleted": True}],
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("envoy_id", OTHER),
        ("leaflet_title_id", "x"),
        ("session_id", None),
        ("unit_code", "530102001001"),
    ],
)
def test_a_correction_must_match_the_event(field: str, value: Any) -> None:
    with pytest.raises(InvalidCorrection) as caught:
        check_correction(
            p.LEAFLET_HANDOUT, handout(-1, correction_of=EVENT_ID, **{field: value}), ORIGINAL, []
        )
    assert field in caught.value.errors


def test_a_correction_of_a_correction_or_of_another_kind_is_refused() -> None:
    with pytest.raises(InvalidCorrection):
        check_correction(
            p.LEAFLET_HANDOUT,
            handout(-1, correction_of="b"),
            handout(-5, id="b", correction_of=EVENT_ID),
            [],
        )
    with pytest.raises(InvalidCorrection):
        check_correction(p.PLOT, {"correction_of": EVENT_ID}, ORIGINAL, [])


def test_receipts_need_only_envoy_and_title() -> None:
    receipt = {"envoy_id": ENVOY, "leaflet_title_id": TITLE, "copies": 500, "id": EVENT_ID}
    fix = {"envoy_id": ENVOY, "leaflet_title_id": TITLE, "copies": -100, "correction_of": EVENT_ID}
    check_correction(p.LEAFLET_RECEIPT, fix, receipt, [])
