"""Turning stored rows into record states and back, for field and reference tables alike."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, overload

from sqlite_utils import Database

from server.store.sql_text import in_chunks
from server.store.tables import FIELD_TABLES, REFERENCE_TABLES
from shared import protocol as p
from shared.merge import STAMPS
from shared.schemas.field import ADDED_FIELDS, data_fields

LIST_COLUMNS = {"technology_ids", "co_envoy_ids", "seen_by", "township_codes"}
BOOL_COLUMNS = {"deleted", "closed", "active"}
# What a state carries besides its data fields, on both sides of the wire.
STATE_META = ("id", "envoy_id", "device_id", "created_at", "updated_at", "deleted", "hlc")
INTERNAL_COLUMNS = {"stamps", "township_code", "origin_device", "server_seq"}


def table_of(kind: str) -> str:
    return p.TABLES[kind]


@functools.cache
def columns_of(kind: str) -> list[str]:
    table = table_of(kind)
    if table in FIELD_TABLES:
        return list(FIELD_TABLES[table]) + [
            "envoy_id",
            "device_id",
            "created_at",
            "updated_at",
            "deleted",
            "hlc",
            "stamps",
            "township_code",
            "origin_device",
            "server_seq",
        ]
    columns, _pk = REFERENCE_TABLES[table]
    return list(columns) + ["server_seq"]


def pk_of(kind: str) -> str:
    table = table_of(kind)
    return "id" if table in FIELD_TABLES else REFERENCE_TABLES[table][1]


def row_to_state(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as a record state (lists decoded, booleans as booleans, stamps attached)."""
    state: dict[str, Any] = {}
    device_id = row.get("device_id") or ""
    for name, value in row.items():
        if name in INTERNAL_COLUMNS:
            continue
        if name in LIST_COLUMNS:
            state[name] = json.loads(value) if value else []
        elif name in BOOL_COLUMNS:
            state[name] = bool(value)
        elif name == "hlc":
            state[name] = _expand_stamp(value, device_id)
        else:
            state[name] = value
    if "stamps" in row:
        state[STAMPS] = expand_stamps(kind, row["stamps"], device_id, state.get("hlc") or "")
    return state


STAMP_TIME_LENGTH = 19  # PPPPPPPPPPPPP.CCCCC
# Stored stamps that all equal the record's hlc: "*" and a hex mask over stamp_names(kind).
UNIFORM = "*"


@functools.cache
def stamp_names(kind: str) -> dict[str, int]:
    """Each field a stamp can be kept for, with its bit in a uniform-stamps mask.

    Fields added to a kind later (ADDED_FIELDS) take bits after `deleted`, so masks stored
    before they existed still mean the same fields.
    """
    added = ADDED_FIELDS.get(kind, ())
    first = tuple(name for name in data_fields(kind) if name not in added)
    return {name: 1 << n for n, name in enumerate((*first, "deleted", *added))}


def compact_stamps(kind: str, stamps: dict[str, str], device_id: str, hlc: str) -> str:
    """Stamps as stored, as small as they can be: most records were written in one edit, so all
    their stamps equal their hlc and a mask of the stamped fields says everything (a check-in
    row is 170 bytes smaller). Otherwise, JSON with the creating device's id left off its own
    stamps."""
    if stamps and hlc and all(stamp == hlc for stamp in stamps.values()):
        bits = stamp_names(kind)
        if stamps.keys() <= bits.keys():
            return UNIFORM + format(sum(bits[name] for name in stamps), "x")
    suffix = "." + device_id
    # Field names and stamps are plain ASCII (names, digits, dots, UUIDs): joined by hand,
    # which is several times quicker than the JSON encoder on the push path.
    parts = []
    for name, stamp in stamps.items():
        short = stamp[:STAMP_TIME_LENGTH] if device_id and stamp.endswith(suffix) else stamp
        parts.append(f'"{name}":"{short}"')
    return "{" + ",".join(parts) + "}"


def expand_stamps(kind: str, stored: str | None, device_id: str, hlc: str) -> dict[str, str]:
    if stored and stored[0] == UNIFORM:
        mask = int(stored[1:], 16)
        return {name: hlc for name, bit in stamp_names(kind).items() if mask & bit}
    stamps: dict[str, str] = json.loads(stored) if stored else {}
    return {name: _expand_stamp(stamp, device_id) for name, stamp in stamps.items()}


def compact_stamp(stamp: str | None, device_id: str) -> str | None:
    """One stamp as stored: without the device id when it is the row's own device."""
    if stamp and device_id and stamp[STAMP_TIME_LENGTH + 1 :] == device_id:
        return stamp[:STAMP_TIME_LENGTH]
    return stamp


@overload
def _expand_stamp(stamp: str, device_id: str) -> str: ...


@overload
def _expand_stamp(stamp: str | None, device_id: str) -> str | None: ...


