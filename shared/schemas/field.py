"""Schemas of the records envoys make in the field; every one carries the same sync metadata."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate, validates_schema

from shared import protocol as p
from shared.errors import InvalidRecord
from shared.schemas.types import (
    Day,
    DivisionCode,
    Id,
    Mobile,
    Name,
    Note,
    Number,
    Timestamp,
    Whole,
    name_problem,
)

SESSION_KINDS = (
    "village_training",
    "large_training",
    "tv_lecture",
    "field_day",
    "science_week",
    "other",
)
CHECKIN_METHODS = ("qr_self", "card_scan", "roster")
GENDERS = ("female", "male", "unspecified")
PLOT_STAGES = ("sowing", "seedling", "growing", "flowering", "harvest", "other")
# What a photo is of (labels in shared/choices.py PHOTO_KINDS), and what it is attached to.
PHOTO_KINDS = ("site", "signin_sheet", "display_board", "observation")
PHOTO_SUBJECTS = ("session", "observation")
# Which photo kinds each subject takes: a session's evidence, or a plot observation's picture.
PHOTO_KINDS_OF_SUBJECT = {
    "session": ("site", "signin_sheet", "display_board"),
    "observation": ("observation",),
}
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# The mark of a field that names envoys (one id, or a list of them): the one home of which fields
# do (`envoy_fields`), so a county's link is held to its own county's envoys in every one of
# them (server/sync/county_scope.py). Not a JSON-schema word: the API's schema leaves it out.
NAMES_ENVOYS: dict[str, Any] = {"names": p.ENVOY}
META_FIELDS = ("id", "envoy_id", "device_id", "hlc", "created_at", "updated_at", "deleted")
# Data fields added after records of their kind were stored, oldest first. Stored stamp masks
# (server/store/records.py stamp_names) number them after `deleted`, so a mask already stored keeps
# its meaning; devices and servers that do not know one still sync (docs/sync.md).
ADDED_FIELDS: dict[str, tuple[str, ...]] = {p.ATTENDANCE: ("phone", "net", "typed_code")}
# A check-in's `phone`: 16 hex digits of a keyed hash of the cookie the field web app gave the
# phone that made it. Never a phone number (11 digits): the pattern cannot hold one.
PHONE_HASH = re.compile(r"[0-9a-f]{16}")


class FieldRecordSchema(Schema):
    """Sync metadata: who made it, on which device, when, and its clock stamp."""

    class Meta:
        unknown = RAISE

    id = Id(required=True)
    envoy_id = Id(required=True)
    device_id = Id(required=True)
    hlc = fields.String(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    deleted = fields.Boolean(load_default=False)


class FarmerSchema(FieldRecordSchema):
    name = Name(required=True, validate=validate.Length(1, 40))
    mobile = Mobile(allow_none=True, load_default=None)
    gender = fields.String(load_default="unspecified", validate=validate.OneOf(GENDERS))
    birth_year = Whole(allow_none=True, load_default=None, validate=validate.Range(1900, 2100))
    village_code = DivisionCode(required=True)


class SessionSchema(FieldRecordSchema):
    kind = fields.String(required=True, validate=validate.OneOf(SESSION_KINDS))
    title = Name(required=True, validate=validate.Length(1, 200))
    technology_ids = fields.List(Id(), load_default=list)
    # A village code for a village training; a township or county code for a large event.
    unit_code = DivisionCode(required=True)
    place = Name(allow_none=True, load_default=None, validate=validate.Length(max=200))
    starts_at = Timestamp(required=True)
    ends_at = Timestamp(allow_none=True, load_default=None)
    lead_envoy_id = Id(required=True, metadata=NAMES_ENVOYS)
    co_envoy_ids = fields.List(Id(), load_default=list, metadata=NAMES_ENVOYS)
    # A typed headcount (or a TV lecture's audience estimate), never mixed with check-ins.
    reported_headcount = Whole(
        allow_none=True, load_default=None, validate=validate.Range(0, 1_000_000)
    )
    display_boards = Whole(load_default=0, validate=validate.Range(0, 10_000))
    closed = fields.Boolean(load_default=False)

    @validates_schema
    def ends_after_start(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("ends_at") and data.get("starts_at") and data["ends_at"] < data["starts_at"]:
            raise ValidationError("结束时间早于开始时间 / ends before it starts", "ends_at")


class AttendanceSchema(FieldRecordSchema):
    session_id = Id(required=True)
    farmer_id = Id(required=True)
    checked_in_at = Timestamp(required=True)
    method = fields.String(required=True, validate=validate.OneOf(CHECKIN_METHODS))
    # Every device that saw this check-in; the server keeps the union.
    seen_by = fields.List(Id(), load_default=list)
    # Which phone made a qr_self check-in (PHONE_HASH), so many farmers from one phone show in
    # reconciliation. No load_default: absent, it is not sent, and check-ins stay small.
    phone = fields.String(
        allow_none=True,
        validate=validate.Regexp(
            PHONE_HASH.pattern + r"\Z",
            error="须为16位十六进制摘要，不能是手机号 / must be a 16-hex-digit hash, never a phone number",
        ),
    )
    # The client's network address a self check-in came from, as the same kind of keyed hash
    # (field_client/phones.py), so many check-ins from one address show without any cookie.
    net = fields.String(
        allow_none=True,
        validate=validate.Regexp(
            PHONE_HASH.pattern + r"\Z",
            error="须为16位十六进制摘要，不能是网络地址 / must be a 16-hex-digit hash, never an address",
        ),
    )
    # True when the farmer typed the session code instead of scanning the poster's QR; absent
    # otherwise (never sent false).
    typed_code = fields.Boolean(allow_none=True)


class LeafletReceiptSchema(FieldRecordSchema):
    """Copies of a leaflet an envoy received from the bureau's stock."""

    leaflet_title_id = Id(required=True)
    copies = Whole(required=True, validate=validate.Range(-1_000_000, 1_000_000))
    received_on = Day(required=True)
    correction_of = Id(allow_none=True, load_default=None)

    @validates_schema
    def only_corrections_negative(self, data: dict[str, Any], **kwargs: Any) -> None:
        _check_copies(data)


