"""A unit or an envoy the bureau has loaded, found by code, id or name: the one `UnknownUnit`
and the one `UnknownEnvoy` every page, command and API answer raises; and the one home of the
unit a report is for when none is asked (`home_unit`)."""

from __future__ import annotations

import json
from typing import Any

from flask import g, has_request_context
from flask_babel import gettext
from sqlite_utils import Database

from shared.errors import TianjianError

# A unit is every division code under its prefix: a level says how long the prefix is; the
# whole server (`nation`) is the empty prefix.
NATION = "nation"
PREFIX_LENGTH = {NATION: 0, "province": 2, "city": 4, "county": 6, "township": 9, "village": 12}


class UnknownUnit(TianjianError):
    """No unit has that code."""

    status = 404

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"未知的区划代码 / unknown unit {code}", {"unit": "未知的区划代码 / unknown unit"}
        )


class UnknownEnvoy(TianjianError):
    """No envoy has that id or name."""

    status = 404

    def __init__(self, envoy: str) -> None:
        super().__init__(
            f"没有这位特派员 / no such envoy: {envoy}",
            {"envoy": "没有这位特派员 / no such envoy"},
        )


class AmbiguousEnvoy(TianjianError):
    """Several envoys carry the name asked for (on a province, two counties' 张三 are two
    envoys, each with an id from county and name): the id says which."""

    status = 409

    def __init__(self, name: str, found: list[dict[str, Any]]) -> None:
        listed = "; ".join(
            f"{row['id']} ({' '.join(row['township_codes'][:3]) or '-'})" for row in found
        )
        super().__init__(
            f"有 {len(found)} 位特派员名为 {name}，请改用其 id / {len(found)} envoys are named "
            f"{name}: give the id instead: {listed}",
            {"envoy": "重名，请用 id / several envoys have this name: give the id"},
        )


def unit_scope(db: Database, code: str | None) -> dict[str, Any]:
    """The unit a report is for (`home_unit` when none is named) and its code prefix."""
    if not code:
        return home_unit(db)
    rows = list(
        db.query("SELECT code, name, level FROM units WHERE code = ?", [code.ljust(12, "0")])
    )
    if not rows:
        raise UnknownUnit(code)
    unit = rows[0]
    return {**unit, "prefix": unit["code"][: PREFIX_LENGTH[unit["level"]]]}


def home_unit(db: Database) -> dict[str, Any]:
    """What a reader with no area sees when asking for no unit: the smallest unit holding every
    county on the server. A county server's county, a one-province server's province (a city's
    when its counties are one city's), and across provinces the whole server, `nation()`; also
    the whole server when the unit holding them all is not loaded (a province's own row).

    Found once per request: a page asking for no unit reads it for its scope, its figures,
    its targets and its unit menu, and the counties do not change within one request."""
    if has_request_context():
        cached = g.get("home_unit")
        if cached is not None and cached[0] is db:
            return dict(cached[1])
    found = _smallest_unit_holding_every_county(db)
    if has_request_context():
        g.home_unit = (db, found)
    return dict(found)


def _smallest_unit_holding_every_county(db: Database) -> dict[str, Any]:
    # The first and last county in code order: a seek from each end of the units' key (a
    # nation's 700,000 villages are never read), and every county lies between them.
    ends = [
        db.execute(
            f"SELECT code FROM units WHERE level = 'county' ORDER BY code {order} LIMIT 1"
        ).fetchone()
        for order in ("ASC", "DESC")
    ]
    if ends[0] is None or ends[1] is None:
        raise UnknownUnit("(county)")
    first, last = str(ends[0][0]), str(ends[1][0])
    for level in ("county", "city", "province"):
        width = PREFIX_LENGTH[level]
        if first[:width] != last[:width]:
            continue
        rows = list(
            db.query(
                "SELECT code, name, level FROM units WHERE code = ? AND level = ?",
                [first[:width].ljust(12, "0"), level],
            )
        )
        if rows:
            return {**rows[0], "prefix": first[:width]}
    return nation()


def nation() -> dict[str, Any]:
    """The whole server as a unit: no code, every record (prefix ''), named 全国 (English
    through the page's catalogue, as the pages' own words)."""
    return {"code": "", "name": gettext("全国"), "level": NATION, "prefix": ""}


def envoy_by_id(db: Database, envoy_id: str) -> dict[str, Any]:
    """The envoy's id, name and the township codes they serve (a list)."""
    rows = list(db.query("SELECT id, name, township_codes FROM envoys WHERE id = ?", [envoy_id]))
    if not rows:
        raise UnknownEnvoy(envoy_id)
    return {**rows[0], "township_codes": json.loads(rows[0]["township_codes"] or "[]")}


def envoy_by_name(db: Database, name: str) -> dict[str, Any]:
    """The envoy of that name, or else of that id; AmbiguousEnvoy when several carry the name,
    never the first of them (the wrong 张三 would link a user or a device to another county)."""
    rows = list(db.query("SELECT id FROM envoys WHERE name = ? ORDER BY id", [name]))
    if not rows:
        rows = list(db.query("SELECT id FROM envoys WHERE id = ?", [name]))
    if not rows:
        raise UnknownEnvoy(name)
    if len(rows) > 1:
        raise AmbiguousEnvoy(name, [envoy_by_id(db, row["id"]) for row in rows])
    return envoy_by_id(db, rows[0]["id"])
