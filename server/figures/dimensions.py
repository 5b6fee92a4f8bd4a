"""How a figure is broken down: the dimensions (province, city, county, township, village, envoy,
month, technology, kind, gender) as SQL expressions per family of records. Which records count
is server/figures/counted.py's."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from server.figures.counted import HANDOUT_COUNTED_AT, local_month
from server.store import dialect
from server.store.dialect import Engine

TOTAL = ""  # the group key of an ungrouped figure


@dataclass(frozen=True)
class Dimension:
    """How each family of records is keyed when a figure is broken down; None: not applicable."""

    name: str
    session: str | None
    attendance: str | None
    handout: str | None
    plot: str | None
    session_join: str = ""
    plot_join: str = ""
    needs_farmer: bool = False


def township_of(expr: str) -> str:
    return f"substr({expr}, 1, 9) || '000'"


def unit_of(expr: str, digits: int) -> str:
    """The 12-digit code of the province (2 digits), city (4) or county (6) a record's place
    lies in."""
    return f"substr({expr}, 1, {digits}) || '{'0' * (12 - digits)}'"


def _by_level(name: str, digits: int) -> Dimension:
    return Dimension(
        name,
        unit_of("s.unit_code", digits),
        unit_of("s.unit_code", digits),
        unit_of("coalesce(h.unit_code, hs.unit_code)", digits),
        unit_of("p.village_code", digits),
    )


def village_of(expr: str) -> str:
    return f"CASE WHEN substr({expr}, 10, 3) != '000' THEN {expr} END"


@functools.cache
def dimensions(engine: Engine) -> dict[str, Dimension]:
    """The dimensions by name, in the SQL of `engine` (dialect.engine_of(db))."""
    return {
        "total": Dimension("total", "''", "''", "''", "''"),
        # The nation's provinces, a province's cities and counties (issue 23: the province's
        # pages show every county).
        "province": _by_level("province", 2),
        "city": _by_level("city", 4),
        "county": _by_level("county", 6),
        "township": Dimension(
            "township",
            township_of("s.unit_code"),
            township_of("s.unit_code"),
            township_of("coalesce(h.unit_code, hs.unit_code)"),
            township_of("p.village_code"),
        ),
        "village": Dimension(
            "village",
            village_of("s.unit_code"),
            village_of("s.unit_code"),
            village_of("coalesce(h.unit_code, hs.unit_code)"),
            village_of("p.village_code"),
        ),
        "envoy": Dimension(
            "envoy", "s.lead_envoy_id", "s.lead_envoy_id", "h.envoy_id", "p.envoy_id"
        ),
        "month": Dimension(
            "month",
            local_month("s.starts_at", engine),
            local_month("s.starts_at", engine),
            local_month(HANDOUT_COUNTED_AT, engine),
            dialect.date_month(engine, "p.established_on"),
        ),
        "technology": Dimension(
            "technology",
            "t.value",
            "t.value",
            None,
            "t.value",
            # LEFT: records naming no technology stay in, under a None key.
            session_join=f"LEFT JOIN {dialect.json_each(engine, 's.technology_ids', 't')} ON true",
            plot_join=f"LEFT JOIN {dialect.json_each(engine, 'p.technology_ids', 't')} ON true",
        ),
        "kind": Dimension("kind", "s.kind", "s.kind", "hs.kind", None),
        "gender": Dimension(
            "gender", None, "coalesce(f.gender, 'unspecified')", None, None, needs_farmer=True
        ),
    }
