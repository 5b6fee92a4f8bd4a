"""marshmallow schemas: the one contract for storage and wire."""

from shared.schemas.field import (
    FIELD_SCHEMAS,
    AttendanceSchema,
    FarmerSchema,
    LeafletHandoutSchema,
    LeafletReceiptSchema,
    PlotObservationSchema,
    PlotSchema,
    SessionSchema,
    data_fields,
    validate_record,
)
from shared.schemas.reference import (
    REFERENCE_SCHEMAS,
    EnvoySchema,
    LeafletTitleSchema,
    TargetSchema,
    TargetsFileSchema,
    TechnologySchema,
    UnitSchema,
    VarietySchema,
)

__all__ = [
    "FIELD_SCHEMAS",
    "REFERENCE_SCHEMAS",
    "AttendanceSchema",
    "EnvoySchema",
    "FarmerSchema",
    "LeafletHandoutSchema",
    "LeafletReceiptSchema",
    "LeafletTitleSchema",
    "PlotObservationSchema",
    "PlotSchema",
    "SessionSchema",
    "TargetSchema",
    "TargetsFileSchema",
    "TechnologySchema",
    "UnitSchema",
    "VarietySchema",
    "data_fields",
    "validate_record",
]
