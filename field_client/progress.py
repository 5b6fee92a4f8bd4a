"""The envoy's own progress for a year against their targets, from the device's replica alone.

The replica holds what was synced and what is still unsent, so the figures work offline. They
follow the server's rules (server/figures/counted.py) for one envoy: sessions they lead, check-ins at
those sessions except an audience's (shared.indicators.AUDIENCE_KINDS: a TV lecture's), a farmer
merged into another counted once per session, deleted records and farmers left out, their
hand-outs, their plots established that year; years and days in China time. Records under
question count here as on the server's figures that include them (the device holds no reviews).
tests/e2e/test_device_progress_matches_server.py runs both on the same records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from field_client import operations as ops
from field_client.store import FieldStore
from shared import protocol as p
from shared.clock import CHINA, parse_iso
from shared.indicators import (
    AUDIENCE_KINDS,
    BY_KEY,
    INDICATOR_KEYS,
    SESSION_KIND_INDICATORS,
    Indicator,
    growth_target,
    is_met,
)


def _year_of(iso: str | None) -> int | None:
    return parse_iso(iso).astimezone(CHINA).year if iso else None


def actuals(store: FieldStore, year: int) -> dict[str, float]:
    """Each indicator's value for this device's envoy in `year` (China time)."""
    _device, me = store.identity()
    by_kind = {
        kind: store.records(kind) for kind in (p.SESSION, p.ATTENDANCE, p.LEAFLET_HANDOUT, p.PLOT)
    }
    aliases = store.aliases()
    deleted_farmers = {
        f["id"] for f in store.records(p.FARMER, include_deleted=True) if f.get("deleted")
    }
    sessions = {
        s["id"]: s
        for s in by_kind.get(p.SESSION, [])
        if s.get("lead_envoy_id") == me and _year_of(s.get("starts_at")) == year
    }
    pairs: set[tuple[str, str]] = set()
    for attendance in by_kind.get(p.ATTENDANCE, []):
        session = sessions.get(attendance.get("session_id") or "")
        if session is None or session.get("kind") in AUDIENCE_KINDS:
            continue
        if attendance["farmer_id"] in deleted_farmers:
            continue
        person = aliases.get(attendance["farmer_id"], attendance["farmer_id"])
        pairs.add((session["id"], person))
    plots = [
        r
        for r in by_kind.get(p.PLOT, [])
        if r.get("envoy_id") == me and str(r.get("established_on") or "")[:4] == str(year)
    ]
    technologies = {t for s in sessions.values() for t in s.get("technology_ids") or []}
    technologies |= {t for r in plots for t in r.get("technology_ids") or []}
    kinds = [s.get("kind") for s in sessions.values()]
    return {
        "trainee_attendances": len(pairs),
        "unique_trainees": len({person for _session, person in pairs}),
        "leaflets_distributed": sum(
            int(h.get("copies") or 0)
            for h in by_kind.get(p.LEAFLET_HANDOUT, [])
            if h.get("envoy_id") == me and _year_of(h.get("handed_out_at")) == year
        ),
        **{key: kinds.count(kind) for key, kind in SESSION_KIND_INDICATORS.items()},
        "technologies_promoted": len(technologies),
        "varieties_introduced": len({r["variety_id"] for r in plots if r.get("variety_id")}),
        "demo_plots": len(plots),
        "demo_area_mu": round(sum(float(r.get("area_mu") or 0) for r in plots), 2),
    }


@dataclass(frozen=True)
class Line:
    """One indicator: the target (None when none is set), the actual, and whether it is met."""

    indicator: Indicator
    comparator: str | None
    target: float | None
    actual: float
    basis: str

    @property
    def met(self) -> bool | None:
        if self.target is None or self.comparator is None:
            return None
        return is_met(self.actual, self.comparator, self.target)

    @property
    def percent(self) -> int | None:
        if not self.target:
            return None
        return min(999, round(100 * self.actual / self.target))


@dataclass(frozen=True)
class Progress:
    """A year's lines, and how many changes made here are not yet sent (counted in already)."""

    year: int
    lines: list[Line]
    unsent: int
    has_targets: bool


def envoy_progress(store: FieldStore, year: int | None = None) -> Progress:
    """This envoy's figures for `year` (default this year, China time) against their targets.

    Targets are the synced ones set for this envoy; a growth target is last year's actual
    here (from what this device holds) plus its percentage.
    """
    _device, me = store.identity()
    year = year or ops.today(store).year
    now = actuals(store, year)
    last: dict[str, float] | None = None
    targets: dict[str, dict[str, Any]] = {}
    for synced in store.reference(p.TARGET):
        if synced.get("envoy_id") == me and synced.get("year") == year:
            targets[synced["indicator"]] = synced
    lines = []
    for key in INDICATOR_KEYS:
        target = targets.get(key)
        value: float | None = None
        if target is not None:
            if target.get("basis") == "growth":
                last = last if last is not None else actuals(store, year - 1)
                value = growth_target(last[key], float(target.get("growth_percent") or 0))
            else:
                value = float(target["value"])
        lines.append(
            Line(
                indicator=BY_KEY[key],
                comparator=target.get("comparator") if target else None,
                target=value,
                actual=now[key],
                basis=str(target.get("basis") or "value") if target else "value",
            )
        )
    return Progress(
        year=year, lines=lines, unsent=store.counts().get("pending", 0), has_targets=bool(targets)
    )
