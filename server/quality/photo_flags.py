"""Flags on the evidence behind sessions and observations: their photos' presence, time, sameness
and place (issue 21). Flags, never refusals; docs/report.md, "Flags", says how each is computed
and the thresholds are settings (server/settings.py, FLAG_PHOTO_*).

- session_without_photo: when FLAG_PHOTO_REQUIRED is on, a session (TV lectures aside) already
  started with named check-ins or a reported headcount and no photo;
- photo_out_of_time: a session with a photo taken more than FLAG_PHOTO_WINDOW_HOURS before it
  starts or after it ends (after it starts, when it has no end);
- reused_photo: a session with a photo whose bytes (SHA-256) or picture (a perceptual hash within
  FLAG_PHOTO_HASH_DISTANCE bits) is also a photo of an earlier session;
- far_from_village: a session or plot observation with a photo placed more than
  FLAG_PHOTO_DISTANCE_KM from its village (server/quality/photo_places.py says where a village is).
The flag is on the record the photo is evidence for (its session or observation), so the review
page and its link are the record's own; the reason names the photo.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from server.figures import counted
from server.figures.counted import Scope, code_range
from server.quality import photo_places
from server.quality.outlier_stats import number_text
from server.quality.photo_hashes import near_pairs, perceptual_hash
from server.settings import default
from server.store import dialect
from shared import protocol as p
from shared.clock import local_date, parse_iso, to_iso

SESSION_WITHOUT_PHOTO = "session_without_photo"
PHOTO_OUT_OF_TIME = "photo_out_of_time"
REUSED_PHOTO = "reused_photo"
FAR_FROM_VILLAGE = "far_from_village"
KINDS = (SESSION_WITHOUT_PHOTO, PHOTO_OUT_OF_TIME, REUSED_PHOTO, FAR_FROM_VILLAGE)
# The media store computes a picture's perceptual hash here when its bytes are complete.
__all__ = ["KINDS", "PhotoFlag", "PhotoRules", "perceptual_hash", "photo_flags", "photo_rules_of"]
COUNTY_DIGITS = 6
# The photos' subject kinds (photos.subject_kind) and the record kind each flags.
SUBJECT_SESSION = "session"
SUBJECT_OBSERVATION = "observation"


@dataclass(frozen=True)
class PhotoRules:
    """The settings the four rules use (server/settings.py declares them)."""

    required: bool = default("FLAG_PHOTO_REQUIRED")
    window_hours: float = default("FLAG_PHOTO_WINDOW_HOURS")
    hash_distance: int = default("FLAG_PHOTO_HASH_DISTANCE")
    distance_km: float = default("FLAG_PHOTO_DISTANCE_KM")


def photo_rules_of(config: Mapping[str, Any]) -> PhotoRules:
    return PhotoRules(
        bool(config["FLAG_PHOTO_REQUIRED"]),
        float(config["FLAG_PHOTO_WINDOW_HOURS"]),
        int(config["FLAG_PHOTO_HASH_DISTANCE"]),
        float(config["FLAG_PHOTO_DISTANCE_KM"]),
    )


@dataclass(frozen=True)
class PhotoFlag:
    """One record a rule flags: the figure it judged and why, in words."""

    kind: str
    record_kind: str
    record_id: str
    envoy_id: str
    unit: str
    at: str
    value: float | None
    reason: str


def photo_flags(db: Database, scope: Scope, now: datetime, rules: PhotoRules) -> list[PhotoFlag]:
    """Every photo flag of a scope (its sessions, and its plots' observations)."""
    return (
        sessions_without_photo(db, scope, now, rules.required)
        + out_of_time(db, scope, rules.window_hours)
        + reused(db, scope, rules.hash_distance)
        + far_from_village(db, scope, rules.distance_km)
    )


def sessions_without_photo(
    db: Database, scope: Scope, now: datetime, required: bool
) -> list[PhotoFlag]:
    """Started sessions (TV lectures aside) with named check-ins or a reported headcount and
    no live photo; none unless the bureau asks for photos."""
    if not required:
        return []
    engine = dialect.engine_of(db)
    sql = (
        "SELECT s.id, s.lead_envoy_id, s.unit_code, s.starts_at, s.reported_headcount "
        f"FROM sessions s WHERE {counted.counted_sessions(scope, 's', plus='+', engine=engine)} "
        f"AND {counted.trains('s')} "
        f"AND (s.reported_headcount IS NOT NULL OR {counted.has_checkins('s', engine=engine)}) "
        "AND NOT EXISTS (SELECT 1 FROM photos ph WHERE ph.subject_kind = 'session' "
        f"AND ph.subject_id = s.id AND {counted.live('ph')}) ORDER BY s.starts_at, s.id"
    )
    params = scope.params()
    params["end"] = min(params["end"], to_iso(now))
    reason = (
        "有签到或上报人数，却没有现场照片（本局要求照片）/ check-ins or a headcount but no "
        "photo (the bureau asks for photos)"
    )
    return [
        PhotoFlag(SESSION_WITHOUT_PHOTO, p.SESSION, sid, envoy, unit, at, headcount, reason)
        for sid, envoy, unit, at, headcount in db.execute(sql, params)
    ]


def out_of_time(db: Database, scope: Scope, hours: float) -> list[PhotoFlag]:
    """Sessions with a photo taken more than `hours` before the start or after the end (the
    start, with no end); the value is the most hours outside, over the session's photos."""
    engine = dialect.engine_of(db)
    starts, taken, ends = (
        dialect.epoch_seconds(engine, at)
        for at in ("s.starts_at", "ph.taken_at", "coalesce(s.ends_at, s.starts_at)")
    )
    outside = (
        f"{dialect.greatest(engine, f'({starts} - {taken})', f'({taken} - {ends})', '0')} / 3600.0"
    )
    sql = (
        f"SELECT s.id, s.lead_envoy_id, s.unit_code, s.starts_at, max({outside}) AS hours, "
        "count(*) FROM sessions s JOIN photos ph ON ph.subject_kind = 'session' "
        f"AND ph.subject_id = s.id AND {counted.live('ph')} AND ph.taken_at IS NOT NULL "
        f"WHERE {counted.counted_sessions(scope)} AND {outside} > :hours "
        # Every column selected is grouped: sessions' key is server_seq, not id.
        "GROUP BY s.id, s.lead_envoy_id, s.unit_code, s.starts_at ORDER BY s.starts_at, s.id"
    )
    flags = []
    for sid, envoy, unit, at, most, photos in db.execute(sql, {**scope.params(), "hours": hours}):
        reason = (
            f"{photos} 张照片的拍摄时间在培训时段外，最远 {number_text(round(most, 1))} 小时"
            f"（超过 {number_text(hours)} 小时标记）/ {photos} photo(s) taken outside the "
            f"session's time, up to {number_text(round(most, 1))} h away (flagged beyond "
            f"{number_text(hours)} h)"
        )
        flags.append(
            PhotoFlag(PHOTO_OUT_OF_TIME, p.SESSION, sid, envoy, unit, at, round(most, 1), reason)
        )
    return flags


@dataclass(frozen=True)
class SessionPhoto:
    """A live photo of a live session, with its session's place in time (for reuse)."""

    photo_id: str
    sha256: str
    phash: str | None
    session: str
    envoy_id: str
    unit: str
    starts_at: str
    title: str

    @property
    def order(self) -> tuple[str, str]:
        return (self.starts_at, self.session)


def _session_photos(db: Database, where: str, params: dict[str, Any]) -> list[SessionPhoto]:
    sql = (
        "SELECT ph.id, ph.sha256, m.phash, s.id, s.lead_envoy_id, s.unit_code, s.starts_at, "
        "s.title FROM sessions s JOIN photos ph ON ph.subject_kind = 'session' "
        f"AND ph.subject_id = s.id AND {counted.live('ph')} "
        "LEFT JOIN media m ON m.sha256 = ph.sha256 "
        f"WHERE {counted.live('s')} AND {where}"
    )
    return [SessionPhoto(*row) for row in db.execute(sql, params)]


def reused(db: Database, scope: Scope, distance: int) -> list[PhotoFlag]:
    """Sessions of the scope with a photo that is also a photo of an earlier session (by start,
    then id): the same bytes (SHA-256) at any session, or, at a session of the county in any
    year, a picture whose perceptual hash differs in at most `distance` bits. The later session is flagged (a photo reused
    for a session that did not happen comes after the one it was taken at); the value is the
    bits apart (0: the same picture)."""
    own = _session_photos(
        db,
        counted.in_unit("s.unit_code")
        + " AND "
        + counted.session_in_year("s")
        + counted.envoy_is("s.lead_envoy_id", scope),
        scope.params(),
    )
    if not own:
        return []
    counties = sorted({photo.unit[:COUNTY_DIGITS] for photo in own})
    found: dict[str, SessionPhoto] = {}
    for county in counties:
        lo, hi = code_range(county)
        for photo in _session_photos(
            db, "s.unit_code >= :lo AND s.unit_code < :hi", {"lo": lo, "hi": hi}
        ):
            found[photo.photo_id] = photo
    # The same bytes anywhere (another county's session too), by the index on sha256.
    same_bytes = (
        f"ph.sha256 IN (SELECT j.value FROM {dialect.json_each(dialect.engine_of(db), ':shas')})"
    )
    shas = json.dumps(sorted({photo.sha256 for photo in own}))
    for photo in _session_photos(db, same_bytes, {"shas": shas}):
        found[photo.photo_id] = photo
    others = list(found.values())
    mine = {photo.photo_id for photo in own}
    best: dict[str, tuple[int, SessionPhoto, SessionPhoto]] = {}

    def consider(a: SessionPhoto, b: SessionPhoto, bits: int) -> None:
        if a.session == b.session:
            return
        later, earlier = (a, b) if a.order > b.order else (b, a)
        if later.photo_id not in mine:
            return
        found = best.get(later.session)
        if found is None or (bits, earlier.order) < (found[0], found[2].order):
            best[later.session] = (bits, later, earlier)

    by_sha: dict[str, list[SessionPhoto]] = {}
    for photo in others:
        by_sha.setdefault(photo.sha256, []).append(photo)
    for same in by_sha.values():
        for i, a in enumerate(same):
            for b in same[i + 1 :]:
                consider(a, b, 0)
    hashed = {photo.photo_id: photo for photo in others if photo.phash}
    for a_id, b_id, bits in near_pairs(
        {pid: ph.phash or "" for pid, ph in hashed.items()}, distance
    ):
        consider(hashed[a_id], hashed[b_id], bits)
    flags = []
    for bits, later, earlier in sorted(best.values(), key=lambda found: found[1].order):
        if later.sha256 == earlier.sha256:
            how_zh, how_en = "同一张照片（SHA-256 相同）", "the same photo (same SHA-256)"
        else:
            how_zh = f"几乎相同的照片（感知哈希相差 {bits} 位）"
            how_en = f"a near-identical photo (perceptual hash {bits} bits apart)"
        day = local_date(parse_iso(earlier.starts_at)).isoformat()  # China time
        # The page splits a reason at " / " into its Chinese and English halves.
        title = earlier.title.replace(" / ", "/")
        reason = (
            f"照片 {later.photo_id} 与培训《{title}》（{day}）的照片是{how_zh} / photo "
            f'{later.photo_id} is {how_en} as a photo of the session "{title}" ({day})'
        )
        flags.append(
            PhotoFlag(
                REUSED_PHOTO,
                p.SESSION,
                later.session,
                later.envoy_id,
                later.unit,
                later.starts_at,
                bits,
                reason,
            )
        )
    return flags


def far_from_village(db: Database, scope: Scope, km: float) -> list[PhotoFlag]:
    """Sessions and plot observations of the scope with a photo placed more than `km` from
    their village (beyond the photo's own stated accuracy), where the village's place is
    known (server/quality/photo_places.py); the value is the farthest, in km."""
    placed = photo_places.placed_photos(db, scope)
    if not placed:
        return []
    villages = photo_places.village_places(db, {photo.unit for photo in placed})
    farthest: dict[tuple[str, str], tuple[float, photo_places.PlacedPhoto]] = {}
    for photo in placed:
        village = villages.get(photo.unit)
        if village is None:
            continue
        away = photo_places.km_between(photo.latitude, photo.longitude, *village.point)
        away -= (photo.accuracy_m or 0) / 1000
        key = (photo.record_kind, photo.record_id)
        if away > km and (key not in farthest or away > farthest[key][0]):
            farthest[key] = (away, photo)
    flags = []
    for away, photo in sorted(farthest.values(), key=lambda found: found[1].at):
        village = villages[photo.unit]
        reason = (
            f"照片 {photo.photo_id} 的拍摄地点距{village.how_zh} {number_text(round(away, 1))}"
            f" 公里（超过 {number_text(km)} 公里标记）/ photo {photo.photo_id} was taken "
            f"{number_text(round(away, 1))} km from {village.how_en} (flagged beyond "
            f"{number_text(km)} km)"
        )
        flags.append(
            PhotoFlag(
                FAR_FROM_VILLAGE,
                photo.record_kind,
                photo.record_id,
                photo.envoy_id,
                photo.unit,
                photo.at,
                round(away, 1),
                reason,
            )
        )
    return flags
