"""Turning stored rows into record states and back, for field and reference tables alike."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from server.migrations import FIELD_TABLES, REFERENCE_TABLES
from shared import protocol as p
from shared.merge import STAMPS
from shared.schemas.field import data_fields

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


def row_to_state(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as a record state (lists decoded, booleans as booleans, stamps attached)."""
    state: dict[str, Any] = {}
    for name, value in row.items():
        if name == "stamps":
            state[STAMPS] = expand_stamps(value, row.get("device_id") or "")
        elif name in INTERNAL_COLUMNS:
            continue
        elif name in LIST_COLUMNS:
            state[name] = json.loads(value) if value else []
        elif name in BOOL_COLUMNS:
            state[name] = bool(value)
        else:
            state[name] = value
    return state


STAMP_TIME_LENGTH = 19  # PPPPPPPPPPPPP.CCCCC


def compact_stamps(stamps: dict[str, str], device_id: str) -> str:
    """Stamps as stored: the creating device's id is left off its own stamps (most of them),
    which keeps a check-in row about 200 bytes smaller."""
    suffix = "." + device_id
    # Field names and stamps are plain ASCII (names, digits, dots, UUIDs): joined by hand,
    # which is several times quicker than the JSON encoder on the push path.
    parts = []
    for name, stamp in stamps.items():
        short = stamp[:STAMP_TIME_LENGTH] if device_id and stamp.endswith(suffix) else stamp
        parts.append(f'"{name}":"{short}"')
    return "{" + ",".join(parts) + "}"


def _id_list(items: list[str]) -> str:
    """A list of ids or division codes (validated ASCII) as JSON text."""
    if any('"' in item or "\\" in item for item in items):
        return _dumps(items)
    return '["' + '","'.join(items) + '"]' if items else "[]"


def expand_stamps(stored: str | None, device_id: str) -> dict[str, str]:
    stamps: dict[str, str] = json.loads(stored) if stored else {}
    return {
        name: f"{stamp}.{device_id}" if len(stamp) == STAMP_TIME_LENGTH else stamp
        for name, stamp in stamps.items()
    }


@dataclass(frozen=True)
class WritePlan:
    """Columns of a table grouped by how a state's value is stored, in the order written."""

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
            + (("stamps",) if self.stamped else ())
            + self.internal
        )


@functools.cache
def write_plan(kind: str) -> WritePlan:
    names = columns_of(kind)
    return WritePlan(
        plain=tuple(
            n
            for n in names
            if n not in LIST_COLUMNS
            and n not in BOOL_COLUMNS
            and n not in INTERNAL_COLUMNS
            and n != "stamps"
        ),
        lists=tuple(n for n in names if n in LIST_COLUMNS),
        flags=tuple(n for n in names if n in BOOL_COLUMNS),
        stamped="stamps" in names,
        internal=tuple(n for n in names if n in INTERNAL_COLUMNS and n != "stamps"),
    )


def row_values(plan: WritePlan, state: dict[str, Any], internal: dict[str, Any]) -> list[Any]:
    """A state as values in `plan.columns` order, for executemany on the hot write path."""
    values = list(map(state.get, plan.plain))
    values += [_id_list(state.get(name) or []) for name in plan.lists]
    values += [1 if state.get(name) else 0 for name in plan.flags]
    if plan.stamped:
        values.append(compact_stamps(state.get(STAMPS, {}), state.get("device_id") or ""))
    values += map(internal.get, plan.internal)
    return values


_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def state_to_row(kind: str, state: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in columns_of(kind):
        if name == "stamps":
            row[name] = compact_stamps(state.get(STAMPS, {}), state.get("device_id") or "")
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
    wanted = list(dict.fromkeys(ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.query(f"SELECT * FROM [{table}] WHERE id IN ({marks})", chunk):
            found[row["id"]] = row_to_state(row)
    return found


def existing_ids(db: Database, kind: str, ids: Iterable[str]) -> set[str]:
    table = table_of(kind)
    key = pk_of(kind)
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT [{key}] FROM [{table}] WHERE [{key}] IN ({marks})"
        found.update(row[0] for row in db.execute(sql, chunk))
    return found


def existing_ids_with(
    db: Database, kind: str, ids: Iterable[str], column: str
) -> list[tuple[str, str]]:
    """(id, column value) of those ids that exist, for lookups that need one field only."""
    table = table_of(kind)
    wanted = list(dict.fromkeys(ids))
    found: list[tuple[str, str]] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found += db.execute(
            f"SELECT id, [{column}] FROM [{table}] WHERE id IN ({marks})", chunk
        ).fetchall()
    return found