class LeafletHandoutSchema(FieldRecordSchema):
    leaflet_title_id = Id(required=True)
    copies = Whole(required=True, validate=validate.Range(-1_000_000, 1_000_000))
    session_id = Id(allow_none=True, load_default=None)
    unit_code = DivisionCode(allow_none=True, load_default=None)
    handed_out_at = Timestamp(required=True)
    correction_of = Id(allow_none=True, load_default=None)

    @validates_schema
    def has_place_and_sign(self, data: dict[str, Any], **kwargs: Any) -> None:
        _check_copies(data)
        if not data.get("session_id") and not data.get("unit_code"):
            raise ValidationError(
                "须注明培训场次或村 / say the session or the village", "unit_code"
            )


class PlotSchema(FieldRecordSchema):
    """A demonstration plot (示范田/示范基地)."""

    village_code = DivisionCode(required=True)
    host_name = Name(required=True, validate=validate.Length(1, 60))
    crop = Name(required=True, validate=validate.Length(1, 40))
    variety_id = Id(allow_none=True, load_default=None)
    technology_ids = fields.List(Id(), load_default=list)
    area_mu = Number(required=True, validate=validate.Range(0, 1_000_000, min_inclusive=False))
    latitude = Number(allow_none=True, load_default=None, validate=validate.Range(-90, 90))
    longitude = Number(allow_none=True, load_default=None, validate=validate.Range(-180, 180))
    altitude_m = Number(allow_none=True, load_default=None, validate=validate.Range(-500, 9000))
    target_yield_kg_per_mu = Number(
        allow_none=True, load_default=None, validate=validate.Range(0, 100_000)
    )
    established_on = Day(required=True)


