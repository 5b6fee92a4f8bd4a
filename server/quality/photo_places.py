"""Where photos were taken and where villages are, for the far-from-village flag (issue 21).

A village's place is its own latitude/longitude when the reference file gives them (units,
migration m017). A village without them is judged by what is already placed in it: the median
latitude and median longitude of its plots' and its records' photos' positions, once at least
MIN_PLACED of them are known (fewer say too little about where the village is). Distances are
great-circle (haversine) kilometres on a sphere of the Earth's mean radius.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass

from sqlite_utils import Database

from server.figures import counted
from server.figures.counted import Scope
from server.quality.outlier_stats import envoy_condition
from server.store import dialect
from shared import protocol as p

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
MIN_PLACED = 3
VILLAGE_DIGITS = 12


def km_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points in decimal degrees (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class PlacedPhoto:
    """A live photo with a position, and the record it is evidence for (session or
    observation), that record's envoy, village (or unit) and date."""

    photo_id: str
    record_kind: str
    record_id: str
    envoy_id: str
    unit: str
    at: str
    latitude: float
    longitude: float
    accuracy_m: float | None


_PLACED = f"{counted.live('ph')} AND ph.latitude IS NOT NULL AND ph.longitude IS NOT NULL"


def placed_photos(db: Database, scope: Scope) -> list[PlacedPhoto]:
    """The placed photos of the scope's sessions and of its plots' observations."""
    sessions = (
        f"SELECT ph.id, '{p.SESSION}', s.id, s.lead_envoy_id, s.unit_code, s.starts_at, "
        "ph.latitude, ph.longitude, ph.accuracy_m FROM sessions s JOIN photos ph "
        f"ON ph.subject_kind = 'session' AND ph.subject_id = s.id AND {_PLACED} "
        f"WHERE {counted.counted_sessions(scope)}"
    )
    observations = (
        f"SELECT ph.id, '{p.PLOT_OBSERVATION}', o.id, o.envoy_id, pl.village_code, "
        "o.observed_on, ph.latitude, ph.longitude, ph.accuracy_m FROM plots pl "
        f"{dialect.join_in_order(dialect.engine_of(db))} plot_observations o "
        "ON o.plot_id = pl.id JOIN photos ph "
        f"ON ph.subject_kind = 'observation' AND ph.subject_id = o.id AND {_PLACED} "
        f"WHERE {counted.live('o')} AND {counted.live('pl')} "
        f"AND {counted.in_unit('pl.village_code')} AND o.observed_on >= :day_start "
        "AND o.observed_on < :day_end" + envoy_condition("o.envoy_id", scope)
    )
    return [
        PlacedPhoto(*row)
        for row in db.execute(f"{sessions} UNION ALL {observations}", scope.params())
    ]


@dataclass(frozen=True)
class VillagePlace:
    """Where a village is taken to be, and how that was found (in words, both languages)."""

    point: tuple[float, float]
    how_zh: str
    how_en: str


def village_places(db: Database, codes: set[str]) -> dict[str, VillagePlace]:
    """The place of each unit of `codes` that has one: its own coordinates, else (a village)
    the median of what is placed in it."""
    found: dict[str, VillagePlace] = {}
    names: dict[str, str] = {}
    for code, name, lat, lon in db.execute(
        "SELECT code, name, latitude, longitude FROM units WHERE code IN "
        f"(SELECT j.value FROM {dialect.json_each(dialect.engine_of(db), '?')})",
        [_json_list(codes)],
    ):
        names[code] = name
        if lat is not None and lon is not None:
            found[code] = VillagePlace(
                (lat, lon), f"{name}的登记位置", f"the recorded place of {name}"
            )
    unplaced = sorted(code for code in codes - set(found) if len(code) == VILLAGE_DIGITS)
    for code, points in _placed_in(db, unplaced).items():
        if len(points) < MIN_PLACED:
            continue
        name = names.get(code, code)
        middle = (
            statistics.median(lat for lat, _ in points),
            statistics.median(lon for _, lon in points),
        )
        found[code] = VillagePlace(
            middle,
            f"{name}已有 {len(points)} 处定位的中位位置",
            f"the median place of {len(points)} positions recorded in {name}",
        )
    return found


def _placed_in(db: Database, villages: list[str]) -> dict[str, list[tuple[float, float]]]:
    """Every known position in each village: its live plots' and the live photos of its
    sessions and of its plots' observations (any year: a village does not move)."""
    if not villages:
        return {}
    sql = (
        "WITH v AS (SELECT j.value AS code FROM "
        f"{dialect.json_each(dialect.engine_of(db), ':villages')}) "
        "SELECT pl.village_code, pl.latitude, pl.longitude FROM v JOIN plots pl "
        f"ON pl.village_code = v.code WHERE {counted.live('pl')} AND pl.latitude IS NOT NULL "
        "AND pl.longitude IS NOT NULL "
        "UNION ALL SELECT s.unit_code, ph.latitude, ph.longitude FROM v JOIN sessions s "
        f"ON s.unit_code = v.code AND {counted.live('s')} JOIN photos ph "
        f"ON ph.subject_kind = 'session' AND ph.subject_id = s.id AND {_PLACED} "
        "UNION ALL SELECT pl.village_code, ph.latitude, ph.longitude FROM v JOIN plots pl "
        f"ON pl.village_code = v.code AND {counted.live('pl')} JOIN plot_observations o "
        f"ON o.plot_id = pl.id AND {counted.live('o')} JOIN photos ph "
        f"ON ph.subject_kind = 'observation' AND ph.subject_id = o.id AND {_PLACED}"
    )
    points: dict[str, list[tuple[float, float]]] = {}
    for code, lat, lon in db.execute(sql, {"villages": _json_list(set(villages))}):
        points.setdefault(code, []).append((lat, lon))
    return points


def _json_list(values: set[str]) -> str:
    return json.dumps(sorted(values))
