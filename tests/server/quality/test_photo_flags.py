"""The photo flags (issue 21) on crafted data pushed through the sync engine, the bytes stored
through the media store: a session without a photo when the bureau asks for photos, a photo
taken far outside its session's time, the same picture used for two sessions (same bytes, or
near-identical by perceptual hash) and a photo far from its village. Each flags what it should,
leaves ordinary records alone, and follows its setting."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlite_utils import Database

from server import create_app
from server.accounts import users
from server.figures.counted import Scope
from server.media.chunks import MAX_CHUNK_BYTES, Chunk, receive_chunk
from server.media.store import MediaStore
from server.quality.flags import FlagRules, flags, flags_of_record, rules_of
from server.quality.photo_flags import (
    FAR_FROM_VILLAGE,
    PHOTO_OUT_OF_TIME,
    REUSED_PHOTO,
    SESSION_WITHOUT_PHOTO,
)
from server.quality.photo_hashes import hash_media, hash_missing
from server.quality.photo_places import km_between
from server.reference import load as reference
from server.settings import BY_NAME
from server.store.db import init_db
from shared import protocol as p
from shared.ids import new_id
from tests.helpers import VILLAGE_EAST, VILLAGE_WEST, sign_in
from tests.server.fieldwork import MID_2026, Envoy, report_db
from tests.server.quality.test_photo_hashes import scene

RULES = FlagRules()
ASKS = replace(RULES, photo=replace(RULES.photo, required=True))
# 东村 as the reference file places it, and points about 1 km and 20 km east of it.
EAST = (25.0, 102.7)
NEAR = (25.0, 102.71)
FAR = (25.0, 102.9)


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def photo(
    envoy: Envoy,
    subject: str,
    data: bytes = b"",
    taken_at: str | None = "2026-05-10T02:30:00Z",
    at: tuple[float, float] | None = None,
    subject_kind: str = "session",
    accuracy_m: float | None = None,
    store: MediaStore | None = None,
) -> str:
    """A photo record of `subject` pushed like a device pushes it; its bytes sent through the
    media store (and hashed as on completion) when a store is given."""
    data = data or new_id().encode()
    sha = hashlib.sha256(data).hexdigest()
    fields: dict[str, Any] = {
        "subject_kind": subject_kind,
        "subject_id": subject,
        "photo_kind": "site" if subject_kind == "session" else "observation",
        "sha256": sha,
        "size_bytes": len(data),
        "width": 1600,
        "height": 1200,
        "recorded_at": "2026-05-10T03:00:00Z",
    }
    if taken_at:
        fields["taken_at"] = taken_at
    if at:
        fields["latitude"], fields["longitude"] = at
    if accuracy_m is not None:
        fields["accuracy_m"] = accuracy_m
    photo_id = new_id()
    envoy.push(p.PHOTO, fields, photo_id)
    if store is not None:
        for offset in range(0, len(data), MAX_CHUNK_BYTES):
            part = data[offset : offset + MAX_CHUNK_BYTES]
            chunk = Chunk(sha, offset, len(data), part, hashlib.sha256(part).hexdigest())
            held = receive_chunk(envoy.db, store, envoy.envoy_id, chunk, 10**7)
        assert held.complete
        hash_media(envoy.db, sha, str(store.final_path(sha)))
        envoy.db.conn.commit()
    return photo_id


def flagged(db: Database, kind: str, rules: FlagRules = RULES) -> dict[str, float | None]:
    return {f.record_id: f.value for f in flags(db, Scope(2026), MID_2026, rules) if f.kind == kind}


def reason(db: Database, kind: str, record_id: str, rules: FlagRules = RULES) -> str:
    [found] = [
        f
        for f in flags(db, Scope(2026), MID_2026, rules)
        if f.kind == kind and f.record_id == record_id
    ]
    return found.reason


def place_village(db: Database, code: str, at: tuple[float, float]) -> None:
    db.execute("UPDATE units SET latitude = ?, longitude = ? WHERE code = ?", [*at, code])
    db.conn.commit()


def test_the_thresholds_are_settings() -> None:
    assert BY_NAME["FLAG_PHOTO_REQUIRED"].default is False
    assert BY_NAME["FLAG_PHOTO_WINDOW_HOURS"].default == 12.0
    assert BY_NAME["FLAG_PHOTO_HASH_DISTANCE"].default == 6
    assert BY_NAME["FLAG_PHOTO_DISTANCE_KM"].default == 5.0


@pytest.mark.parametrize(("raw", "on"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_the_bureau_asks_for_photos_by_its_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, raw: str, on: bool
) -> None:
    monkeypatch.setenv("TIANJIAN_FLAG_PHOTO_REQUIRED", raw)
    monkeypatch.setenv("TIANJIAN_FLAG_PHOTO_DISTANCE_KM", "2.5")
    app = create_app({"DATABASE": str(tmp_path / "s.db")})
    rules = rules_of(app.config).photo
    assert rules.required is on and rules.distance_km == 2.5


def test_a_session_with_people_and_no_photo_is_flagged_only_when_photos_are_asked_for(
    db: Database,
) -> None:
    zhang = Envoy(db, "张三")
    checked_in, counted_only, with_photo, empty = (zhang.session() for _ in range(4))
    zhang.checkin(checked_in, zhang.farmer("赵大"))
    db.execute("UPDATE sessions SET reported_headcount = 40 WHERE id = ?", [counted_only])
    db.conn.commit()
    zhang.checkin(with_photo, zhang.farmer("钱二"))
    photo(zhang, with_photo)
    tv = zhang.session(kind="tv_lecture", reported_headcount=300)
    later = zhang.session(starts_at="2026-07-01T02:00:00Z", reported_headcount=30)
    assert flagged(db, SESSION_WITHOUT_PHOTO) == {}  # off by default
    # Asked for: the empty session is another flag's, a TV lecture has no site, a session
    # not yet started (after MID_2026) has time.
    assert flagged(db, SESSION_WITHOUT_PHOTO, ASKS) == {checked_in: None, counted_only: 40}
    assert empty not in flagged(db, SESSION_WITHOUT_PHOTO, ASKS) and tv and later
    assert reason(db, SESSION_WITHOUT_PHOTO, checked_in, ASKS).startswith(
        "有签到或上报人数，却没有现场照片"
    )
    # A deleted photo is no photo.
    db.execute("UPDATE photos SET deleted = 1 WHERE subject_id = ?", [with_photo])
    db.conn.commit()
    assert with_photo in flagged(db, SESSION_WITHOUT_PHOTO, ASKS)


def test_a_photo_taken_far_outside_its_session_flags_the_session(db: Database) -> None:
    zhang = Envoy(db, "张三")
    # Sessions start at 02:00 UTC (10:00 China time); one ends at 06:00.
    fine, early, late, ended, untimed = (zhang.session() for _ in range(5))
    db.execute("UPDATE sessions SET ends_at = '2026-05-10T06:00:00Z' WHERE id = ?", [ended])
    db.conn.commit()
    photo(zhang, fine, taken_at="2026-05-10T12:00:00Z")  # 10 h after the start: within 12
    photo(zhang, early, taken_at="2026-05-09T08:00:00Z")  # 18 h before
    photo(zhang, late, taken_at="2026-05-11T02:00:00Z")  # 24 h after
    photo(zhang, late, taken_at="2026-05-12T02:00:00Z")  # 48 h after: the session's value
    photo(zhang, ended, taken_at="2026-05-10T20:00:00Z")  # 14 h after its end
    photo(zhang, untimed, taken_at=None)  # no camera time: nothing to judge
    assert flagged(db, PHOTO_OUT_OF_TIME) == {early: 18.0, late: 48.0, ended: 14.0}
    assert reason(db, PHOTO_OUT_OF_TIME, late).startswith(
        "2 张照片的拍摄时间在培训时段外，最远 48 小时（超过 12 小时标记）"
    )
    # The session's review page finds the same flag (judged as the list judges it).
    on_page = flags_of_record(db, p.SESSION, late, MID_2026, RULES)
    assert {f.kind: f.value for f in on_page}[PHOTO_OUT_OF_TIME] == 48.0
    wider = replace(RULES, photo=replace(RULES.photo, window_hours=20))
    assert flagged(db, PHOTO_OUT_OF_TIME, wider) == {late: 48.0}
    narrower = replace(RULES, photo=replace(RULES.photo, window_hours=6))
    assert set(flagged(db, PHOTO_OUT_OF_TIME, narrower)) == {fine, early, late, ended}


def test_the_same_picture_for_two_sessions_flags_the_later(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    zhang, wang = Envoy(db, "张三"), Envoy(db, "王五")
    # 1 May 20:00 UTC is 2 May in China: the reason gives the day in China time.
    first = zhang.session(starts_at="2026-05-01T20:00:00Z")
    again = zhang.session(starts_at="2026-05-20T02:00:00Z")
    other = wang.session(starts_at="2026-06-01T02:00:00Z")
    own = zhang.session(starts_at="2026-05-25T02:00:00Z")
    picture = jpeg(scene(1))
    photo(zhang, first, picture, store=store)
    photo(zhang, again, picture, store=store)  # the very same bytes
    # Another envoy's session: the picture cropped at the edge, shrunk and saved again, so
    # other bytes and a perceptual hash a few bits off.
    width, height = scene(1).size
    cropped = scene(1).crop((width // 50, height // 50, width, height)).resize((800, 600))
    photo(wang, other, jpeg(cropped, quality=50), store=store)
    # Two photos of one session alike is no reuse; a different picture is not flagged.
    photo(zhang, own, jpeg(scene(5)), store=store)
    photo(zhang, own, jpeg(scene(5), quality=60), store=store)
    found = flagged(db, REUSED_PHOTO)
    assert set(found) == {again, other}
    assert found[again] == 0 and 1 <= (found[other] or 0) <= 6
    assert "（2026-05-02）的照片是同一张照片（SHA-256 相同）" in reason(db, REUSED_PHOTO, again)
    assert f"几乎相同的照片（感知哈希相差 {found[other]:.0f} 位）" in reason(
        db, REUSED_PHOTO, other
    )
    # The same bytes at a session of another county, and before: found too.
    other_county = tmp_path / "邻县.csv"
    other_county.write_text(
        "code,name,parent_code,level\n530103,邻县,,county\n530103001,镇,530103,township\n"
        "530103001001,北村,530103001,village\n",
        encoding="utf-8",
    )
    reference.load_units(db, str(other_county))
    elsewhere = wang.session(unit_code="530103001001", starts_at="2026-04-01T02:00:00Z")
    photo(wang, elsewhere, jpeg(scene(5)), store=store)
    assert set(flagged(db, REUSED_PHOTO)) == {again, other, own}
    db.execute("UPDATE sessions SET deleted = 1 WHERE id = ?", [elsewhere])
    db.conn.commit()
    # The distance is a setting: at 0, only the same bytes are found.
    exact = replace(RULES, photo=replace(RULES.photo, hash_distance=0))
    assert set(flagged(db, REUSED_PHOTO, exact)) == {again}
    # The same bytes are found even before (or without) a perceptual hash.
    db.execute("UPDATE media SET phash = NULL")
    db.conn.commit()
    assert set(flagged(db, REUSED_PHOTO)) == {again}


def test_a_photo_far_from_its_placed_village_flags_its_record(db: Database) -> None:
    zhang = Envoy(db, "张三")
    place_village(db, VILLAGE_EAST, EAST)
    near, far, unplaced, vague = (zhang.session() for _ in range(4))
    photo(zhang, near, at=NEAR)
    photo(zhang, far, at=NEAR)
    photo(zhang, far, at=FAR)
    photo(zhang, unplaced)  # no GPS: nothing to judge
    photo(zhang, vague, at=FAR, accuracy_m=19_000)  # within its own stated accuracy
    plot = zhang.plot()
    observed = new_id()
    zhang.push(
        p.PLOT_OBSERVATION,
        {"plot_id": plot, "observed_on": "2026-06-01", "stage": "harvest"},
        observed,
    )
    photo(zhang, observed, at=FAR, subject_kind="observation")
    km = round(km_between(*EAST, *FAR), 1)
    assert 19 < km < 21
    assert flagged(db, FAR_FROM_VILLAGE) == {far: km, observed: km}
    [flag] = [f for f in flags(db, Scope(2026), MID_2026, RULES) if f.record_id == observed]
    assert flag.record_kind == p.PLOT_OBSERVATION and flag.unit_code == VILLAGE_EAST
    assert f"的拍摄地点距东村的登记位置 {km} 公里（超过 5 公里标记）" in flag.reason
    farther = replace(RULES, photo=replace(RULES.photo, distance_km=25))
    assert flagged(db, FAR_FROM_VILLAGE, farther) == {}


def test_a_village_without_a_place_is_judged_by_what_is_placed_in_it(db: Database) -> None:
    zhang = Envoy(db, "张三")
    sessions = [zhang.session(unit_code=VILLAGE_WEST) for _ in range(3)]
    photo(zhang, sessions[0], at=NEAR)
    photo(zhang, sessions[2], at=FAR)
    assert flagged(db, FAR_FROM_VILLAGE) == {}  # two positions say nothing of the village
    # A placed plot of the village is a third position: their median is near NEAR.
    plot_fields = {
        "village_code": VILLAGE_WEST,
        "host_name": "李大户",
        "crop": "马铃薯",
        "area_mu": 5.0,
        "established_on": "2026-03-20",
        "technology_ids": [],
        "latitude": 25.001,
        "longitude": 102.711,
    }
    zhang.push(p.PLOT, plot_fields, new_id())
    assert set(flagged(db, FAR_FROM_VILLAGE)) == {sessions[2]}
    assert "西村已有 3 处定位的中位位置" in reason(db, FAR_FROM_VILLAGE, sessions[2])
    photo(zhang, sessions[1], at=(25.002, 102.709))
    assert set(flagged(db, FAR_FROM_VILLAGE)) == {sessions[2]}
    # The village's own place, once loaded, is used instead.
    place_village(db, VILLAGE_WEST, FAR)
    assert set(flagged(db, FAR_FROM_VILLAGE)) == {sessions[0], sessions[1]}


def test_the_flags_page_shows_photo_flags_in_chinese_with_the_records_links(
    app: Flask, db_path: str
) -> None:
    """Staff see each photo flag with its Chinese label and a link to review its session; the
    bureau's FLAG_PHOTO_REQUIRED setting turns the missing-photo flag on."""
    db = init_db(db_path)
    zhang = Envoy(db, "张三")
    late = zhang.session()
    photo(zhang, late, taken_at="2026-05-12T02:00:00Z")
    bare = zhang.session(reported_headcount=25)
    users.add_user(db, "staff", users.STAFF, "correct-horse")
    db.conn.commit()
    db.close()
    staff = app.test_client()
    assert sign_in(staff, "staff", "correct-horse").status_code == 302
    page = staff.get("/flags?year=2026").get_data(as_text=True)
    assert "照片时间不符" in page and f'href="/review/session/{late}"' in page
    assert "2 张照片" not in page and "1 张照片的拍摄时间在培训时段外，最远 48 小时" in page
    assert "有签到无照片" not in page.split('id="table-flags"')[1]
    app.config["FLAG_PHOTO_REQUIRED"] = True
    page = staff.get("/flags?year=2026").get_data(as_text=True)
    table = page.split('id="table-flags"')[1]
    assert "有签到无照片" in table and f'href="/review/session/{bare}"' in table
    staff.get("/lang/en")
    page = staff.get("/flags?year=2026").get_data(as_text=True)
    assert "Photo taken outside the session" in page and "Session without a photo" in page


def test_media_stored_without_a_hash_are_hashed_afterwards(db: Database, store: MediaStore) -> None:
    """Bytes completed before the hash was kept (or whose store did not hash them) are hashed
    by hash_missing; bytes that are not a picture keep none, and the rest go on."""
    zhang = Envoy(db, "张三")
    first, again = zhang.session(), zhang.session(starts_at="2026-05-20T02:00:00Z")
    photo(zhang, first, jpeg(scene(7)), store=store)
    photo(zhang, again, jpeg(scene(7), quality=40), store=store)
    db.execute("UPDATE media SET phash = NULL")
    db.conn.commit()
    assert flagged(db, REUSED_PHOTO) == {}  # other bytes, and no hash yet
    assert hash_missing(db, store.final_path) == 2
    assert set(flagged(db, REUSED_PHOTO)) == {again}
    # A complete medium whose file is gone or unreadable is skipped, not fatal.
    db.execute(
        "INSERT INTO media (sha256, size, received, complete) VALUES (?, 10, 10, 1)",
        ["f" * 64],
    )
    db.conn.commit()
    assert hash_missing(db, store.final_path) == 0
    assert db.execute("SELECT phash FROM media WHERE sha256 = ?", ["f" * 64]).fetchone() == (None,)
