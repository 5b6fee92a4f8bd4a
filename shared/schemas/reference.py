"""Schemas of the reference data the bureau owns: units, envoys, catalogues, targets."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared.indicators import COMPARATORS, INDICATOR_KEYS
from shared.schemas.types import DivisionCode, Id, Mobile, Name, Number, Whole

UNIT_LEVELS = ("province", "city", "county", "township", "village")


class ReferenceSchema(Schema):
    class Meta:
        unknown = RAISE


class UnitSchema(ReferenceSchema):
    code = DivisionCode(required=True)
    name = Name(required=True, validate=validate.Length(1, 60))
    parent_code = DivisionCode(allow_none=True, load_default=None)
    level = fields.String(required=True, validate=validate.OneOf(UNIT_LEVELS))
    # Where the unit (a village) is, in decimal degrees: both or neither (migration m017).
    latitude = Number(allow_none=True, load_default=None, validate=validate.Range(-90, 90))
    longitude = Number(allow_none=True, load_default=None, validate=validate.Range(-180, 180))

    @validates_schema
    def _both_or_neither(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            missing = "longitude" if data.get("longitude") is None else "latitude"
            raise ValidationError(
                "纬度与经度须同时填写或同时留空 / give both latitude and longitude, or neither",
                missing,
            )


class EnvoySchema(ReferenceSchema):
    id = Id(required=True)
    name = Name(required=True, validate=validate.Length(1, 40))
    mobile = Mobile(allow_none=True, load_default=None)
    township_codes = fields.List(DivisionCode(), load_default=list)
    active = fields.Boolean(load_default=True)


class TechnologySchema(ReferenceSchema):
    id = Id(required=True)
    name = Name(required=True, validate=validate.Length(1, 100))
    category = Name(allow_none=True, load_default=None, validate=validate.Length(max=100))


class VarietySchema(ReferenceSchema):
    id = Id(required=True)
    name = Name(required=True, validate=validate.Length(1, 100))
    crop = Name(required=True, validate=validate.Length(1, 40))


class LeafletTitleSchema(ReferenceSchema):
    id = Id(required=True)
    title = Name(required=True, validate=validate.Length(1, 200))


class TargetLineSchema(ReferenceSchema):
    indicator = fields.String(required=True, validate=validate.OneOf(INDICATOR_KEYS))
    comparator = fields.String(required=True, validate=validate.OneOf(COMPARATORS))
    value = Number(required=True, validate=validate.Range(0, 1e12))


TARGET_BASES = ("value", "growth")


class TargetSchema(TargetLineSchema):
    """One target as the server stores it and devices receive it: for a unit (`unit_code`) or an
    envoy (`envoy_id`), a fixed value or growth on last year's actual (`growth_percent`)."""

    id = fields.String(load_default=None)
    year = Whole(required=True, validate=validate.Range(2000, 2200))
    unit_code = DivisionCode(required=True, allow_none=True)
    envoy_id = Id(allow_none=True, load_default=None)
    basis = fields.String(load_default="value", validate=validate.OneOf(TARGET_BASES))
    growth_percent = Number(allow_none=True, load_default=None)


class FarmerAliasSchema(ReferenceSchema):
    """A farmer record that staff or the server merged into another (ids are never rewritten)."""

    id = Id(required=True)
    canonical_id = Id(required=True)
    merged_at = fields.String(required=True)
    reason = fields.String(required=True)


class TargetsFileSchema(ReferenceSchema):
    year = Whole(required=True, validate=validate.Range(2000, 2200))
    unit_code = DivisionCode(required=True)
    targets = fields.List(
        fields.Nested(TargetLineSchema), required=True, validate=validate.Length(1)
    )


REFERENCE_SCHEMAS: dict[str, type[ReferenceSchema]] = {
    "unit": UnitSchema,
    "envoy": EnvoySchema,
    "technology": TechnologySchema,
    "variety": VarietySchema,
    "leaflet_title": LeafletTitleSchema,
    "target": TargetSchema,
    "farmer_alias": FarmerAliasSchema,
}
