"""Photo records as the pages show them: a session's or observation's photos with whether their
bytes have all arrived and whose they are (who may open them: server/media/serving.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from shared import protocol as p

SESSION = "session"
OBSERVATION = "observation"
# What a photo's subject_kind names: its subject_id is then a record of this kind.
SUBJECT_KINDS: dict[str, str] = {SESSION: p.SESSION, OBSERVATION: p.PLOT_OBSERVATION}


def photo_subject(values: dict[str, Any], current: dict[str, Any] | None) -> tuple[str, str] | None:
    """The kind and id of the record a photo (as it will stand after this change) shows."""
    merged = {**(current or {}), **values}
    target = SUBJECT_KINDS.get(merged.get("subject_kind") or "")
    subject_id = merged.get("subject_id")
    return (target, subject_id) if target and isinstance(subject_id, str) and subject_id else None


@dataclass(frozen=True)
class Photo:
    """One photo record, with how much of its bytes the server holds."""

    id: str
    envoy_id: str
    envoy: str | None
    subject_kind: str
    subject_id: str
    photo_kind: str
    sha256: str
    size_bytes: int
    width: int | None
    height: int | None
    taken_at: str | None
    recorded_at: str | None
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    note: str | None
    deleted: bool
    received: int
    complete: bool

    @property
    def when(self) -> str | None:
        """When it was taken: the camera's time, else the device's when it was added."""
        return self.taken_at or self.recorded_at

    @property
    def placed(self) -> bool:
        return self.latitude is not None and self.longitude is not None


_SELECT = (
    "SELECT ph.*, e.name AS envoy_name, coalesce(m.received, 0) AS media_received, "
    "coalesce(m.complete, 0) AS media_complete FROM photos ph "
    "LEFT JOIN envoys e ON e.id = ph.envoy_id LEFT JOIN media m ON m.sha256 = ph.sha256 "
)


def _photo(row: dict[str, Any]) -> Photo:
    return Photo(
        id=row["id"],
        envoy_id=row["envoy_id"],
        envoy=row["envoy_name"],
        subject_kind=row["subject_kind"],
        subject_id=row["subject_id"],
        photo_kind=row["photo_kind"],
        sha256=row["sha256"],
        size_bytes=int(row["size_bytes"] or 0),
        width=row["width"],
        height=row["height"],
        taken_at=row["taken_at"],
        recorded_at=row["recorded_at"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        accuracy_m=row["accuracy_m"],
        note=row["note"],
        deleted=bool(row["deleted"]),
        received=int(row["media_received"]),
        complete=bool(row["media_complete"]),
    )


def photos_of(db: Database, subject_kind: str, subject_id: str) -> list[Photo]:
    """The live photos of a session or a plot observation, in the order they were taken."""
    return [
        _photo(row)
        for row in db.query(
            _SELECT + "WHERE ph.subject_kind = ? AND ph.subject_id = ? AND ph.deleted = 0 "
            "ORDER BY coalesce(ph.taken_at, ph.recorded_at), ph.id",
            [subject_kind, subject_id],
        )
    ]


def photo_by_id(db: Database, photo_id: str) -> Photo | None:
    rows = list(db.query(_SELECT + "WHERE ph.id = ?", [photo_id]))
    return _photo(rows[0]) if rows else None


def photos_of_sha(db: Database, sha256: str) -> list[Photo]:
    """Every photo record naming these bytes (one picture may back several records)."""
    return [_photo(row) for row in db.query(_SELECT + "WHERE ph.sha256 = ?", [sha256])]


def subject_owners(db: Database, subject_kind: str, subject_id: str) -> set[str]:
    """The envoys whose record a photo's subject is: a session's lead and co-envoys, an
    observation's maker and its plot's envoy."""
    found: set[str] = set()
    if subject_kind == SESSION:
        row = db.execute(
            "SELECT lead_envoy_id, co_envoy_ids FROM sessions WHERE id = ?", [subject_id]
        ).fetchone()
        if row:
            found.update([row[0], *json.loads(row[1] or "[]")])
    elif subject_kind == OBSERVATION:
        row = db.execute(
            "SELECT o.envoy_id, p.envoy_id FROM plot_observations o "
            "LEFT JOIN plots p ON p.id = o.plot_id WHERE o.id = ?",
            [subject_id],
        ).fetchone()
        if row:
            found.update(row)
    return {owner for owner in found if owner}


def owners(db: Database, photo: Photo) -> set[str]:
    """The envoys whose record a photo is: its maker and its subject's, as the review page
    judges a record's owners."""
    return {photo.envoy_id, *subject_owners(db, photo.subject_kind, photo.subject_id)}


def one_per_session(db: Database, session_ids: list[str]) -> dict[str, Photo]:
    """For each session, the photo a summary shows: a site photo before a sign-in sheet before
    a display board, whole ones only, the earliest taken."""
    chosen: dict[str, Photo] = {}
    rank = {"site": 0, "signin_sheet": 1, "display_board": 2}
    for start in range(0, len(session_ids), 500):
        part = session_ids[start : start + 500]
        rows = db.query(
            _SELECT + "WHERE ph.subject_kind = 'session' AND ph.deleted = 0 AND m.complete = 1 "
            f"AND ph.subject_id IN ({','.join('?' * len(part))})",
            part,
        )
        for row in rows:
            photo = _photo(row)
            best = chosen.get(photo.subject_id)
            key = (rank.get(photo.photo_kind, 9), photo.when or "", photo.id)
            if best is None or key < (rank.get(best.photo_kind, 9), best.when or "", best.id):
                chosen[photo.subject_id] = photo
    return chosen
