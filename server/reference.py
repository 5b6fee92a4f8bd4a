"""Loading the bureau's reference data: units, envoys, catalogues and targets, each flowing down."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from marshmallow import ValidationError
from sqlite_utils import Database

from server import audit, file_limits
from server.db import next_server_seq, write_transaction
from server.records import state_to_row
from shared import protocol as p
from shared.errors import TianjianError
from shared.schemas.reference import (
    EnvoySchema,
    LeafletTitleSchema,
    TechnologySchema,
    UnitSchema,
    VarietySchema,
)

if TYPE_CHECKING:
    from server.users import User

# Catalogue entries get stable ids from their names, so reloading a file updates in place.
CATALOGUE_NAMESPACE = uuid.UUID("0c7d1f5e-3b2a-4e68-9d0f-5a6b7c8d9e01")


class BadReferenceFile(TianjianError):
    """A reference file could not be read; `problems` lists each bad line and field."""

    status = 422

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(
            f"文件有误 / bad file: {path}: " + "; ".join(problems[:20]), {"file": problems[:20]}
        )
        self.path = path
        self.problems = problems


class InvalidEnvoy(TianjianError):
    """An envoy to create has a bad name or township code; `errors` names each field."""

    status = 422

    def __init__(self, name: str, messages: Any) -> None:
        errors = {str(field): _reasons(reason) for field, reason in dict(messages).items()}
        text = "; ".join(f"{field}: {' '.join(reasons)}" for field, reasons in errors.items())
        super().__init__(f"特派员信息有误 / invalid envoy {name}: {text}", dict(errors))


def _reasons(messages: Any) -> list[str]:
    """marshmallow's messages for one field, however nested (a list's are keyed by index)."""
    if isinstance(messages, dict):
        return [reason for nested in messages.values() for reason in _reasons(nested)]
    if isinstance(messages, list):
        return [reason for nested in messages for reason in _reasons(nested)]
    return [str(messages)]


def catalogue_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(CATALOGUE_NAMESPACE, f"{kind}/{name}"))


def read_csv(path: str, source: str | None = None) -> list[dict[str, str]]:
    """The CSV's rows keyed by its header, within file_limits' caps (GBK or UTF-16 named)."""
    lines = file_limits.csv_rows(path, source or path)
    if not lines:
        return []
    header = [name.strip() for name in lines[0]]
    return [
        {
            key: (line[index] if index < len(line) else "").strip()
            for index, key in enumerate(header)
            if key
        }
        for line in lines[1:]
        if line
    ]


def _validated(path: str, rows: list[dict[str, Any]], schema: Any) -> list[dict[str, Any]]:
    good, problems = [], []
    for number, row in enumerate(rows, start=2):
        try:
            good.append(schema.load(row))
        except ValidationError as exc:
            problems.append(f"line {number}: {exc.messages}")
    if problems:
        raise BadReferenceFile(path, problems)
    return good


def _upsert(db: Database, kind: str, records: list[dict[str, Any]]) -> int:
    if not records:
        return 0
    seq = next_server_seq(db, len(records))
    rows = []
    for offset, record in enumerate(records):
        row = state_to_row(kind, record)
        row["server_seq"] = seq + offset
        rows.append(row)
    db.table(p.TABLES[kind]).upsert_all(rows, pk="code" if kind == p.UNIT else "id")
    return len(rows)


def load_units(db: Database, path: str, source: str | None = None) -> int:
    """`source` names the file in messages (an upload's own name, not where it was saved)."""
    rows: list[dict[str, Any]] = list(read_csv(path, source))
    for row in rows:
        row["parent_code"] = row.get("parent_code") or None
    units = _validated(source or path, rows, UnitSchema())
    with write_transaction(db):
        return _upsert(db, p.UNIT, units)


def load_envoys(db: Database, path: str, source: str | None = None) -> int:
    rows = read_csv(path, source)
    prepared = []
    for row in rows:
        name = row.get("name", "")
        prepared.append(
            {
                "id": row.get("id") or catalogue_id(p.ENVOY, name),
                "name": name,
                "mobile": row.get("mobile") or None,
                "township_codes": [
                    c for c in row.get("township_codes", "").replace(";", " ").split() if c
                ],
            }
        )
    envoys = _validated(source or path, prepared, EnvoySchema())
    with write_transaction(db):
        return _upsert(db, p.ENVOY, envoys)


def ensure_envoy(db: Database, name: str, township_codes: list[str]) -> dict[str, Any]:
    """The envoy of that name serving these townships, created or updated; InvalidRecord if the
    name or a township code is not valid."""
    try:
        envoy = EnvoySchema().load(
            {"id": catalogue_id(p.ENVOY, name), "name": name, "township_codes": township_codes}
        )
    except ValidationError as exc:
        raise InvalidEnvoy(name, exc.messages) from exc
    with write_transaction(db):
        _upsert(db, p.ENVOY, [envoy])
    return envoy


CATALOGUE_KINDS = {
    "technology": (p.TECHNOLOGY, TechnologySchema, "name"),
    "variety": (p.VARIETY, VarietySchema, "name"),
    "leaflet": (p.LEAFLET_TITLE, LeafletTitleSchema, "title"),
}


def load_catalogue(db: Database, path: str, source: str | None = None) -> dict[str, int]:
    """CSV with columns type (technology | variety | leaflet), name, and crop/category."""
    rows = read_csv(path, source)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    problems = []
    for number, row in enumerate(rows, start=2):
        entry_type = row.get("type", "")
        if entry_type not in CATALOGUE_KINDS:
            problems.append(
                f"line {number}: type must be technology, variety or leaflet, not {entry_type!r}"
            )
            continue
        kind, schema, name_field = CATALOGUE_KINDS[entry_type]
        name = row.get("name", "")
        record: dict[str, Any] = {"id": catalogue_id(kind, name), name_field: name}
        if kind == p.VARIETY:
            record["crop"] = row.get("crop", "")
        if kind == p.TECHNOLOGY:
            record["category"] = row.get("category") or None
        try:
            by_kind.setdefault(kind, []).append(schema().load(record))
        except ValidationError as exc:
            problems.append(f"line {number}: {exc.messages}")
    if problems:
        raise BadReferenceFile(source or path, problems)
    with write_transaction(db):
        return {kind: _upsert(db, kind, records) for kind, records in by_kind.items()}


def load_targets(
    db: Database, path: str, year: int | None = None, by: User | str = audit.SYSTEM
) -> int:
    """Targets from a file of any kind (CSV, XLSX, YAML, JSON): one parser for every way in,
    so "同比增长 10%" or "超过" mean the same in a file as on the page (server/target_files.py)."""
    from server.target_files import load_targets_file

    return load_targets_file(db, path, year, by)