class PlotObservationSchema(FieldRecordSchema):
    plot_id = Id(required=True)
    observed_on = Day(required=True)
    stage = fields.String(required=True, validate=validate.OneOf(PLOT_STAGES))
    survival_rate = Number(allow_none=True, load_default=None, validate=validate.Range(0, 100))
    yield_kg_per_mu = Number(
        allow_none=True, load_default=None, validate=validate.Range(0, 100_000)
    )
    notes = Note(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    correction_of = Id(allow_none=True, load_default=None)


class PhotoSchema(FieldRecordSchema):
    """A photo's metadata: what it shows and of what; its bytes travel apart, named by sha256.

    `taken_at` is the camera's EXIF DateTimeOriginal (read as China time when it carries no
    offset), `recorded_at` the device's own time when the envoy added it; the place is EXIF GPS
    when the camera wrote it. Any of them may be missing: nothing is made up.
    """

    subject_kind = fields.String(required=True, validate=validate.OneOf(PHOTO_SUBJECTS))
    subject_id = Id(required=True)
    photo_kind = fields.String(required=True, validate=validate.OneOf(PHOTO_KINDS))
    sha256 = fields.String(
        required=True,
        validate=validate.Regexp(
            SHA256_HEX.pattern + r"\Z",
            error="须为64位小写十六进制 SHA-256 / must be 64 lowercase hex digits (SHA-256)",
        ),
    )
    # Bounds of a reduced photo (shared/photos.py); what the server takes is checked there.
    size_bytes = Whole(required=True, validate=validate.Range(1, 64 * 1024 * 1024))
    width = Whole(required=True, validate=validate.Range(1, 100_000))
    height = Whole(required=True, validate=validate.Range(1, 100_000))
    taken_at = Timestamp(allow_none=True, load_default=None)
    recorded_at = Timestamp(required=True)
    latitude = Number(allow_none=True, load_default=None, validate=validate.Range(-90, 90))
    longitude = Number(allow_none=True, load_default=None, validate=validate.Range(-180, 180))
    accuracy_m = Number(allow_none=True, load_default=None, validate=validate.Range(0, 100_000))
    note = Note(allow_none=True, load_default=None, validate=validate.Length(max=500))

    @validates_schema
    def kind_fits_subject(self, data: dict[str, Any], **kwargs: Any) -> None:
        subject, kind = data.get("subject_kind"), data.get("photo_kind")
        if subject and kind and kind not in PHOTO_KINDS_OF_SUBJECT[subject]:
            raise ValidationError(
                f"{subject} 的照片不能是 {kind} / a {subject} photo cannot be {kind}",
                "photo_kind",
            )
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise ValidationError(
                "纬度和经度须同时给出 / latitude and longitude come together", "longitude"
            )


def _check_copies(data: dict[str, Any]) -> None:
    copies = data.get("copies")
    if copies is None:
        return
    if copies == 0:
        raise ValidationError("份数不能为0 / copies cannot be 0", "copies")
    if copies < 0 and not data.get("correction_of"):
        raise ValidationError(
            "负数份数只能用于更正 / negative copies only in a correction", "copies"
        )


FIELD_SCHEMAS: dict[str, type[FieldRecordSchema]] = {
    p.FARMER: FarmerSchema,
    p.SESSION: SessionSchema,
    p.ATTENDANCE: AttendanceSchema,
    p.LEAFLET_RECEIPT: LeafletReceiptSchema,
    p.LEAFLET_HANDOUT: LeafletHandoutSchema,
    p.PLOT: PlotSchema,
    p.PLOT_OBSERVATION: PlotObservationSchema,
    p.PHOTO: PhotoSchema,
}

_INSTANCES: dict[str, FieldRecordSchema] = {kind: cls() for kind, cls in FIELD_SCHEMAS.items()}


@functools.cache
def data_fields(kind: str) -> tuple[str, ...]:
    """The fields an envoy edits, i.e. everything but the sync metadata."""
    return tuple(name for name in _INSTANCES[kind].fields if name not in META_FIELDS)


@functools.cache
def envoy_fields(kind: str) -> tuple[str, ...]:
    """The data fields of a kind that name envoys (marked NAMES_ENVOYS); none for most kinds."""
    schema = _INSTANCES[kind]
    return tuple(
        name for name in data_fields(kind) if schema.fields[name].metadata.get("names") == p.ENVOY
    )


def named_envoys(kind: str, values: dict[str, Any]) -> dict[str, list[str]]:
    """The envoy ids each envoy field of these (loaded) fields names, by field."""
    named: dict[str, list[str]] = {}
    for name in envoy_fields(kind):
        value = values.get(name)
        ids = value if isinstance(value, list) else [value]
        if any(ids):
            named[name] = [str(one) for one in ids if one]
    return named


def validate_record(kind: str, record: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    """Load a record through its schema, or raise InvalidRecord naming each bad field."""
    try:
        loaded: dict[str, Any] = _INSTANCES[kind].load(record, partial=partial)
    except ValidationError as exc:
        raise InvalidRecord(kind, _flatten(exc.messages)) from exc
    return loaded


def validate_fields(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """Validate only the data fields a change carries (an edit need not repeat the rest)."""
    unknown = [name for name in values if name not in data_fields(kind) and name != "deleted"]
    if unknown:
        raise InvalidRecord(kind, {name: "未知字段 / unknown field" for name in unknown})
    return validate_record(kind, values, partial=True)


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Ids already seen to be well-formed: a push names its few sessions and farmers thousands
# of times over. Bounded, so a long-running server does not collect every id it ever saw.
_WELL_FORMED_IDS: set[str] = set()
_WELL_FORMED_LIMIT = 100_000


def _is_lowercase_uuid(text: str) -> bool:
    if text in _WELL_FORMED_IDS:
        return True
    if not _UUID.match(text):
        return False
    if len(_WELL_FORMED_IDS) >= _WELL_FORMED_LIMIT:
        _WELL_FORMED_IDS.clear()
    _WELL_FORMED_IDS.add(text)
    return True


CHECKIN_FIELDS = frozenset(("session_id", "farmer_id", "checked_in_at", "method"))


def is_canonical_checkin(values: dict[str, Any]) -> bool:
    """True when a check-in is already exactly what AttendanceSchema would load it to.

    Check-ins are most of what a device sends (100,000 a year in a busy county); this lets
    the server skip the schema for them. Anything else, or anything odd, goes through the
    schema, which names the bad field.
    """
    # Four entries, each under one of the four names: exactly the four fields (and a fifth,
    # a well-formed phone hash, when a phone made the check-in).
    get = values.get
    session_id, farmer_id, moment = get("session_id"), get("farmer_id"), get("checked_in_at")
    if get("method") not in CHECKIN_METHODS:
        return False
    if len(values) != 4:
        phone = get("phone")
        if len(values) != 5 or type(phone) is not str or not PHONE_HASH.fullmatch(phone):
            return False
    if not (type(session_id) is str and type(farmer_id) is str and type(moment) is str):
        return False
    if not (_is_lowercase_uuid(session_id) and _is_lowercase_uuid(farmer_id)):
        return False
    return _is_canonical_moment(moment)


def _is_canonical_moment(moment: str) -> bool:
    """YYYY-MM-DDTHH:MM:SSZ, a real moment from 1990 to 2200: to_iso's own form, exactly;
    anything else the schema would rewrite or refuse."""
    # The separators sit every third character from the fifth; with them fixed and the text
    # ASCII, fromisoformat accepts only digits between them (and checks the date is real).
    # A regular expression said the same in twice the time.
    if len(moment) != 20 or moment[4::3] != "--T::Z" or not moment.isascii():
        return False
    if not "1990" <= moment[:4] <= "2200":
        return False
    try:
        datetime.fromisoformat(moment)
    except ValueError:
        return False
    return True


_DIVISION_CODE = re.compile(r"[0-9]{12}")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
FARMER_FIELDS = frozenset(("name", "mobile", "gender", "birth_year", "village_code"))


def is_canonical_farmer(values: dict[str, Any]) -> bool:
    """True when a new farmer's fields are exactly what FarmerSchema would load them to.

    Farmers are the second most common record; like check-ins, the usual, tidy case skips
    the schema and anything else goes through it.
    """
    if not values.keys() <= FARMER_FIELDS:
        return False
    name, code = values.get("name"), values.get("village_code")
    if type(name) is not str or not 1 <= len(name) <= 40 or name_problem(name) is not None:
        return False
    if type(code) is not str or not _DIVISION_CODE.fullmatch(code):
        return False
    mobile, year, gender = values.get("mobile"), values.get("birth_year"), values.get("gender")
    if gender is not None and (type(gender) is not str or gender not in GENDERS):
        return False
    if mobile is not None and (type(mobile) is not str or not _MOBILE.fullmatch(mobile)):
        return False
    if year is not None and (type(year) is not int or not 1900 <= year <= 2100):
        return False
    # A gender sent as null is refused by the schema, so it is not canonical either.
    return "gender" not in values or gender is not None


def load_defaults(kind: str) -> dict[str, Any]:
    """The value the schema gives each data field a record leaves out (fresh lists each call)."""
    defaults = {}
    for name in data_fields(kind):
        default = _INSTANCES[kind].fields[name].load_default
        if default is not missing:
            defaults[name] = default() if callable(default) else default
    return defaults


def _flatten(messages: Any) -> dict[str, object]:
    if isinstance(messages, dict):
        return {str(key): value for key, value in messages.items()}
    return {"_schema": messages}
