"""Photos on the device: reduced for 2G, bytes kept by SHA-256 beside the database, recorded
with their outbox entry in one transaction, and what of them the server still lacks."""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from field_client import names
from field_client.outbox import PENDING
from field_client.store import FieldStore
from shared import photos as shared_photos
from shared import protocol as p
from shared.choices import PHOTO_KINDS, parse_choice
from shared.errors import TianjianError
from shared.schemas.field import PHOTO_KINDS_OF_SUBJECT, SHA256_HEX

# The record kind each subject names.
SUBJECT_RECORD_KINDS = {"session": p.SESSION, "observation": p.PLOT_OBSERVATION}
# Thumbnails for the session page: small enough that a dozen load at once over the hotspot.
THUMB_SIDE = 320
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600


class NotYourSubject(TianjianError):
    """Photos go on the envoy's own sessions and observations (the server's rule for writes)."""

    status = 403
    message = (
        "只能给自己主持或协办的培训、自己的观察记录加照片 / "
        "photos go only on your own sessions and observations"
    )


@dataclass(frozen=True)
class PhotoAdded:
    """A photo just recorded (`new` False when the same picture was already on the subject)."""

    id: str
    new: bool
    sha256: str
    size_bytes: int
    width: int
    height: int
    taken_at: str | None
    latitude: float | None
    longitude: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PhotoRow:
    """A photo of a subject as its page lists it; `here` when its bytes are on this device."""

    id: str
    photo_kind: str
    sha256: str
    size_bytes: int
    taken_at: str | None
    recorded_at: str
    latitude: float | None
    longitude: float | None
    note: str | None
    here: bool
    sent: int
    complete: bool
    # Why the last upload try stopped ("中文 / English"), if it did.
    error: str | None = None


@dataclass(frozen=True)
class Waiting:
    """Photos taken here whose bytes the server does not hold whole yet, and how far along."""

    photos: int
    bytes_total: int
    bytes_sent: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Upload:
    """One file to send: its hash, size, and how much the server was last known to hold."""

    sha256: str
    size_bytes: int
    sent: int


# ------------------------------------------------------------------ files


def media_dir(store: FieldStore) -> Path:
    """The folder beside the database that holds photos' bytes (never SQLite)."""
    database = Path(store.path)
    return database.with_name(database.stem + ".media")


def photo_path(store: FieldStore, sha256: str) -> Path:
    return media_dir(store) / sha256[:2] / f"{sha256}.jpg"


def thumb_path(store: FieldStore, sha256: str) -> Path:
    return media_dir(store) / sha256[:2] / f"{sha256}.thumb.jpg"


def read_photo(store: FieldStore, sha256: str) -> bytes | None:
    """The kept bytes of a photo, or None when missing or not what their name says."""
    try:
        data = photo_path(store, sha256).read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def _keep(path: Path, data: bytes) -> None:
    """Write `data` at `path` whole or not at all, readable by the device's user only
    (photos of people are personal information)."""
    if path.is_file() and path.stat().st_size == len(data):
        return  # content-addressed: the same name holds the same bytes
    path.parent.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def _thumbnail(jpeg: bytes) -> bytes:
    with Image.open(io.BytesIO(jpeg)) as image:
        small = image.convert("RGB")
        small.thumbnail((THUMB_SIDE, THUMB_SIDE))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=70)
    return out.getvalue()


# ------------------------------------------------------------------ recording


