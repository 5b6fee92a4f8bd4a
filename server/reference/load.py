"""Loading the bureau's reference data: units, envoys and catalogues, each flowing down (targets are
the plan's: server/plan/target_files.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from marshmallow import ValidationError
from sqlite_utils import Database

from server.files import file_limits
from server.reference.ids import catalogue_id
from server.reference.lists import LEVEL_NAMES
from server.store.db import next_server_seq, write_transaction
from server.store.province_rows import ProvinceOwned, owned_ids
from server.store.records import state_to_row
from server.store.sql_text import in_chunks
from shared import protocol as p
from shared.errors import TianjianError
from shared.marshmallow_zh import one_line
from shared.schemas.reference import (
    EnvoySchema,
    LeafletTitleSchema,
    TechnologySchema,
    UnitSchema,
    VarietySchema,
)

if TYPE_CHECKING:
    pass


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


def line_problem(number: int, messages: Any) -> str:
    """One refused line of a file: `第 3 行 / line 3：code：必填 / Missing data ...`."""
    return f"第 {number} 行 / line {number}：{one_line(messages)}"


# The Chinese headers and words the bureau's own exports write (the reference pages' CSV/XLSX),
# so a file exported, edited in Excel and loaded again is read: header -> column, and the
# level and type words -> codes. Columns only shown (上级, 服务乡镇 ...) are ignored.
CSV_HEADERS: Final = {
    "区划代码": "code",
    "代码": "code",
    "名称": "name",
    "上级代码": "parent_code",
    "级别": "level",
    "姓名": "name",
    "手机": "mobile",
    "乡镇代码": "township_codes",
    "类别": "type",
    "作物": "crop",
    "技术类别": "category",
    # A village's place (optional, decimal degrees; migration m017).
    "纬度": "latitude",
    "经度": "longitude",
    # Shown beside the data on the pages; nothing to load.
    "上级": "",
    "服务乡镇": "",
    "有效设备": "",
    "在岗": "",
}
CSV_WORDS: Final = {
    "level": {zh: code for code, zh in LEVEL_NAMES.items()},
    "type": {"技术": "technology", "品种": "variety", "资料": "leaflet"},
}


class CsvRows(list[dict[str, str]]):
    """A file's rows, and the line number of the first (3 when an export's title line leads)."""

    first_line = 2


def _cell_text(cell: Any) -> str:
    """A cell as text: an XLSX number that is whole (a code typed as a number) without '.0'."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer() and abs(cell) >= 1000:
        return str(int(cell))
    return str(cell)


def read_csv(path: str, source: str | None = None) -> CsvRows:
    """The CSV's (or an .xlsx file's first sheet's) rows keyed by its header, within
    file_limits' caps (GBK or UTF-16 named); the Chinese headers and words of the bureau's own
    exports read as columns and codes."""
    lines = []
    for cells in file_limits.table_rows(path, source or path):
        line = [_cell_text(cell) for cell in cells]
        while line and not line[-1].strip():
            line.pop()
        if line:
            lines.append(line)
    rows = CsvRows()
    if len(lines) > 1 and len(lines[0]) == 1:
        # An export's first line says what the file is (单位、截至 ...); the headers follow.
        lines = lines[1:]
        rows.first_line = 3
    if not lines:
        return rows
    header = [CSV_HEADERS.get(name.strip(), name.strip()) for name in lines[0]]
    for line in lines[1:]:
        read = {}
        for index, column in enumerate(header):
            if not column:
                continue
            value = (line[index] if index < len(line) else "").strip()
            read[column] = CSV_WORDS.get(column, {}).get(value, value)
        rows.append(read)
    return rows


def _validated(
    path: str, rows: list[dict[str, Any]], schema: Any, first_line: int = 2
) -> list[dict[str, Any]]:
    good, problems = [], []
    for number, row in enumerate(rows, start=first_line):
        try:
            good.append(schema.load(row))
        except ValidationError as exc:
            problems.append(line_problem(number, exc.messages))
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
    read = read_csv(path, source)
    rows: list[dict[str, Any]] = list(read)
    # A file without the optional place columns keeps the places already loaded (a list of
    # names reloaded must not wipe them); a file with them sets each, blank for none.
    has_place = any("latitude" in row or "longitude" in row for row in rows)
    placed = {} if has_place else _places(db)
    for row in rows:
        row["parent_code"] = row.get("parent_code") or None
        kept = placed.get(row.get("code", ""), (None, None))
        for column, before in zip(("latitude", "longitude"), kept, strict=True):
            row[column] = row.get(column) or before
    units = _validated(source or path, rows, UnitSchema(), read.first_line)
    with write_transaction(db):
        return _upsert(db, p.UNIT, units)


def _places(db: Database) -> dict[str, tuple[float, float]]:
    return {
        code: (lat, lon)
        for code, lat, lon in db.execute(
            "SELECT code, latitude, longitude FROM units WHERE latitude IS NOT NULL"
        )
    }


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
    envoys = _validated(source or path, prepared, EnvoySchema(), rows.first_line)
    with write_transaction(db):
        return _upsert(db, p.ENVOY, envoys)


def ensure_envoy(
    db: Database, name: str, township_codes: list[str], envoy_id: str | None = None
) -> dict[str, Any]:
    """The envoy of that name (and id, by default the one from the name) serving these
    townships, created or updated; InvalidRecord if the name or a township code is not valid."""
    try:
        envoy = EnvoySchema().load(
            {
                "id": envoy_id or catalogue_id(p.ENVOY, name),
                "name": name,
                "township_codes": township_codes,
            }
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
    for number, row in enumerate(rows, start=rows.first_line):
        entry_type = row.get("type", "")
        if entry_type not in CATALOGUE_KINDS:
            problems.append(
                f"第 {number} 行 / line {number}：类别须为 技术、品种 或 资料 / "
                f"type must be technology, variety or leaflet, not {entry_type!r}"
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
            problems.append(line_problem(number, exc.messages))
    if problems:
        raise BadReferenceFile(source or path, problems)
    with write_transaction(db):
        return {
            kind: _upsert(db, kind, _county_may_write(db, kind, records))
            for kind, records in by_kind.items()
        }


def stored_catalogue(db: Database, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """These catalogue rows as stored (only the fields a catalogue row carries), by id."""
    schema = next(schema for k, schema, _name in CATALOGUE_KINDS.values() if k == kind)
    names = list(schema().fields)
    columns = ", ".join(f'"{name}"' for name in names)
    found: dict[str, dict[str, Any]] = {}
    for chunk, marks in in_chunks(ids):
        for row in db.execute(
            f'SELECT {columns} FROM "{p.TABLES[kind]}" WHERE "id" IN ({marks})', chunk
        ):
            record = dict(zip(names, row, strict=True))
            found[record["id"]] = record
    return found


def _county_may_write(
    db: Database, kind: str, records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The catalogue rows a file may write here: ProvinceOwned for one that would change a row
    the province sent down the link; one the same as the province's is left as it is."""
    owned = owned_ids(db, kind)
    theirs = [record for record in records if record["id"] in owned]
    stored = stored_catalogue(db, kind, [record["id"] for record in theirs])
    for record in theirs:
        if stored.get(record["id"]) != record:
            raise ProvinceOwned(kind, str(record.get("name") or record.get("title")))
    return [record for record in records if record["id"] not in owned]
