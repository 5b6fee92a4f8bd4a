"""Events an envoy records: leaflets received and handed out (with checked corrections), and
demonstration plots with their observations. Re-exported by field_client.operations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from field_client import names
from field_client.form_errors import Gathered
from field_client.store import FieldStore
from field_client.when import now, typed_day, typed_moment
from shared import protocol as p
from shared.choices import PLOT_STAGE_LABELS, parse_choice
from shared.corrections import check_correction
from shared.errors import TianjianError
from shared.schemas.field import validate_fields

# ------------------------------------------------------------------ leaflets


def receive_leaflets(
    store: FieldStore,
    *,
    title: str,
    copies: int,
    received_on: str | None = None,
    correction_of: str | None = None,
) -> str:
    """Record copies of a leaflet (title or id) received from the bureau's stock.

    A correction names the receipt it corrects and may be negative; the receipt plus its
    corrections never go below zero.
    """
    _device, envoy = store.identity()
    values = {
        "leaflet_title_id": names.reference_id(store, p.LEAFLET_TITLE, title),
        "copies": copies,
        "received_on": typed_day(store, received_on, "received_on"),
        "correction_of": _corrected(store, p.LEAFLET_RECEIPT, correction_of),
    }
    _check_correction(store, p.LEAFLET_RECEIPT, values, envoy)
    return store.create(p.LEAFLET_RECEIPT, values)


def give_leaflets(
    store: FieldStore,
    *,
    title: str,
    copies: int,
    session: str | None = None,
    village: str | None = None,
    at: str | None = None,
    correction_of: str | None = None,
) -> str:
    """Record copies handed out at a session or in a village (code or name)."""
    _device, envoy = store.identity()
    values = {
        "leaflet_title_id": names.reference_id(store, p.LEAFLET_TITLE, title),
        "copies": copies,
        "session_id": names.session_id(store, session, now(store)) if session else None,
        "unit_code": names.unit_code(store, village) if village else None,
        "handed_out_at": typed_moment(store, at, "handed_out_at"),
        "correction_of": _corrected(store, p.LEAFLET_HANDOUT, correction_of),
    }
    _check_correction(store, p.LEAFLET_HANDOUT, values, envoy)
    return store.create(p.LEAFLET_HANDOUT, values)


def _corrected(store: FieldStore, kind: str, text: str | None) -> str | None:
    if not text:
        return None
    try:
        return names.record_id(store, kind, text)
    except names.UnknownName:
        # Left for the rule to refuse, naming the field.
        return names.clean(text).lower()


def _check_correction(store: FieldStore, kind: str, values: dict[str, Any], envoy: str) -> None:
    target = values.get("correction_of")
    if not target:
        return
    original = store.record(kind, target)
    corrections = [r for r in store.records(kind) if r.get("correction_of") == target]
    check_correction(kind, {**values, "envoy_id": envoy}, original, corrections)


@dataclass(frozen=True)
class Stock:
    """Copies of one leaflet title this envoy received and handed out."""

    title_id: str
    title: str
    received: int
    handed_out: int

    @property
    def held(self) -> int:
        return self.received - self.handed_out


def leaflet_stock(store: FieldStore) -> list[Stock]:
    """This envoy's stock per leaflet title: received minus handed out (corrections counted)."""
    _device, envoy = store.identity()
    totals: dict[str, list[int]] = {}
    for kind, slot in ((p.LEAFLET_RECEIPT, 0), (p.LEAFLET_HANDOUT, 1)):
        for record in store.records(kind):
            if record.get("envoy_id") != envoy:
                continue
            totals.setdefault(record["leaflet_title_id"], [0, 0])[slot] += record["copies"]
    titles = {t["id"]: t.get("title") or t["id"] for t in store.reference(p.LEAFLET_TITLE)}
    return [
        Stock(title_id, titles.get(title_id, title_id), received, handed)
        for title_id, (received, handed) in sorted(
            totals.items(), key=lambda item: titles.get(item[0], item[0])
        )
    ]


# ------------------------------------------------------------------ plots