def add_photo(
    store: FieldStore,
    subject_kind: str,
    subject: str,
    data: bytes,
    photo_kind: str | None = None,
    note: str | None = None,
) -> PhotoAdded:
    """Record a photo of a session ("现场" site, "签到表" sign-in sheet, "展板" display board)
    or of a plot observation, from the file's bytes.

    The subject is named as elsewhere (a session by id, title or day; an observation by its
    id or the first characters of it). The image is checked and reduced first (shared/photos):
    a bad file is refused before anything is written. Its bytes are then kept in the media
    folder, and the record, its outbox entry and the upload's state in one transaction.
    """
    _device, envoy_id = store.identity()
    subject_id = _own_subject(store, subject_kind, subject, envoy_id)
    kind = _photo_kind(subject_kind, photo_kind)
    reduced = shared_photos.reduce_photo(data)
    _keep(photo_path(store, reduced.sha256), reduced.jpeg)
    _keep(thumb_path(store, reduced.sha256), _thumbnail(reduced.jpeg))
    with store.transaction():
        same = _same_photo(store, subject_kind, subject_id, reduced.sha256)
        record_id = same or ""
        if same is None:
            values = {
                "subject_kind": subject_kind,
                "subject_id": subject_id,
                "photo_kind": kind,
                "sha256": reduced.sha256,
                "size_bytes": len(reduced.jpeg),
                "width": reduced.width,
                "height": reduced.height,
                "taken_at": reduced.taken_at,
                "recorded_at": store.best_now_iso(),
                "latitude": reduced.latitude,
                "longitude": reduced.longitude,
                "accuracy_m": reduced.accuracy_m,
                "note": note or None,
            }
            record_id = store.create(p.PHOTO, values)
            store.db.execute(
                "INSERT INTO photos (id, subject_kind, subject_id, sha256, added_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [record_id, subject_kind, subject_id, reduced.sha256, values["recorded_at"]],
            )
            store.db.execute(
                "INSERT INTO photo_uploads (sha256, size_bytes) VALUES (?, ?) "
                "ON CONFLICT(sha256) DO NOTHING",
                [reduced.sha256, len(reduced.jpeg)],
            )
    return PhotoAdded(
        id=record_id,
        new=same is None,
        sha256=reduced.sha256,
        size_bytes=len(reduced.jpeg),
        width=reduced.width,
        height=reduced.height,
        taken_at=reduced.taken_at,
        latitude=reduced.latitude,
        longitude=reduced.longitude,
    )


def _own_subject(store: FieldStore, subject_kind: str, subject: str, envoy_id: str) -> str:
    if subject_kind == "session":
        subject_id = names.session_id(store, subject)
        record = store.record(p.SESSION, subject_id) or {}
        allowed = envoy_id in (
            record.get("lead_envoy_id"),
            record.get("envoy_id"),
            *(record.get("co_envoy_ids") or []),
        )
    elif subject_kind == "observation":
        subject_id = names.record_id(store, p.PLOT_OBSERVATION, subject)
        record = store.record(p.PLOT_OBSERVATION, subject_id) or {}
        allowed = record.get("envoy_id") == envoy_id
    else:
        raise TianjianError(
            f"subject_kind: 照片只能属于培训或观察 / a photo belongs to a session or an "
            f"observation, not {subject_kind!r}",
            {"subject_kind": "session | observation"},
        )
    if not allowed:
        raise NotYourSubject(errors={subject_kind: "not yours"})
    return subject_id


def _photo_kind(subject_kind: str, typed: str | None) -> str:
    allowed = PHOTO_KINDS_OF_SUBJECT[subject_kind]
    if not typed:
        if len(allowed) == 1:
            return allowed[0]
        typed = ""
    labels = {code: PHOTO_KINDS[code].zh for code in allowed}
    return parse_choice(labels, typed, "photo_kind")


def _same_photo(store: FieldStore, subject_kind: str, subject_id: str, sha256: str) -> str | None:
    """A live photo of these very bytes already on the subject (a double tap, a file given
    twice): it is not recorded again."""
    row = store.db.execute(
        "SELECT ph.id FROM photos ph JOIN records r ON r.kind = ? AND r.id = ph.id "
        "WHERE ph.subject_kind = ? AND ph.subject_id = ? AND ph.sha256 = ? AND r.deleted = 0",
        [p.PHOTO, subject_kind, subject_id, sha256],
    ).fetchone()
    return row[0] if row else None


# ------------------------------------------------------------------ reading


def photos_of(store: FieldStore, subject_kind: str, subject_id: str) -> list[PhotoRow]:
    """Live photos of a subject, made here or pulled, newest first."""
    rows = store.db.execute(
        "SELECT r.data, ph.id IS NOT NULL, u.sent, u.complete, u.error FROM records r "
        "LEFT JOIN photos ph ON ph.id = r.id "
        "LEFT JOIN photo_uploads u ON u.sha256 = ph.sha256 "
        "WHERE r.kind = ? AND r.deleted = 0 AND json_extract(r.data, '$.subject_kind') = ? "
        "AND json_extract(r.data, '$.subject_id') = ?",
        [p.PHOTO, subject_kind, subject_id],
    ).fetchall()
    found = []
    for data, here, sent, complete, error in rows:
        record = json.loads(data)
        found.append(
            PhotoRow(
                id=record["id"],
                photo_kind=record.get("photo_kind") or "",
                sha256=record.get("sha256") or "",
                size_bytes=int(record.get("size_bytes") or 0),
                taken_at=record.get("taken_at"),
                recorded_at=record.get("recorded_at") or "",
                latitude=record.get("latitude"),
                longitude=record.get("longitude"),
                note=record.get("note"),
                here=bool(here),
                sent=int(sent or 0),
                complete=bool(complete),
                error=error,
            )
        )
    return sorted(found, key=lambda row: row.recorded_at, reverse=True)


