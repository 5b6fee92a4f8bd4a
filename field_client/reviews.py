"""The bureau's reviews of this envoy's records, as pulled: what was returned (退回) or questioned
(有问题), the staff note, and whether the envoy has changed the record here since."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from field_client import names
from field_client.outbox import PENDING
from field_client.store import FieldStore
from shared import protocol as p
from shared import review_status as rs
from shared.clock import CHINA, parse_iso

# Shown to the envoy, returned first: what they are asked to correct, then what staff doubt,
# then what they corrected and staff have yet to look at again.
LISTED = (rs.RETURNED, rs.QUESTIONED, rs.CORRECTED)


@dataclass(frozen=True)
class ReviewedRecord:
    """One of this envoy's records under review, as the reviews page lists it."""

    kind: str
    record_id: str
    status: str
    note: str
    reviewed_at: str
    # What the envoy knows the record by (a session's title and time, a farmer's name ...);
    # empty when the record is not on this device.
    label: str
    # The record is on this device and not deleted, so it can be edited here.
    present: bool
    # An edit of it, or a correction naming it, waits in the outbox for the next sync.
    changed_here: bool
    # For a check-in or a plot observation: the session or plot it belongs to.
    parent_id: str | None


def counts(store: FieldStore) -> dict[str, int]:
    """How many of this envoy's records each review status holds (returned, questioned ...)."""
    return {
        status: int(count)
        for status, count in store.db.execute(
            "SELECT status, count(*) FROM reviews GROUP BY status"
        )
    }


def under_review(store: FieldStore) -> list[ReviewedRecord]:
    """Returned, questioned and corrected records, in that order, the latest review first."""
    rows = store.db.execute(
        f"SELECT record_kind, record_id, status, note, reviewed_at FROM reviews "
        f"WHERE status IN ({','.join('?' * len(LISTED))}) ORDER BY reviewed_at DESC",
        list(LISTED),
    ).fetchall()
    if not rows:
        return []
    changed = _changed_here(store, [row[1] for row in rows])
    listed = []
    for kind, record_id, status, note, reviewed_at in rows:
        record = store.record(kind, record_id)
        listed.append(
            ReviewedRecord(
                kind=kind,
                record_id=record_id,
                status=status,
                note=note or "",
                reviewed_at=reviewed_at or "",
                label=_label(store, kind, record) if record else "",
                present=record is not None and not record.get("deleted"),
                changed_here=record_id in changed,
                parent_id=(record or {}).get("session_id") or (record or {}).get("plot_id"),
            )
        )
    return sorted(listed, key=lambda r: LISTED.index(r.status))


def review_of(store: FieldStore, kind: str, record_id: str) -> dict[str, Any] | None:
    """The record's present review as pulled ({status, note, reviewed_at}), or None."""
    row = store.db.execute(
        "SELECT status, note, reviewed_at FROM reviews WHERE record_kind = ? AND record_id = ?",
        [kind, record_id],
    ).fetchone()
    return {"status": row[0], "note": row[1], "reviewed_at": row[2]} if row else None


def _changed_here(store: FieldStore, ids: list[str]) -> set[str]:
    """Which of these records an unsent change edits or (an event) corrects."""
    marks = ",".join("?" * len(ids))
    found = store.db.execute(
        f"SELECT id, json_extract(fields, '$.correction_of') FROM outbox WHERE state = ? AND "
        f"(id IN ({marks}) OR json_extract(fields, '$.correction_of') IN ({marks}))",
        [PENDING, *ids, *ids],
    ).fetchall()
    wanted = set(ids)
    return {value for row in found for value in row if value in wanted}


def _label(store: FieldStore, kind: str, record: dict[str, Any]) -> str:
    """A line the envoy knows the record by."""
    if kind == p.SESSION:
        return f"{record.get('title') or ''} · {_china(record.get('starts_at'))}"
    if kind == p.FARMER:
        village = names.unit_names(store).get(record.get("village_code") or "", "")
        return " · ".join(part for part in (record.get("name") or "", village) if part)
    if kind == p.ATTENDANCE:
        farmer = store.record(p.FARMER, record.get("farmer_id") or "") or {}
        session = store.record(p.SESSION, record.get("session_id") or "") or {}
        return f"{farmer.get('name') or '?'} @ {session.get('title') or '?'}"
    if kind == p.PLOT:
        area = record.get("area_mu")
        return " · ".join(
            str(part)
            for part in (record.get("host_name"), record.get("crop"), area and f"{area:g} mu")
            if part
        )
    if kind == p.PLOT_OBSERVATION:
        plot = store.record(p.PLOT, record.get("plot_id") or "") or {}
        return f"{plot.get('host_name') or '?'} · {record.get('observed_on') or ''}"
    if kind in (p.LEAFLET_RECEIPT, p.LEAFLET_HANDOUT):
        titles = {t["id"]: t.get("title") for t in store.reference(p.LEAFLET_TITLE)}
        title = titles.get(record.get("leaflet_title_id")) or record.get("leaflet_title_id")
        return f"{title} × {record.get('copies')}"
    return record.get("id") or ""


def _china(iso: str | None) -> str:
    return parse_iso(iso).astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if iso else ""
