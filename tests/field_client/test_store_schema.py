"""The device keeps each record as its schema describes it: no field more, none fewer."""

from __future__ import annotations

from pathlib import Path

from field_client.store import FieldStore
from shared import protocol as p
from shared.ids import attendance_id
from shared.merge import STAMPS
from shared.schemas.field import FIELD_SCHEMAS
from tests.field_client.test_store import ENVOY, TITLE, VILLAGE, FakeWall, enrol

AT = "2026-05-28T02:00:00Z"


def test_every_field_kind_is_stored_with_exactly_its_schema_fields(tmp_path: Path) -> None:
    store = FieldStore(str(tmp_path / "field.db"), device_clock=FakeWall(1_780_000_000_000))
    enrol(store)
    try:
        farmer = store.create(p.FARMER, {"name": "王芳", "village_code": VILLAGE})
        session = store.create(
            p.SESSION,
            {
                "kind": "village_training",
                "title": "培训",
                "unit_code": VILLAGE,
                "starts_at": AT,
                "lead_envoy_id": ENVOY,
            },
        )
        plot = store.create(
            p.PLOT,
            {
                "village_code": VILLAGE,
                "host_name": "李四",
                "crop": "马铃薯",
                "area_mu": 5,
                "established_on": "2026-05-28",
            },
        )
        made = {
            p.FARMER: farmer,
            p.SESSION: session,
            p.PLOT: plot,
            p.ATTENDANCE: store.create(
                p.ATTENDANCE,
                {
                    "session_id": session,
                    "farmer_id": farmer,
                    "checked_in_at": AT,
                    "method": "qr_self",
                    # Optional, without a default: stored when a phone made the check-in
                    # (its cookie's hash, its address's hash, and whether the code was typed).
                    "phone": "0123456789abcdef",
                    "net": "fedcba9876543210",
                    "typed_code": True,
                },
                attendance_id(session, farmer),
            ),
            p.LEAFLET_RECEIPT: store.create(
                p.LEAFLET_RECEIPT,
                {"leaflet_title_id": TITLE, "copies": 100, "received_on": "2026-05-28"},
            ),
            p.LEAFLET_HANDOUT: store.create(
                p.LEAFLET_HANDOUT,
                {
                    "leaflet_title_id": TITLE,
                    "copies": 10,
                    "session_id": session,
                    "handed_out_at": AT,
                },
            ),
            p.PLOT_OBSERVATION: store.create(
                p.PLOT_OBSERVATION,
                {"plot_id": plot, "observed_on": "2026-05-28", "stage": "sowing"},
            ),
            p.PHOTO: store.create(
                p.PHOTO,
                {
                    "subject_kind": "session",
                    "subject_id": session,
                    "photo_kind": "site",
                    "sha256": "0" * 64,
                    "size_bytes": 200_000,
                    "width": 1600,
                    "height": 1200,
                    "recorded_at": AT,
                },
            ),
        }
        assert set(made) == set(p.FIELD_KINDS)
        for kind, record_id in made.items():
            stored = store.record(kind, record_id)
            assert stored is not None
            assert set(stored) - {STAMPS} == set(FIELD_SCHEMAS[kind]().fields), kind
    finally:
        store.close()