# Photos taken here, live, whose bytes are not all on the server. A file named by several
# records (one picture on two sessions) is one upload.
_WAITING = (
    "SELECT DISTINCT u.sha256, u.size_bytes, u.sent FROM photo_uploads u "
    "JOIN photos ph ON ph.sha256 = u.sha256 "
    "JOIN records r ON r.kind = ? AND r.id = ph.id AND r.deleted = 0 "
    "WHERE u.complete = 0"
)


def waiting(store: FieldStore) -> Waiting:
    rows = store.db.execute(_WAITING, [p.PHOTO]).fetchall()
    return Waiting(
        photos=len(rows),
        bytes_total=sum(size for _sha, size, _sent in rows),
        bytes_sent=sum(min(sent, size) for _sha, size, sent in rows),
    )


def uploadable(store: FieldStore) -> list[Upload]:
    """Files to send now: waiting, and named by a record the server already has (its create
    pushed: the server takes bytes only for a photo record it holds), oldest first."""
    rows = store.db.execute(
        _WAITING + " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = ? AND o.id = ph.id "
        "AND o.state = ? AND o.is_create = 1) ORDER BY u.rowid",
        [p.PHOTO, p.PHOTO, PENDING],
    ).fetchall()
    return [Upload(sha, size, sent) for sha, size, sent in rows]


def note_upload(
    store: FieldStore, sha256: str, received: int, complete: bool, error: str | None = None
) -> None:
    """What the server said it holds of a file (and why a try stopped, if it did)."""
    with store.transaction():
        store.db.execute(
            "UPDATE photo_uploads SET sent = ?, complete = ?, error = ?, updated_at = ? "
            "WHERE sha256 = ?",
            [received, int(complete), error, store.best_now_iso(), sha256],
        )


def note_upload_error(store: FieldStore, sha256: str, error: str) -> None:
    """Why the upload of a file stopped this time; what the server holds is left as last said."""
    with store.transaction():
        store.db.execute(
            "UPDATE photo_uploads SET error = ?, updated_at = ? WHERE sha256 = ?",
            [error, store.best_now_iso(), sha256],
        )


def delete_photo(store: FieldStore, photo_id: str) -> None:
    """Take a photo off its subject (a picture taken by mistake, someone's face): the record's
    tombstone syncs like any other; the bytes leave this device once no live photo names them,
    and are no longer offered to the server."""
    _device, envoy_id = store.identity()
    record = store.record(p.PHOTO, photo_id)
    if record is None or record.get("deleted"):
        raise names.UnknownName(p.PHOTO, photo_id)
    if record.get("envoy_id") != envoy_id:
        raise NotYourSubject(errors={p.PHOTO: "not yours"})
    with store.transaction():
        store.delete(p.PHOTO, photo_id)
    forget_files(store, [str(record.get("sha256") or "")])


def delete_photos_of(store: FieldStore, subject_kind: str, subject_id: str) -> list[str]:
    """Tombstone this envoy's live photos of a subject (one being deleted), inside the
    caller's transaction; returns their hashes for forget_files once it has committed."""
    _device, envoy_id = store.identity()
    hashes = []
    with store.transaction():
        for row in photos_of(store, subject_kind, subject_id):
            record = store.record(p.PHOTO, row.id) or {}
            if record.get("envoy_id") == envoy_id:
                store.delete(p.PHOTO, row.id)
                hashes.append(row.sha256)
    return hashes


def forget_files(store: FieldStore, hashes: list[str]) -> None:
    """Remove the kept bytes (and upload state) of pictures no live photo names any more."""
    for sha256 in hashes:
        if not SHA256_HEX.fullmatch(sha256):
            continue
        with store.transaction():
            still_named = store.db.execute(
                "SELECT 1 FROM photos ph JOIN records r ON r.kind = ? AND r.id = ph.id "
                "WHERE ph.sha256 = ? AND r.deleted = 0 LIMIT 1",
                [p.PHOTO, sha256],
            ).fetchone()
            if still_named:
                continue
            store.db.execute("DELETE FROM photo_uploads WHERE sha256 = ?", [sha256])
        photo_path(store, sha256).unlink(missing_ok=True)
        thumb_path(store, sha256).unlink(missing_ok=True)