def _expand_stamp(stamp: str | None, device_id: str) -> str | None:
    """A stored stamp with its device part back, when the row's own device left it off."""
    if stamp and len(stamp) == STAMP_TIME_LENGTH:
        return f"{stamp}.{device_id}"
    return stamp


def _id_list(items: list[str]) -> str:
    """A list of ids or division codes (validated ASCII) as JSON text."""
    if any('"' in item or "\\" in item for item in items):
        return _dumps(items)
    return '["' + '","'.join(items) + '"]' if items else "[]"


@dataclass(frozen=True)
class WritePlan:
    """Columns of a table grouped by how a state's value is stored, in the order written."""

    kind: str
    plain: tuple[str, ...]
    lists: tuple[str, ...]
    flags: tuple[str, ...]
    stamped: bool
    internal: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return (
            self.plain
            + self.lists
            + self.flags
            + (("hlc", "stamps") if self.stamped else ())
            + self.internal
        )


@functools.cache
def write_plan(kind: str) -> WritePlan:
    names = columns_of(kind)
    stamped = "stamps" in names
    return WritePlan(
        kind=kind,
        plain=tuple(
            n
            for n in names
            if n not in LIST_COLUMNS
            and n not in BOOL_COLUMNS
            and n not in INTERNAL_COLUMNS
            and not (stamped and n in ("hlc", "stamps"))
        ),
        lists=tuple(n for n in names if n in LIST_COLUMNS),
        flags=tuple(n for n in names if n in BOOL_COLUMNS),
        stamped=stamped,
        internal=tuple(n for n in names if n in INTERNAL_COLUMNS and n != "stamps"),
    )


def row_values(plan: WritePlan, state: dict[str, Any], internal: dict[str, Any]) -> list[Any]:
    """A state as values in `plan.columns` order, for executemany on the hot write path."""
    values = list(map(state.get, plan.plain))
    values += [_id_list(state.get(name) or []) for name in plan.lists]
    values += [1 if state.get(name) else 0 for name in plan.flags]
    if plan.stamped:
        device_id, hlc = state.get("device_id") or "", state.get("hlc") or ""
        values.append(compact_stamp(hlc, device_id))
        values.append(compact_stamps(plan.kind, state.get(STAMPS, {}), device_id, hlc))
    values += map(internal.get, plan.internal)
    return values


_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def state_to_row(kind: str, state: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in columns_of(kind):
        if name == "stamps":
            device_id, hlc = state.get("device_id") or "", state.get("hlc") or ""
            row[name] = compact_stamps(kind, state.get(STAMPS, {}), device_id, hlc)
        elif name == "hlc" and "stamps" in columns_of(kind):
            row[name] = compact_stamp(state.get("hlc"), state.get("device_id") or "")
        elif name in INTERNAL_COLUMNS:
            continue
        elif name in LIST_COLUMNS:
            row[name] = json.dumps(state.get(name) or [], separators=(",", ":"))
        elif name in BOOL_COLUMNS:
            row[name] = 1 if state.get(name) else 0
        else:
            row[name] = state.get(name)
    return row


def data_of(kind: str, state: dict[str, Any]) -> dict[str, Any]:
    """The fields the schema validates: data plus metadata, no stamps."""
    names = set(data_fields(kind)) | set(STATE_META)
    return {name: value for name, value in state.items() if name in names}


def fetch_states(db: Database, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Current states of the given ids, in chunks so the SQL stays within SQLite's limits."""
    table = table_of(kind)
    found: dict[str, dict[str, Any]] = {}
    for chunk, marks in in_chunks(dict.fromkeys(ids)):
        for row in db.query(f"SELECT * FROM [{table}] WHERE id IN ({marks})", chunk):
            found[row["id"]] = row_to_state(kind, row)
    return found


def existing_ids(db: Database, kind: str, ids: Iterable[str]) -> set[str]:
    table = table_of(kind)
    key = pk_of(kind)
    found: set[str] = set()
    for chunk, marks in in_chunks(dict.fromkeys(ids)):
        where = f"FROM [{table}] WHERE [{key}] IN ({marks})"
        # Usually every id asked about is there (a push's farmers, again and again): a count
        # says so without building a row per id, which took three quarters of the time.
        if db.execute(f"SELECT count(*) {where}", chunk).fetchone()[0] == len(chunk):
            found.update(chunk)
            continue
        found.update(row[0] for row in db.execute(f"SELECT [{key}] {where}", chunk))
    return found


def existing_ids_with(
    db: Database, kind: str, ids: Iterable[str], column: str
) -> list[tuple[str, str]]:
    """(id, column value) of those ids that exist, for lookups that need one field only."""
    table = table_of(kind)
    found: list[tuple[str, str]] = []
    for chunk, marks in in_chunks(dict.fromkeys(ids)):
        found += db.execute(
            f"SELECT id, [{column}] FROM [{table}] WHERE id IN ({marks})", chunk
        ).fetchall()
    return found
