"""The province's catalogue (technologies, varieties, leaflet titles) sent down a county's link.

On the province every catalogue row is its own and goes down; on the county the rows it sent
become the province's, read-only there (server/store/province_rows.py), while the county's own
rows (names the province does not list) stay the county's. Catalogue ids come from names
(server/reference/ids.py `catalogue_id`), so a county's row and the province's of the same
name are one row: it simply becomes the province's.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from sqlite_utils import Database

from server.reference.load import (
    CATALOGUE_KINDS,
    BadReferenceFile,
    _upsert,
    line_problem,
    stored_catalogue,
)
from server.store.db import write_transaction
from server.store.province_rows import hold
from shared import protocol as p

# The catalogue kinds and the schema of each, as a catalogue file loads them.
SCHEMAS = {kind: schema for kind, schema, _name in CATALOGUE_KINDS.values()}
SOURCE = "省级目录 / the province's catalogue"


def catalogue_for_county(db: Database) -> list[dict[str, Any]]:
    """On the province: every catalogue row, each with its kind, as the link sends it."""
    sent = []
    for kind, schema in SCHEMAS.items():
        names = list(schema().fields)
        columns = ", ".join(f'"{name}"' for name in names)
        for row in db.execute(f'SELECT {columns} FROM "{p.TABLES[kind]}" ORDER BY "id"'):
            sent.append({"kind": kind, **dict(zip(names, row, strict=True))})
    return sent


def _checked(sent: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The rows sent, by kind, each checked as a catalogue file's line is: all or none."""
    by_kind: dict[str, list[dict[str, Any]]] = {kind: [] for kind in SCHEMAS}
    problems = []
    for number, row in enumerate(sent, start=1):
        fields = {key: value for key, value in row.items() if key != "kind"}
        if row.get("kind") not in SCHEMAS:
            problems.append(line_problem(number, {"kind": ["未知的类别 / unknown kind"]}))
            continue
        try:
            by_kind[row["kind"]].append(SCHEMAS[row["kind"]]().load(fields))
        except ValidationError as exc:
            problems.append(line_problem(number, exc.messages))
    if problems:
        raise BadReferenceFile(SOURCE, problems)
    return by_kind


def take_province_catalogue(db: Database, sent: list[dict[str, Any]]) -> tuple[int, int]:
    """On the county: make the province's catalogue rows the province's here, writing only the
    rows that differ (so a timer run that brings nothing writes nothing, and devices pull only
    what changed); rows the province no longer lists go back to being the county's own (records
    name them, so they are never deleted). Returns (written, handed back)."""
    by_kind = _checked(sent)
    written = handed_back = 0
    with write_transaction(db):
        for kind, records in by_kind.items():
            stored = stored_catalogue(db, kind, [record["id"] for record in records])
            changed = [record for record in records if stored.get(record["id"]) != record]
            written += _upsert(db, kind, changed)
            handed_back += len(hold(db, kind, [record["id"] for record in records]))
    return written, handed_back
