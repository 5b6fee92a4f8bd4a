"""The server's tables as the running code knows them, derived from the marshmallow schemas.

Each field kind's table holds its schema's data fields plus SYNC_COLUMNS; each reference kind's
table its schema's fields plus `server_seq`. Migrations never read this (each keeps its own
literal column list, so what a past migration built never changes); tests/server/store/test_tables.py
holds a migrated database's columns equal to this description.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from shared import protocol as p
from shared.schemas.field import FIELD_SCHEMAS, data_fields
from shared.schemas.reference import REFERENCE_SCHEMAS

# Columns every synced field record has besides its own data.
SYNC_COLUMNS: dict[str, type] = {
    "envoy_id": str,
    "device_id": str,
    "created_at": str,
    "updated_at": str,
    "deleted": int,
    "hlc": str,
    "stamps": str,
    # Township (9-digit prefix, padded) the record belongs to, for pull scoping.
    "township_code": str,
    # The device whose create this is, so it need not pull its own record back; NULL
    # once anything else has touched the record.
    "origin_device": str,
    "server_seq": int,
}


def column_type(field: fields.Field[Any]) -> type:
    """How SQLite stores a schema field: lists as JSON text, booleans as 0/1."""
    if isinstance(field, fields.Boolean | fields.Integer):
        return int
    if isinstance(field, fields.Float):
        return float
    return str


def _field_table(kind: str) -> dict[str, type]:
    declared = FIELD_SCHEMAS[kind]().fields
    return {"id": str, **{name: column_type(declared[name]) for name in data_fields(kind)}}


def _reference_table(kind: str) -> dict[str, type]:
    return {name: column_type(field) for name, field in REFERENCE_SCHEMAS[kind]().fields.items()}


# table -> {column: type}: a field kind's id and data fields (SYNC_COLUMNS come on top).
FIELD_TABLES: dict[str, dict[str, type]] = {
    p.TABLES[kind]: _field_table(kind) for kind in p.FIELD_KINDS
}

# table -> ({column: type}, primary key): a reference kind's fields (server_seq comes on top).
REFERENCE_TABLES: dict[str, tuple[dict[str, type], str]] = {
    p.TABLES[kind]: (_reference_table(kind), "code" if kind == p.UNIT else "id")
    for kind in p.REFERENCE_KINDS
}
