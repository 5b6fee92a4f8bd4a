"""marshmallow schemas: good records of every kind load, bad ones name the field and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from marshmallow import ValidationError

from shared import protocol as p
from shared.errors import InvalidRecord
from shared.schemas import (
    FIELD_SCHEMAS,
    REFERENCE_SCHEMAS,
    TargetSchema,
    TargetsFileSchema,
    UnitSchema,
    data_fields,
    validate_record,
)
from shared.schemas.field import META_FIELDS, validate_fields

DATA = Path(__file__).resolve().parents[1] / "data"
ENVOY = "e0e0e0e0-0000-4000-8000-000000000001"
DEVICE = "d0d0d0d0-0000-4000-8000-000000000001"
SESSION = "5e55e55e-0000-4000-8000-000000000001"
FARMER = "fa12fa12-0000-4000-8000-000000000001"
PLOT = "b1b1b1b1-0000-4000-8000-000000000001"
TITLE = "77777777-0000-4000-8000-000000000001"
TECH = "7ec07ec0-0000-4000-8000-000000000001"
VARIETY = "7a7a7a7a-0000-4000-8000-000000000001"
VILLAGE = "530102001001"


def meta(record_id: str = "00000000-0000-4000-8000-0000000000aa") -> dict[str, Any]:
    return {
        "id": record_id,
        "envoy_id": ENVOY,
        "device_id": DEVICE,
        "hlc": f"1780000000000.00000.{DEVICE}",
        "created_at": "2026-05-28T20:26:40Z",
        "updated_at": "2026-05-28T20:26:40Z",
    }


GOOD: dict[str, dict[str, Any]] = {
    p.FARMER: {"name": "王芳", "mobile": "138 0013 8000", "village_code": VILLAGE},
    p.SESSION: {
        "kind": "village_training",
        "title": "马铃薯晚疫病防治培训",
        "unit_code": VILLAGE,
        "starts_at": "2026-05-28T09:00:00+08:00",
        "ends_at": "2026-05-28T11:00:00+08:00",
        "lead_envoy_id": ENVOY,
        "technology_ids": [TECH],
    },
    p.ATTENDANCE: {
        "session_id": SESSION,
        "farmer_id": FARMER,
        "checked_in_at": "2026-05-28T01:05:00Z",
        "method": "qr_self",
    },
    p.LEAFLET_RECEIPT: {"leaflet_title_id": TITLE, "copies": 500, "received_on": "2026-05-20"},
    p.LEAFLET_HANDOUT: {
        "leaflet_title_id": TITLE,
        "copies": 40,
        "session_id": SESSION,
        "handed_out_at": "2026-05-28T02:00:00Z",
    },
    p.PLOT: {
        "village_code": VILLAGE,
        "host_name": "李家",
        "crop": "马铃薯",
        "variety_id": VARIETY,
        "area_mu": 12.5,
        "altitude_m": 2100,
        "target_yield_kg_per_mu": 650,
        "established_on": "2026-03-01",
    },
    p.PLOT_OBSERVATION: {
        "plot_id": PLOT,
        "observed_on": "2026-05-28",
        "stage": "seedling",
        "survival_rate": 92.5,
    },
    p.PHOTO: {
        "subject_kind": "session",
        "subject_id": SESSION,
        "photo_kind": "signin_sheet",
        "sha256": "ab" * 32,
        "size_bytes": 201_000,
        "width": 1600,
        "height": 1200,
        "taken_at": "2026-05-28T01:10:00Z",
        "recorded_at": "2026-05-28T01:12:00Z",
        "latitude": 25.04,
        "longitude": 102.71,
        "accuracy_m": 8.0,
    },
}


def good(kind: str, /, **changes: Any) -> dict[str, Any]:
    record = {**meta(), **GOOD[kind], **changes}
    return {k: v for k, v in record.items() if v is not ...}


def errors_of(kind: str, record: dict[str, Any]) -> dict[str, object]:
    with pytest.raises(InvalidRecord) as caught:
        validate_record(kind, record)
    assert caught.value.kind == kind
    return caught.value.errors


def test_every_field_kind_has_a_good_example() -> None:
    assert set(GOOD) == set(p.FIELD_KINDS) == set(FIELD_SCHEMAS)


@pytest.mark.parametrize("kind", p.FIELD_KINDS)
def test_every_field_kind_validates_a_good_record(kind: str) -> None:
    loaded = validate_record(kind, good(kind))
    assert loaded["id"] == meta()["id"]
    assert loaded["deleted"] is False
    for name in GOOD[kind]:
        assert name in loaded


@pytest.mark.parametrize("kind", p.FIELD_KINDS)
def test_every_field_kind_refuses_an_unknown_field_by_name(kind: str) -> None:
    errors = errors_of(kind, good(kind, favourite_colour="red"))
    assert "favourite_colour" in errors


@pytest.mark.parametrize("kind", p.FIELD_KINDS)
@pytest.mark.parametrize("missing", ["id", "envoy_id", "device_id", "hlc", "created_at"])
def test_sync_metadata_is_required(kind: str, missing: str) -> None:
    record = good(kind)
    del record[missing]
    assert missing in errors_of(kind, record)


@pytest.mark.parametrize("kind", p.FIELD_KINDS)
def test_data_fields_exclude_sync_metadata(kind: str) -> None:
    names = data_fields(kind)
    assert names
    assert not set(names) & set(META_FIELDS)
    assert set(GOOD[kind]) <= set(names)


# ------------------------------------------------------------------ farmers


def test_farmer_mobile_is_normalised_on_load() -> None:
    loaded = validate_record(p.FARMER, good(p.FARMER, mobile="+86 １３８-0013-8000"))
    assert loaded["mobile"] == "13800138000"


def test_farmer_without_mobile_is_fine() -> None:
    assert validate_record(p.FARMER, good(p.FARMER, mobile=None))["mobile"] is None
    assert validate_record(p.FARMER, good(p.FARMER, mobile=...))["mobile"] is None


def test_bad_mobile_names_the_field_and_says_why() -> None:
    errors = errors_of(p.FARMER, good(p.FARMER, mobile="0871-6512345"))
    assert list(errors) == ["mobile"]
    reason = str(errors["mobile"])
    assert "0871-6512345" in reason
    assert "mobile" in reason


def test_invalid_record_message_carries_kind_and_field() -> None:
    with pytest.raises(InvalidRecord, match="invalid farmer.*mobile"):
        validate_record(p.FARMER, good(p.FARMER, mobile="12345"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "x" * 41),
        ("gender", "other"),
        ("birth_year", 1850),
        ("village_code", "abc"),
        ("village_code", "5301020"),
    ],
)
def test_farmer_field_errors_are_named(field: str, value: object) -> None:
    assert field in errors_of(p.FARMER, good(p.FARMER, **{field: value}))


def test_several_bad_fields_are_all_reported() -> None:
    errors = errors_of(p.FARMER, good(p.FARMER, name="", mobile="1", village_code="x"))
    assert {"name", "mobile", "village_code"} <= set(errors)


# ------------------------------------------------------------------ division codes


@pytest.mark.parametrize(
    ("code", "padded"),
    [
        ("53", "530000000000"),
        ("5301", "530100000000"),
        ("530102", "530102000000"),
        ("530102001", "530102001000"),
        ("530102001001", "530102001001"),
        (" 530102 ", "530102000000"),
    ],
)
def test_division_codes_are_padded_to_twelve_digits(code: str, padded: str) -> None:
    assert validate_record(p.FARMER, good(p.FARMER, village_code=code))["village_code"] == padded
    assert UnitSchema().load({"code": code, "name": "x", "level": "county"})["code"] == padded


@pytest.mark.parametrize("code", ["5", "530", "53010", "5301020", "5301020010", "5301020010011"])
def test_division_codes_of_odd_lengths_are_refused(code: str) -> None:
    errors = errors_of(p.FARMER, good(p.FARMER, village_code=code))
    assert "village_code" in errors
    assert "division code" in str(errors["village_code"])


@pytest.mark.parametrize("code", ["53010200100A", "530-102", "", "五三〇一〇二"])
def test_division_codes_must_be_ascii_digits(code: str) -> None:
    assert "village_code" in errors_of(p.FARMER, good(p.FARMER, village_code=code))


# ------------------------------------------------------------------ sessions and times


def test_session_times_are_stored_as_utc() -> None:
    loaded = validate_record(p.SESSION, good(p.SESSION))
    assert loaded["starts_at"] == "2026-05-28T01:00:00Z"
    assert loaded["ends_at"] == "2026-05-28T03:00:00Z"


def test_zone_less_time_is_china_time() -> None:
    loaded = validate_record(p.SESSION, good(p.SESSION, starts_at="2026-01-01T00:30:00"))
    assert loaded["starts_at"] == "2025-12-31T16:30:00Z"


def test_session_ending_before_it_starts_names_ends_at() -> None:
    errors = errors_of(
        p.SESSION,
        good(p.SESSION, starts_at="2026-05-28T10:00:00+08:00", ends_at="2026-05-28T09:59:00+08:00"),
    )
    assert list(errors) == ["ends_at"]
    assert "ends before it starts" in str(errors["ends_at"])


def test_session_end_comparison_uses_real_time_not_text() -> None:
    # 09:00 China time is 01:00 UTC: earlier than 08:00 UTC, even though "09" > "08" as text.
    errors = errors_of(
        p.SESSION, good(p.SESSION, starts_at="2026-05-28T08:00:00Z", ends_at="2026-05-28T09:00:00")
    )
    assert "ends_at" in errors


def test_open_session_has_no_end() -> None:
    assert validate_record(p.SESSION, good(p.SESSION, ends_at=None))["ends_at"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "party"),
        ("title", ""),
        ("starts_at", "tomorrow"),
        ("starts_at", "1970-01-01T00:00:00Z"),
        ("starts_at", 1780000000),
        ("lead_envoy_id", "not-a-uuid"),
        ("technology_ids", ["not-a-uuid"]),
        ("reported_headcount", -1),
        ("display_boards", -3),
    ],
)
def test_session_field_errors_are_named(field: str, value: object) -> None:
    assert field in errors_of(p.SESSION, good(p.SESSION, **{field: value}))


def test_ids_are_lower_cased() -> None:
    loaded = validate_record(p.SESSION, good(p.SESSION, lead_envoy_id=ENVOY.upper()))
    assert loaded["lead_envoy_id"] == ENVOY


# ------------------------------------------------------------------ attendances


@pytest.mark.parametrize("method", ["qr_self", "card_scan", "roster"])
def test_every_check_in_method_is_accepted(method: str) -> None:
    assert validate_record(p.ATTENDANCE, good(p.ATTENDANCE, method=method))["method"] == method


def test_unknown_check_in_method_is_named() -> None:
    assert "method" in errors_of(p.ATTENDANCE, good(p.ATTENDANCE, method="telepathy"))


def test_attendance_seen_by_defaults_to_empty() -> None:
    assert validate_record(p.ATTENDANCE, good(p.ATTENDANCE))["seen_by"] == []


# ------------------------------------------------------------------ leaflets


@pytest.mark.parametrize("kind", [p.LEAFLET_RECEIPT, p.LEAFLET_HANDOUT])
def test_negative_copies_without_correction_of_is_refused(kind: str) -> None:
    errors = errors_of(kind, good(kind, copies=-20))
    assert list(errors) == ["copies"]
    assert "correction" in str(errors["copies"])


@pytest.mark.parametrize("kind", [p.LEAFLET_RECEIPT, p.LEAFLET_HANDOUT])
def test_negative_copies_in_a_correction_is_accepted(kind: str) -> None:
    loaded = validate_record(kind, good(kind, copies=-20, correction_of=SESSION))
    assert loaded["copies"] == -20


@pytest.mark.parametrize("kind", [p.LEAFLET_RECEIPT, p.LEAFLET_HANDOUT])
def test_zero_copies_is_refused(kind: str) -> None:
    errors = errors_of(kind, good(kind, copies=0))
    assert "copies" in errors
    assert "0" in str(errors["copies"])


def test_handout_without_session_or_village_is_refused_naming_unit_code() -> None:
    errors = errors_of(p.LEAFLET_HANDOUT, good(p.LEAFLET_HANDOUT, session_id=None))
    assert list(errors) == ["unit_code"]
    assert "session or the village" in str(errors["unit_code"])


def test_handout_in_a_village_without_a_session_is_fine() -> None:
    loaded = validate_record(
        p.LEAFLET_HANDOUT, good(p.LEAFLET_HANDOUT, session_id=None, unit_code="530102001")
    )
    assert loaded["unit_code"] == "530102001000"


def test_receipt_date_must_be_a_day() -> None:
    assert "received_on" in errors_of(
        p.LEAFLET_RECEIPT, good(p.LEAFLET_RECEIPT, received_on="28/05/2026")
    )
    assert "received_on" in errors_of(
        p.LEAFLET_RECEIPT, good(p.LEAFLET_RECEIPT, received_on="1970-01-01")
    )


# ------------------------------------------------------------------ plots


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("area_mu", 0),
        ("area_mu", -1),
        ("latitude", 91),
        ("longitude", -181),
        ("altitude_m", 9001),
        ("host_name", ""),
        ("established_on", "2026-02-30"),
    ],
)
def test_plot_field_errors_are_named(field: str, value: object) -> None:
    assert field in errors_of(p.PLOT, good(p.PLOT, **{field: value}))


@pytest.mark.parametrize(("field", "value"), [("survival_rate", 101), ("stage", "ripe")])
def test_observation_field_errors_are_named(field: str, value: object) -> None:
    assert field in errors_of(p.PLOT_OBSERVATION, good(p.PLOT_OBSERVATION, **{field: value}))


# ------------------------------------------------------------------ partial edits


def test_validate_fields_checks_only_what_an_edit_carries() -> None:
    assert validate_fields(p.FARMER, {"name": "新名字"}) == {"name": "新名字"}
    assert validate_fields(p.FARMER, {"deleted": True}) == {"deleted": True}


def test_validate_fields_refuses_unknown_and_metadata_fields_by_name() -> None:
    with pytest.raises(InvalidRecord) as caught:
        validate_fields(p.FARMER, {"name": "x", "nickname": "y", "envoy_id": ENVOY})
    assert set(caught.value.errors) == {"nickname", "envoy_id"}
    assert "unknown field" in str(caught.value.errors["nickname"])


def test_validate_fields_still_checks_values() -> None:
    with pytest.raises(InvalidRecord) as caught:
        validate_fields(p.FARMER, {"mobile": "555-1234"})
    assert "mobile" in caught.value.errors


# ------------------------------------------------------------------ reference data and targets


def test_reference_schemas_cover_every_downloadable_catalogue() -> None:
    assert {"unit", "envoy", "technology", "variety", "leaflet_title", "target"} <= set(
        REFERENCE_SCHEMAS
    )


def test_envoy_schema_normalises_mobile_and_pads_townships() -> None:
    loaded = REFERENCE_SCHEMAS["envoy"]().load(
        {"id": ENVOY, "name": "张三", "mobile": "138-0013-8000", "township_codes": ["530102001"]}
    )
    assert loaded["mobile"] == "13800138000"
    assert loaded["township_codes"] == ["530102001000"]
    assert loaded["active"] is True


def test_unit_level_must_be_known() -> None:
    with pytest.raises(ValidationError) as caught:
        UnitSchema().load({"code": VILLAGE, "name": "东村", "level": "hamlet"})
    assert "level" in caught.value.messages


def test_the_test_targets_file_validates() -> None:
    raw = yaml.safe_load((DATA / "targets.yaml").read_text(encoding="utf-8"))
    plan = TargetsFileSchema().load(raw)
    assert plan["year"] == 2026
    assert plan["unit_code"] == "530102000000"
    assert plan["targets"][:2] == [
        {"indicator": "trainee_attendances", "comparator": ">", "value": 3000.0},
        {"indicator": "leaflets_distributed", "comparator": ">=", "value": 5000.0},
    ]
    assert len(plan["targets"]) == len(raw["targets"])


def plan(**changes: Any) -> dict[str, Any]:
    return {
        "year": 2026,
        "unit_code": "530102",
        "targets": [{"indicator": "village_trainings", "comparator": ">=", "value": 8}],
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"year": 1999}, "year"),
        ({"unit_code": "53010"}, "unit_code"),
        ({"targets": []}, "targets"),
        ({"targets": [{"indicator": "smiles", "comparator": ">=", "value": 1}]}, "targets"),
        ({"targets": [{"indicator": "tv_lectures", "comparator": "≥", "value": 2}]}, "targets"),
        ({"targets": [{"indicator": "tv_lectures", "comparator": ">=", "value": -2}]}, "targets"),
        ({"targets": [{"indicator": "tv_lectures", "comparator": ">="}]}, "targets"),
        ({"owner": "bureau"}, "owner"),
    ],
)
def test_bad_targets_files_name_the_problem(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TargetsFileSchema().load(plan(**changes))
    assert field in caught.value.messages


def test_targets_file_nested_error_points_at_the_line_and_field() -> None:
    bad = plan(
        targets=[
            {"indicator": "village_trainings", "comparator": ">=", "value": 8},
            {"indicator": "tv_lectures", "comparator": "at least", "value": 2},
        ]
    )
    with pytest.raises(ValidationError) as caught:
        TargetsFileSchema().load(bad)
    assert caught.value.messages == {"targets": {1: {"comparator": ["Must be one of: >, >=."]}}}


def test_single_target_row_schema() -> None:
    row = TargetSchema().load(
        {
            "year": 2026,
            "unit_code": "530102",
            "indicator": "tv_lectures",
            "comparator": ">=",
            "value": 2,
        }
    )
    assert row["unit_code"] == "530102000000"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sha256": "AB" * 32}, "sha256"),
        ({"sha256": "ab" * 31}, "sha256"),
        ({"photo_kind": "selfie"}, "photo_kind"),
        ({"photo_kind": "observation"}, "photo_kind"),
        ({"subject_kind": "farmer"}, "subject_kind"),
        ({"longitude": None}, "longitude"),
        ({"latitude": 91}, "latitude"),
        ({"size_bytes": 0}, "size_bytes"),
    ],
)
def test_a_bad_photo_names_its_field(changes: dict[str, Any], field: str) -> None:
    assert field in errors_of(p.PHOTO, good(p.PHOTO, **changes))


def test_a_photo_without_time_or_place_is_a_good_record() -> None:
    loaded = validate_record(
        p.PHOTO,
        good(
            p.PHOTO,
            subject_kind="observation",
            photo_kind="observation",
            taken_at=None,
            latitude=None,
            longitude=None,
            accuracy_m=None,
        ),
    )
    assert loaded["taken_at"] is None and loaded["latitude"] is None
