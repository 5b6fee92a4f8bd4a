"""`session photo` and `plot photo`: photos from the command line, bad files refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from field_client import photos
from field_client.store import FieldStore
from shared import protocol as p
from tests.field_client.test_cli import VILLAGE, assert_one_line_error, ok, ok_json, run
from tests.shared.test_photos import camera_jpeg, png_header_only


def a_session(db: Path) -> str:
    return ok(db, "session", "new", "--title", "马铃薯晚疫病防治培训", "--unit", VILLAGE)


def nothing_written(db: Path) -> None:
    with FieldStore(str(db)) as store:
        assert store.records(p.PHOTO, include_deleted=True) == []
        assert (
            store.db.execute("SELECT count(*) FROM outbox WHERE kind = 'photo'").fetchone()[0] == 0
        )
        assert store.db.execute("SELECT count(*) FROM photo_uploads").fetchone()[0] == 0
        assert not photos.media_dir(store).exists()


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("现场", "site"),
        ("签到表", "signin_sheet"),
        ("展板", "display_board"),
        ("sign-in sheet", "signin_sheet"),
        ("display_board", "display_board"),
    ],
)
def test_session_photo_takes_the_kind_in_chinese_or_english(
    db: Path, tmp_path: Path, typed: str, code: str
) -> None:
    session_id = a_session(db)
    picture = tmp_path / "IMG_0001.JPG"
    picture.write_bytes(camera_jpeg(2000, 1500, taken="2026:12:05 10:30:00", gps=(25.04, 102.71)))
    answer = ok_json(db, "session", "photo", session_id[:8], str(picture), "--kind", typed)
    assert answer["new"] and answer["width"] == 1600
    assert answer["taken_at"] == "2026-12-05T02:30:00Z"
    with FieldStore(str(db)) as store:
        record = store.record(p.PHOTO, answer["id"])
        assert record is not None and record["photo_kind"] == code
        assert record["subject_id"] == session_id


def test_session_photo_says_what_it_kept_and_the_pipl_notice(db: Path, tmp_path: Path) -> None:
    a_session(db)
    picture = tmp_path / "site.jpg"
    picture.write_bytes(camera_jpeg(1200, 900, taken="2026:12:05 10:30:00"))
    result = run(db, "session", "photo", "马铃薯晚疫病防治培训", str(picture))
    assert result.exit_code == 0, result.output
    assert "1200×900" in result.stdout and "2026-12-05 10:30" in result.stdout
    assert "个人信息" in result.stderr and "faces are never required" in result.stderr
    listed = ok(db, "list", "photos")
    assert "现场照片" in listed and "待传" in listed


def test_plot_photo_goes_on_an_observation(db: Path, tmp_path: Path) -> None:
    plot_id = ok(
        db, "plot", "new", "--village", VILLAGE, "--host", "李家", "--crop", "玉米", "--area", "3"
    )
    observation_id = ok(db, "plot", "observe", plot_id, "--stage", "出苗")
    picture = tmp_path / "field.png"
    picture.write_bytes(camera_jpeg(900, 600))
    answer = ok_json(db, "plot", "photo", observation_id, str(picture), "--note", "出苗整齐")
    with FieldStore(str(db)) as store:
        record = store.record(p.PHOTO, answer["id"])
        assert record is not None
        assert (record["subject_kind"], record["photo_kind"]) == ("observation", "observation")
        assert record["note"] == "出苗整齐"


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (lambda: camera_jpeg(800, 600)[:4000], ("损坏", "damaged")),
        (lambda: png_header_only(50_000, 50_000), ("像素", "pixels")),
        (lambda: b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n", ("不是照片", "not a photo")),
        (lambda: b"", ("不是照片", "not a photo")),
    ],
    ids=["truncated", "bomb", "pdf-named-jpg", "empty"],
)
def test_a_bad_file_is_refused_in_one_line_with_nothing_written(
    db: Path, tmp_path: Path, content: object, fragments: tuple[str, ...]
) -> None:
    session_id = a_session(db)
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(content())  # type: ignore[operator]
    assert_one_line_error(run(db, "session", "photo", session_id, str(bad)), *fragments)
    nothing_written(db)


def test_missing_files_wrong_kinds_and_unknown_subjects_are_refused(
    db: Path, tmp_path: Path
) -> None:
    session_id = a_session(db)
    picture = tmp_path / "site.jpg"
    picture.write_bytes(camera_jpeg(640, 480))
    assert_one_line_error(
        run(db, "session", "photo", session_id, str(tmp_path / "nope.jpg")),
        "无法读取",
        "cannot read",
    )
    result = run(db, "session", "photo", session_id, str(picture), "--kind", "自拍")
    assert result.exit_code == 2 and "签到表" in result.output
    assert_one_line_error(
        run(db, "session", "photo", "没有这场培训", str(picture)), "找不到", "no such record"
    )
    assert_one_line_error(
        run(db, "plot", "photo", "0123456789", str(picture)), "找不到", "no such record"
    )
    nothing_written(db)


def test_status_says_how_many_photos_wait(db: Path, tmp_path: Path) -> None:
    session_id = a_session(db)
    picture = tmp_path / "site.jpg"
    picture.write_bytes(camera_jpeg(900, 600))
    added = ok_json(db, "session", "photo", session_id, str(picture))
    assert f"照片待上传 / photos to upload: 1（0 KB / {added['size_bytes'] / 1024:.0f} KB）" in ok(
        db, "status"
    )
    assert ok_json(db, "status")["photos_waiting"]["photos"] == 1