def new_plot(
    store: FieldStore,
    *,
    village: str,
    host_name: str,
    crop: str,
    area_mu: float,
    variety: str | None = None,
    technologies: Iterable[str] = (),
    latitude: float | None = None,
    longitude: float | None = None,
    altitude_m: float | None = None,
    target_yield: float | None = None,
    established_on: str | None = None,
) -> str:
    """Set up a demonstration plot in a village; variety and technologies by name or id."""
    got = Gathered(p.PLOT)
    values = {
        "village_code": got.take("village_code", lambda: names.unit_code(store, village)),
        "host_name": names.as_typed(host_name),
        "crop": names.as_typed(crop),
        "variety_id": got.take(
            "variety_id",
            lambda: names.reference_id(store, p.VARIETY, variety) if variety else None,
        ),
        "technology_ids": got.take(
            "technology_ids",
            lambda: [names.reference_id(store, p.TECHNOLOGY, t) for t in technologies],
        ),
        "area_mu": area_mu,
        "latitude": latitude,
        "longitude": longitude,
        "altitude_m": altitude_m,
        "target_yield_kg_per_mu": target_yield,
        "established_on": got.take(
            "established_on", lambda: typed_day(store, established_on, "established_on")
        ),
    }
    got.raise_any(values)
    return store.create(p.PLOT, values)


# What a plot's edit may change, by the names new_plot takes them.
PLOT_EDITS = frozenset(
    {
        "village",
        "host_name",
        "crop",
        "variety",
        "technologies",
        "area_mu",
        "latitude",
        "longitude",
        "altitude_m",
        "target_yield",
        "established_on",
    }
)


def edit_plot(store: FieldStore, plot: str, **changes: Any) -> str:
    """Change some of a plot's fields, named as new_plot takes them (a mistyped area, a host
    renamed); None clears an optional one. Only values that differ from the stored ones are
    queued, so a form sent back unchanged sends nothing. Returns the plot's id."""
    plot_id = names.record_id(store, p.PLOT, plot)
    values: dict[str, Any] = {}
    got = Gathered(p.PLOT)
    for key, value in changes.items():
        if key not in PLOT_EDITS:
            raise TianjianError(f"不能修改 {key} / cannot edit {key}", {key: "unknown field"})
        if key == "village":
            values["village_code"] = got.take("village_code", names.unit_code, store, value)
        elif key in ("host_name", "crop"):
            values[key] = names.as_typed(value)
        elif key == "variety":
            values["variety_id"] = (
                got.take("variety_id", names.reference_id, store, p.VARIETY, value)
                if value
                else None
            )
        elif key == "technologies":
            values["technology_ids"] = got.take(
                "technology_ids", names.reference_ids, store, p.TECHNOLOGY, value
            )
        elif key == "target_yield":
            values["target_yield_kg_per_mu"] = value
        elif key == "established_on":
            values["established_on"] = got.take(
                "established_on", typed_day, store, value, "established_on"
            )
        else:
            values[key] = value
    got.raise_any(values)
    current = store.record(p.PLOT, plot_id) or {}
    changed = {
        name: value
        for name, value in validate_fields(p.PLOT, values).items()
        if current.get(name) != value
    }
    if changed:
        store.update(p.PLOT, plot_id, changed)
    return plot_id


def observe_plot(
    store: FieldStore,
    plot: str,
    *,
    stage: str,
    observed_on: str | None = None,
    survival_rate: float | None = None,
    yield_kg_per_mu: float | None = None,
    notes: str | None = None,
) -> str:
    """Record an observation of a plot; `stage` 播种/出苗/… or its code. Returns the id."""
    plot_id = names.record_id(store, p.PLOT, plot)
    got = Gathered(p.PLOT_OBSERVATION)
    values = {
        "plot_id": plot_id,
        "stage": got.take("stage", lambda: parse_choice(PLOT_STAGE_LABELS, stage, "stage")),
        "observed_on": got.take(
            "observed_on", lambda: typed_day(store, observed_on, "observed_on")
        ),
        "survival_rate": survival_rate,
        "yield_kg_per_mu": yield_kg_per_mu,
        "notes": notes,
    }
    got.raise_any(values)
    return store.create(p.PLOT_OBSERVATION, values)
