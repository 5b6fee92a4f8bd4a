"""Refused changes kept with their record: which device, which record of which kind and envoy,
whether it was a new record, and why. Written only when a change is refused (the accepted path
writes nothing here); the per-envoy ledger (server/sync/envoy_ledger.py) reads them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from server.store import dialect
from shared.clock import to_iso, utc_now


@dataclass(frozen=True)
class Refusal:
    """One refused change, as the device sent it."""

    device_id: str
    seq: int
    kind: str | None
    record_id: str | None
    envoy_id: str | None
    created: bool  # a new record (the change named no version it edited)
    reason: str | None
    errors: dict[str, Any] | None = None  # field -> why, as the device was answered


def of_change(
    device_id: str,
    envoy_id: str | None,
    change: dict[str, Any],
    record_id: Any,
    reason: Any,
    errors: Any = None,
) -> Refusal:
    """The refusal of a change (a wire change: q, k, i, b, f) with the id it names or derives."""
    kind = change.get("k")
    return Refusal(
        device_id,
        int(change["q"]),
        kind if isinstance(kind, str) else None,
        record_id if isinstance(record_id, str) else None,
        envoy_id,
        not change.get("b"),
        reason if isinstance(reason, str) else None,
        errors if isinstance(errors, dict) and errors else None,
    )


COLUMNS = (
    "device_id",
    "seq",
    "kind",
    "record_id",
    "envoy_id",
    "created",
    "reason",
    "errors",
    "at",
)
KEY = ("device_id", "seq")


def record(db: Database, refusals: Iterable[Refusal]) -> None:
    """Keep these refusals (the caller's transaction commits them); a change refused again,
    after being held, replaces its earlier row."""
    at = to_iso(utc_now())
    db.conn.executemany(
        dialect.insert_or_replace(dialect.engine_of(db), "refusals", COLUMNS, KEY),
        [
            (
                r.device_id,
                r.seq,
                r.kind,
                r.record_id,
                r.envoy_id,
                int(r.created),
                r.reason,
                None if r.errors is None else json.dumps(r.errors, ensure_ascii=False),
                at,
            )
            for r in refusals
        ],
    )
