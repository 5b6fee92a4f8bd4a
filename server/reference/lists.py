"""Lists the bureau's pages show besides the figures: reference data and merged farmers.

Each returns plain dicts, one per row (keys as documented), times as stored UTC text;
mobile numbers come unmasked and the caller masks them for everyone but admins.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from server.accounts.area_codes import serves
from server.reference.lookups import NATION, home_unit
from shared.errors import TianjianError

LEVEL_NAMES = {
    "province": "省",
    "city": "市",
    "county": "县",
    "township": "乡镇",
    "village": "村",
}


class AmbiguousUnit(TianjianError):
    """A unit's name that several units carry: each is listed with its township and code."""

    status = 422

    def __init__(self, name: str, matches: list[dict[str, Any]]) -> None:
        listed = "；".join(
            f"{m['name']}（{m['parent_name'] or '—'}，{m['code']}）" for m in matches
        )
        super().__init__(
            f"“{name}”有 {len(matches)} 个同名单位，请改用代码 / {len(matches)} units are called "
            f"{name}: give the code: {listed}",
            {"unit": [m["code"] for m in matches]},
        )


def unit_code_of(db: Database, text: str) -> str:
    """The code of the unit a person named: its code, or a name only one unit carries
    (several with the name: AmbiguousUnit listing them; none: the text back, for the caller's
    own unknown-unit error)."""
    text = text.strip()
    if text.isdigit():
        return text
    matches = list(
        db.query(
            "SELECT u.code, u.name, p.name AS parent_name FROM units u "
            "LEFT JOIN units p ON p.code = u.parent_code WHERE u.name = ? ORDER BY u.code",
            [text],
        )
    )
    if len(matches) > 1:
        raise AmbiguousUnit(text, matches)
    return matches[0]["code"] if matches else text


def units(db: Database) -> list[dict[str, Any]]:
    """Keys: code, name, level, level_zh, parent_code, parent_name, latitude, longitude; in
    code order."""
    rows = list(
        db.query(
            "SELECT u.code, u.name, u.level, u.parent_code, p.name AS parent_name, "
            "u.latitude, u.longitude "
            "FROM units u LEFT JOIN units p ON p.code = u.parent_code ORDER BY u.code"
        )
    )
    for row in rows:
        row["level_zh"] = LEVEL_NAMES.get(row["level"], row["level"])
    return rows


def envoys(db: Database, within: str = "") -> list[dict[str, Any]]:
    """Keys: id, name, mobile, active, townships (names, joined), township_codes, devices,
    label (the name, with the townships where several envoys listed share it: two counties'
    张三 on a province); only envoys serving a township in `within` (a reader's area)."""
    rows = list(
        db.query(
            "SELECT e.id, e.name, e.mobile, e.active, e.township_codes, "
            "(SELECT count(*) FROM devices d WHERE d.envoy_id = e.id AND d.revoked_at IS NULL) "
            "AS devices FROM envoys e ORDER BY e.name"
        )
    )
    served = {row["id"]: json.loads(row["township_codes"] or "[]") for row in rows}
    if within:
        rows = [row for row in rows if serves(within, served[row["id"]])]
    # Only the townships listed are named: a nation's 240,000 units read whole were most of
    # the time of every page offering the envoys.
    names = unit_names(db, (code.ljust(12, "0") for row in rows for code in served[row["id"]]))
    shared = Counter(row["name"] for row in rows)
    for row in rows:
        codes = served[row["id"]]
        row["township_codes"] = " ".join(codes)
        row["townships"] = "、".join(names.get(code.ljust(12, "0"), code) for code in codes)
        row["active"] = bool(row["active"]) if row["active"] is not None else True
        row["label"] = row["name"]
        if shared[row["name"]] > 1:
            row["label"] = f"{row['name']}（{row['townships'] or row['id'][:8]}）"
    return rows


def catalogue(db: Database) -> list[dict[str, Any]]:
    """Keys: type (technology, variety, leaflet), type_zh, name, crop, category."""
    return list(
        db.query(
            "SELECT 'technology' AS type, '技术' AS type_zh, name, NULL AS crop, category "
            "FROM technologies UNION ALL "
            "SELECT 'variety', '品种', name, crop, NULL FROM varieties UNION ALL "
            "SELECT 'leaflet', '资料', title, NULL, NULL FROM leaflet_titles "
            "ORDER BY 1, 3"
        )
    )


