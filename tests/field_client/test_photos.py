"""Photos on the device: a record with its outbox entry in one transaction, bytes beside the
database by SHA-256, refusals that leave nothing behind (field_client/photos.py)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from field_client import events, photos
from field_client import operations as ops
from field_client.store import FieldStore
from shared import protocol as p
from shared.errors import ImageBomb, ImageDamaged, NotAnImage
from tests.field_client.test_cli import VILLAGE
from tests.shared.test_photos import camera_jpeg, png_header_only

OTHER_ENVOY = "e0e0e0e0-0000-4000-8000-000000000099"


@pytest.fixture
def store(db: Path) -> Any:
    with FieldStore(str(db)) as opened:
        yield opened


def a_session(store: FieldStore, title: str = "马铃薯晚疫病防治培训") -> str:
    return ops.open_session(store, title=title, unit=VILLAGE, kind="village_training")


def an_observation(store: FieldStore) -> str:
    plot_id = events.new_plot(store, village=VILLAGE, host_name="李家", crop="马铃薯", area_mu=3.0)
    return events.observe_plot(store, plot_id, stage="seedling")


def counts(store: FieldStore) -> dict[str, int]:
    return {
        "records": store.db.execute("SELECT count(*) FROM records WHERE kind = 'photo'").fetchone()[
            0
        ],
        "outbox": store.db.execute("SELECT count(*) FROM outbox WHERE kind = 'photo'").fetchone()[
            0
        ],
        "photos": store.db.execute("SELECT count(*) FROM photos").fetchone()[0],
        "uploads": store.db.execute("SELECT count(*) FROM photo_uploads").fetchone()[0],
    }


def media_files(store: FieldStore) -> list[Path]:
    folder = photos.media_dir(store)
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def test_a_photo_is_a_record_with_its_outbox_entry_and_its_bytes_beside_the_database(
    store: FieldStore,
) -> None:
    session_id = a_session(store)
    original = camera_jpeg(3000, 2000, taken="2026:12:05 10:30:00", gps=(25.04, 102.71))
    added = photos.add_photo(store, "session", session_id, original, "签到表", note="第一页")
    assert added.new and (added.width, added.height) == (1600, 1067)

    record = store.record(p.PHOTO, added.id)
    assert record is not None
    assert record["subject_kind"] == "session" and record["subject_id"] == session_id
    assert record["photo_kind"] == "signin_sheet" and record["note"] == "第一页"
    assert record["taken_at"] == "2026-12-05T02:30:00Z"
    assert record["latitude"] == pytest.approx(25.04) and record["recorded_at"]
    outbox = store.db.execute(
        "SELECT fields, is_create, state FROM outbox WHERE kind = 'photo' AND id = ?", [added.id]
    ).fetchone()
    sent = json.loads(outbox[0])
    assert outbox[1:] == (1, "pending")
    assert sent["sha256"] == added.sha256 and sent["size_bytes"] == added.size_bytes

    # The bytes: in the media folder beside the database, named by their hash, owner-only;
    # never in SQLite.
    kept = photos.photo_path(store, added.sha256)
    assert kept.parent.parent == Path(store.path).with_name("field.media")
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == added.sha256
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert photos.thumb_path(store, added.sha256).is_file()
    assert os.path.getsize(store.path) < added.size_bytes
    assert counts(store) == {"records": 1, "outbox": 1, "photos": 1, "uploads": 1}
    assert photos.waiting(store) == photos.Waiting(1, added.size_bytes, 0)
    # Not to be uploaded before its record is pushed: the server takes bytes of records it holds.
    assert photos.uploadable(store) == []


def test_the_record_and_its_outbox_entry_commit_together_or_not_at_all(
    store: FieldStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = a_session(store)

    def fail(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_enqueue", fail)
    with pytest.raises(RuntimeError):
        photos.add_photo(store, "session", session_id, camera_jpeg(800, 600), "现场")
    assert counts(store) == {"records": 0, "outbox": 0, "photos": 0, "uploads": 0}


def test_the_same_picture_given_twice_is_one_photo_of_the_subject(store: FieldStore) -> None:
    session_id, other = a_session(store), a_session(store, "玉米密植培训")
    original = camera_jpeg(1200, 900)
    first = photos.add_photo(store, "session", session_id, original, "site")
    again = photos.add_photo(store, "session", session_id, original, "site")
    assert (again.id, again.new) == (first.id, False)
    # On another session it is another record (the server flags the reuse), one file, one upload.
    elsewhere = photos.add_photo(store, "session", other, original, "site")
    assert elsewhere.new and elsewhere.sha256 == first.sha256
    assert counts(store) == {"records": 2, "outbox": 2, "photos": 2, "uploads": 1}
    assert len([f for f in media_files(store) if not f.name.endswith(".thumb.jpg")]) == 1


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (camera_jpeg(800, 600)[:5000], ImageDamaged),
        (png_header_only(50_000, 50_000), ImageBomb),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", NotAnImage),
    ],
    ids=["truncated", "bomb", "pdf"],
)
def test_a_bad_file_is_refused_with_nothing_written(
    store: FieldStore, data: bytes, error: type[Exception]
) -> None:
    session_id = a_session(store)
    with pytest.raises(error):
        photos.add_photo(store, "session", session_id, data, "site")
    assert counts(store) == {"records": 0, "outbox": 0, "photos": 0, "uploads": 0}
    assert media_files(store) == []


def test_an_observation_takes_an_observation_photo_and_a_session_a_session_kind(
    store: FieldStore,
) -> None:
    observation_id = an_observation(store)
    added = photos.add_photo(store, "observation", observation_id[:8], camera_jpeg(640, 480))
    assert store.record(p.PHOTO, added.id)["photo_kind"] == "observation"  # type: ignore[index]
    with pytest.raises(Exception) as caught:
        photos.add_photo(store, "session", a_session(store), camera_jpeg(640, 480), "观察照片")
    assert "photo_kind" in getattr(caught.value, "errors", {})
    assert [row.id for row in photos.photos_of(store, "observation", observation_id)] == [added.id]


def test_another_envoys_session_or_observation_takes_no_photo(store: FieldStore) -> None:
    session_id = a_session(store)
    with store.transaction():
        record = store.record(p.SESSION, session_id) or {}
        record.update(lead_envoy_id=OTHER_ENVOY, envoy_id=OTHER_ENVOY)
        store._write_record(p.SESSION, record)
    with pytest.raises(photos.NotYourSubject) as caught:
        photos.add_photo(store, "session", session_id, camera_jpeg(640, 480), "site")
    assert caught.value.status == 403 and "自己" in caught.value.message
    assert counts(store)["records"] == 0


def test_a_deleted_photo_syncs_its_tombstone_and_leaves_the_device(store: FieldStore) -> None:
    session_id, other = a_session(store), a_session(store, "玉米密植培训")
    original = camera_jpeg(800, 600)
    first = photos.add_photo(store, "session", session_id, original, "site")
    second = photos.add_photo(store, "session", other, original, "site")
    photos.delete_photo(store, first.id)
    assert store.record(p.PHOTO, first.id)["deleted"]  # type: ignore[index]
    tombstone = store.db.execute(
        "SELECT fields FROM outbox WHERE kind = 'photo' AND id = ? AND is_create = 0", [first.id]
    ).fetchone()
    assert json.loads(tombstone[0]) == {"deleted": True}
    # Still named by the other session's photo: the bytes stay, one upload waits.
    assert photos.photo_path(store, first.sha256).is_file()
    assert photos.waiting(store).photos == 1
    photos.delete_photo(store, second.id)
    assert not photos.photo_path(store, first.sha256).exists()
    assert not photos.thumb_path(store, first.sha256).exists()
    assert photos.waiting(store).photos == 0 and photos.uploadable(store) == []
    assert photos.photos_of(store, "session", session_id) == []


def test_deleting_a_session_deletes_its_photos_in_the_same_transaction(store: FieldStore) -> None:
    session_id = a_session(store)
    added = photos.add_photo(store, "session", session_id, camera_jpeg(640, 480), "site")
    deleted = ops.delete_session(store, session_id)
    assert deleted.id == session_id
    assert store.record(p.PHOTO, added.id)["deleted"]  # type: ignore[index]
    assert not photos.photo_path(store, added.sha256).exists()
    assert photos.waiting(store).photos == 0
