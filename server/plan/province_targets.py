"""Targets a province sets for its counties: sent down a county's link, kept read-only there."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from server.accounts import audit
from server.plan.targets import _stored, _write, audit_file, target_id, target_text, validate_target
from server.store.db import write_transaction
from server.store.province_rows import hold
from shared import protocol as p

# What a target carries down the link: a unit's target (envoys' are each county's own affair).
SENT = ("year", "unit_code", "indicator", "comparator", "value", "growth_percent")
SOURCE = "省级下达 / set by the province"


def targets_for_county(db: Database, county_code: str) -> list[dict[str, Any]]:
    """On the province: every unit target it holds for the county and the places within it."""
    return [
        {name: row[name] for name in SENT}
        for row in db.query(
            "SELECT * FROM targets WHERE envoy_id IS NULL AND substr(unit_code, 1, 6) = ? "
            "ORDER BY id",
            [county_code],
        )
    ]


def take_province_targets(db: Database, sent: list[dict[str, Any]]) -> tuple[int, int]:
    """On the county: make the province's targets this county's, all or none (InvalidTarget
    names a bad one); drop those the province no longer sets. Only what changed is written, so
    the next run of the timer writes nothing. Returns (written, removed)."""
    loaded = [validate_target(db, {k: v for k, v in row.items() if v is not None}) for row in sent]
    wanted = {target_id(target): target for target in loaded}
    with write_transaction(db):
        stored = _stored(db, list(wanted))
        changed = [
            target
            for key, target in wanted.items()
            if key not in stored or target_text(stored[key]) != target_text(target)
        ]
        gone = hold(db, p.TARGET, list(wanted))
        if changed:
            audit_file(db, audit.SYSTEM, SOURCE, {target_id(t): target_text(t) for t in changed})
            _write(db, changed)
        before = _stored(db, gone)
        for key in gone:
            if key in before:
                row = before[key]
                logged = {name: row.get(name) for name in (*SENT, "envoy_id")}
                audit.record(db, audit.SYSTEM, audit.TARGET_DELETE, "target", key, logged, None)
            db.execute("DELETE FROM targets WHERE id = ?", [key])
    return len(changed), len(gone)
