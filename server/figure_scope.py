"""What a figure counts and how it is keyed: the year, unit and envoy of a Scope, and the
dimensions a figure is broken down by (SQL expressions per family of records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.clock import CHINA, to_iso

PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
TOTAL = ""  # the group key of an ungrouped figure


# When a hand-out counts, for months: a correction (correction_of, shared/corrections.py) in the
# month of the hand-out it corrects, when that is in the same year (the row's own year is the
# scope's), so a December correction of November's copies never makes a chart dip in December.
HANDOUT_COUNTED_AT = (
    "CASE WHEN h.correction_of IS NULL THEN h.handed_out_at ELSE coalesce(("
    "SELECT o.handed_out_at FROM leaflet_handouts o WHERE o.id = h.correction_of "
    "AND o.handed_out_at >= :start AND o.handed_out_at < :end), h.handed_out_at) END"
)


def code_range(prefix: str) -> tuple[str, str]:
    """[lo, hi) of every division code starting with `prefix` (digits only)."""
    if not prefix:
        return "", ":"  # ':' sorts after every digit
    return prefix, str(int(prefix) + 1).zfill(len(prefix))


@dataclass(frozen=True)
class Scope:
    """What a figure counts: one China-time year, the records of one unit, maybe one envoy's."""

    year: int
    prefix: str = ""
    envoy_id: str | None = None
    # Cut the year off early (for "last year by this date" or a chart's month ends).
    until: datetime | None = None
    # Leave out records under question (server/questioned.py): every figure, the same way.
    exclude_questioned: bool = False

    @property
    def start(self) -> str:
        return to_iso(datetime(self.year, 1, 1, tzinfo=CHINA))

    @property
    def end(self) -> str:
        end = datetime(self.year + 1, 1, 1, tzinfo=CHINA)
        if self.until is not None and self.until < end:
            return to_iso(self.until)
        return to_iso(end)

    @property
    def day_start(self) -> str:
        return f"{self.year}-01-01"

    @property
    def day_end(self) -> str:
        if self.until is not None and self.until < datetime(self.year + 1, 1, 1, tzinfo=CHINA):
            return self.until.astimezone(CHINA).date().isoformat()
        return f"{self.year + 1}-01-01"

    def params(self) -> dict[str, Any]:
        lo, hi = code_range(self.prefix)
        return {
            "lo": lo,
            "hi": hi,
            "start": self.start,
            "end": self.end,
            "day_start": self.day_start,
            "day_end": self.day_end,
            "envoy": self.envoy_id,
        }


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


def village_of(expr: str) -> str:
    return f"CASE WHEN substr({expr}, 10, 3) != '000' THEN {expr} END"


def local_month(expr: str) -> str:
    return f"CAST(strftime('%m', {expr}, '+8 hours') AS INTEGER)"


DIMENSIONS: dict[str, Dimension] = {
    "total": Dimension("total", "''", "''", "''", "''"),
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
    "envoy": Dimension("envoy", "s.lead_envoy_id", "s.lead_envoy_id", "h.envoy_id", "p.envoy_id"),
    "month": Dimension(
        "month",
        local_month("s.starts_at"),
        local_month("s.starts_at"),
        local_month(HANDOUT_COUNTED_AT),
        "CAST(strftime('%m', p.established_on) AS INTEGER)",
    ),
    "technology": Dimension(
        "technology",
        "t.value",
        "t.value",
        None,
        "t.value",
        # LEFT: records naming no technology stay in, under a None key.
        session_join="LEFT JOIN json_each(s.technology_ids) t",
        plot_join="LEFT JOIN json_each(p.technology_ids) t",
    ),
    "kind": Dimension("kind", "s.kind", "s.kind", "hs.kind", None),
    "gender": Dimension(
        "gender", None, "coalesce(f.gender, 'unspecified')", None, None, needs_farmer=True
    ),
}