def merged_farmers(db: Database, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    """Farmer records merged into another, newest first.

    Keys: id, name, mobile, village_code, village, envoy (who registered it), envoy_id,
    canonical_id, canonical_name, canonical_mobile, canonical_envoy, canonical_village_code,
    canonical_envoy_id, merged_at, reason (auto or staff).
    """
    return list(
        db.query(
            "SELECT f.id, f.name, f.mobile, f.village_code, v.name AS village, e.name AS envoy, "
            "f.envoy_id, c.village_code AS canonical_village_code, "
            "c.envoy_id AS canonical_envoy_id, "
            "a.canonical_id, c.name AS canonical_name, c.mobile AS canonical_mobile, "
            "ce.name AS canonical_envoy, a.merged_at, a.reason FROM farmer_aliases a "
            "JOIN farmers f ON f.id = a.id LEFT JOIN farmers c ON c.id = a.canonical_id "
            "LEFT JOIN units v ON v.code = f.village_code "
            "LEFT JOIN envoys e ON e.id = f.envoy_id LEFT JOIN envoys ce ON ce.id = c.envoy_id "
            "ORDER BY a.merged_at DESC, a.id LIMIT ? OFFSET ?",
            [limit, offset],
        )
    )


def count_merged_farmers(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM farmer_aliases").fetchone()[0])


def unit_choices(db: Database, current: str | None, within: str = "") -> list[dict[str, Any]]:
    """Units a scope menu offers: every province, city and county, and the townships of the
    county the current unit lies in (its villages are reached from the township breakdown);
    only those whose code starts with `within` (a reader's area, server/api/scope.py).

    Keys: code, name, level, depth (0 province ... 3 township, for indenting). On a server
    holding several provinces, the whole server (lookups.nation, code '') comes first.
    """
    county = (current or "")[:6]
    # Every branch a seek on the units' (level, code) index (m027) or key: the county's
    # townships as a range of codes (after its own, before any code past its digits, ':'
    # sorting after '9'), never a test of every township's code (a nation's 40,000).
    townships = "OR (level = 'township' AND code > ? AND code < ?) " if county else ""
    bounds = [county.ljust(12, "0"), county + ":"] if county else []
    rows = list(
        db.query(
            "SELECT code, name, level FROM units WHERE (level IN ('province', 'city', 'county') "
            f"{townships}OR code = ?) AND code LIKE ? ORDER BY code",
            [*bounds, current or "", f"{within}%"],
        )
    )
    depth = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
    for row in rows:
        row["depth"] = depth.get(row["level"], 0)
    if not within and any(row["level"] == "county" for row in rows):
        home = home_unit(db)
        if home["level"] == NATION:
            # Across provinces the whole server is a choice too, first: what no unit shows.
            rows.insert(0, {"code": "", "name": home["name"], "level": NATION, "depth": 0})
    return rows


def villages_of(db: Database, township_code: str) -> list[dict[str, Any]]:
    """The villages of a township (by its 12-digit code), for a scope menu: code, name, level,
    depth 4."""
    prefix = township_code[:9]
    return [
        {**row, "depth": 4}
        for row in db.query(
            "SELECT code, name, level FROM units WHERE level = 'village' AND code > ? "
            "AND code < ? ORDER BY code",
            [prefix + "000", str(int(prefix) + 1).zfill(9)],
        )
    ]


def _names(db: Database, sql: str, keys: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(keys))
    names: dict[str, str] = {}
    # SQLite caps bound parameters; a long list goes in slices.
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        names.update(db.execute(sql.format(marks=", ".join("?" for _ in part)), part))
    return names


def unit_names(db: Database, codes: Iterable[str]) -> dict[str, str]:
    """Names of the units with these codes (unknown codes left out)."""
    return _names(db, "SELECT code, name FROM units WHERE code IN ({marks})", codes)


def farmer_names(db: Database, ids: Iterable[str]) -> dict[str, str]:
    """Names of the farmer records with these ids (unknown ids left out)."""
    return _names(db, "SELECT id, name FROM farmers WHERE id IN ({marks})", ids)
