"""What an envoy picks from on a form, by name: villages, technologies, co-envoys, leaflet
titles, varieties, plots; the roster search; a record's values as its edit form shows them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from field_client import names, qr_checkin
from field_client import operations as ops
from field_client.store import FieldStore
from shared import protocol as p
from shared.clock import CHINA, parse_iso


@dataclass(frozen=True)
class Option:
    """One choice on a form: the value sent and the name shown."""

    value: str
    label: str


@dataclass(frozen=True)
class Choices:
    """The synced lists a form picks from, each sorted by name."""

    villages: list[Option]
    technologies: list[Option]
    envoys: list[Option]
    leaflet_titles: list[Option]
    varieties: list[Option]


def village_label(unit: dict[str, Any], unit_names: dict[str, str]) -> str:
    """A village as names.unit_code reads it back: 城关镇/东村 (the township tells namesakes apart)."""
    township = unit_names.get(unit.get("parent_code") or "", "")
    return f"{township}/{unit.get('name')}" if township else str(unit.get("name") or unit["code"])


def choices(store: FieldStore) -> Choices:
    """Everything the session, leaflet and plot forms offer, from the synced reference data."""
    unit_names = names.unit_names(store)
    villages = [
        Option(u["code"], village_label(u, unit_names))
        for u in store.reference(p.UNIT)
        if u.get("level") in (None, "village")
    ]
    _device, me = store.identity()

    def named(kind: str, field: str = "name") -> list[Option]:
        return sorted(
            (Option(e["id"], str(e.get(field) or e["id"])) for e in store.reference(kind)),
            key=lambda o: o.label,
        )

    return Choices(
        villages=sorted(villages, key=lambda o: o.label),
        technologies=named(p.TECHNOLOGY),
        envoys=[o for o in named(p.ENVOY) if o.value != me],
        leaflet_titles=named(p.LEAFLET_TITLE, "title"),
        varieties=named(p.VARIETY),
    )


def _china(iso: str | None) -> str:
    return parse_iso(iso).astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if iso else ""


def session_form(store: FieldStore, record: dict[str, Any]) -> dict[str, Any]:
    """A stored session as its edit form shows it: village by name, times in China time."""
    village = ""
    unit_names = names.unit_names(store)
    for unit in store.reference(p.UNIT):
        if unit.get("code") == record.get("unit_code"):
            village = village_label(unit, unit_names)
    return {
        "kind": record.get("kind") or "",
        "title": record.get("title") or "",
        "village": village or record.get("unit_code") or "",
        "place": record.get("place") or "",
        "starts_at": _china(record.get("starts_at")),
        "ends_at": _china(record.get("ends_at")),
        "technologies": list(record.get("technology_ids") or []),
        "co_envoys": list(record.get("co_envoy_ids") or []),
        "headcount": ""
        if record.get("reported_headcount") is None
        else record["reported_headcount"],
        "boards": record.get("display_boards") or 0,
    }


@dataclass(frozen=True)
class RosterRow:
    """A farmer found for roster check-in, mobile masked, and whether already checked in."""

    farmer: names.FarmerRow
    checked_in: bool


def find_farmers(store: FieldStore, text: str, session_id: str | None = None) -> list[RosterRow]:
    """Farmers by part of a name, a village's name, or the last four digits of a mobile.

    With a session, each row says whether that farmer is already checked in to it.
    """
    typed = names.clean(text)
    rows = {row.id: row for row in names.search_farmers(store, typed)}
    if typed and not re.fullmatch(r"\d+", typed):
        village_codes = {
            u["code"]
            for u in store.reference(p.UNIT)
            if u.get("level") in (None, "village") and typed in str(u.get("name") or "")
        }
        unit_names = names.unit_names(store)
        for record in store.records(p.FARMER):
            if record.get("village_code") in village_codes and record["id"] not in rows:
                rows[record["id"]] = names.farmer_row(record, unit_names)
    checked: set[str] = set()
    if session_id:
        checked = {a["farmer_id"] for a in qr_checkin.session_attendances(store, session_id)}
    return [
        RosterRow(row, row.id in checked)
        for row in sorted(rows.values(), key=lambda r: (r.village, r.name))
    ]


def sessions(store: FieldStore) -> list[Option]:
    """This device's sessions, newest first, as a hand-out or a form picks one."""
    unit_names = names.unit_names(store)
    found = sorted(store.records(p.SESSION), key=lambda s: s.get("starts_at") or "", reverse=True)
    return [Option(s["id"], names.session_label(s, unit_names)) for s in found]


@dataclass(frozen=True)
class LeafletEvent:
    """A receipt or hand-out as the leaflet page lists it, with what a correction must repeat."""

    id: str
    kind: str
    when: str
    title_id: str
    title: str
    copies: int
    where: str
    session_id: str | None
    unit_code: str | None
    correction_of: str | None


def leaflet_events(store: FieldStore, limit: int = 30) -> list[LeafletEvent]:
    """This envoy's receipts and hand-outs, newest first."""
    _device, me = store.identity()
    titles = {t["id"]: str(t.get("title") or t["id"]) for t in store.reference(p.LEAFLET_TITLE)}
    unit_names = names.unit_names(store)
    session_titles = {
        s["id"]: str(s.get("title") or "") for s in store.records(p.SESSION, include_deleted=True)
    }
    events = []
    for kind in (p.LEAFLET_RECEIPT, p.LEAFLET_HANDOUT):
        for r in store.records(kind):
            if r.get("envoy_id") != me:
                continue
            receipt = kind == p.LEAFLET_RECEIPT
            where = session_titles.get(r.get("session_id") or "") or unit_names.get(
                r.get("unit_code") or "", r.get("unit_code") or ""
            )
            events.append(
                LeafletEvent(
                    id=r["id"],
                    kind=kind,
                    when=str(r.get("received_on") or "")
                    if receipt
                    else _china(r.get("handed_out_at")),
                    title_id=r["leaflet_title_id"],
                    title=titles.get(r["leaflet_title_id"], r["leaflet_title_id"]),
                    copies=int(r.get("copies") or 0),
                    where="" if receipt else where,
                    session_id=r.get("session_id"),
                    unit_code=r.get("unit_code"),
                    correction_of=r.get("correction_of"),
                )
            )
    return sorted(events, key=lambda e: e.when, reverse=True)[:limit]


@dataclass(frozen=True)
class PlotRow:
    """A demonstration plot as its list shows it, with its observations newest first."""

    id: str
    village: str
    host_name: str
    crop: str
    variety: str
    area_mu: float
    established_on: str
    observations: list[dict[str, Any]]


def plots(store: FieldStore) -> list[PlotRow]:
    """This envoy's demonstration plots, newest first, each with its observations."""
    _device, me = store.identity()
    unit_names = names.unit_names(store)
    varieties = {v["id"]: str(v.get("name") or v["id"]) for v in store.reference(p.VARIETY)}
    seen: dict[str, list[dict[str, Any]]] = {}
    for observation in store.records(p.PLOT_OBSERVATION):
        seen.setdefault(observation["plot_id"], []).append(observation)
    rows = [
        PlotRow(
            id=r["id"],
            village=unit_names.get(r.get("village_code") or "", r.get("village_code") or ""),
            host_name=str(r.get("host_name") or ""),
            crop=str(r.get("crop") or ""),
            variety=varieties.get(r.get("variety_id") or "", ""),
            area_mu=float(r.get("area_mu") or 0),
            established_on=str(r.get("established_on") or ""),
            observations=sorted(
                seen.get(r["id"], []), key=lambda o: o.get("observed_on") or "", reverse=True
            ),
        )
        for r in store.records(p.PLOT)
        if r.get("envoy_id") in (None, me)
    ]
    return sorted(rows, key=lambda r: r.established_on, reverse=True)


def plot_form(store: FieldStore, record: dict[str, Any]) -> MultiDict[str, Any]:
    """A stored plot as its form shows it: the village by name, numbers as people write them."""
    unit_names = names.unit_names(store)
    village = next(
        (
            village_label(unit, unit_names)
            for unit in store.reference(p.UNIT)
            if unit.get("code") == record.get("village_code")
        ),
        record.get("village_code") or "",
    )
    pairs: list[tuple[str, Any]] = [
        ("village", village),
        ("host_name", record.get("host_name") or ""),
        ("crop", record.get("crop") or ""),
        ("variety", record.get("variety_id") or ""),
        ("area_mu", _figure(record.get("area_mu"))),
        ("established_on", record.get("established_on") or ""),
        ("target_yield", _figure(record.get("target_yield_kg_per_mu"))),
        ("latitude", _figure(record.get("latitude"))),
        ("longitude", _figure(record.get("longitude"))),
    ]
    pairs += [("technologies", t) for t in record.get("technology_ids") or []]
    return MultiDict(pairs)


def _figure(value: Any) -> str:
    return "" if value is None else f"{value:g}"


def stock_of(store: FieldStore, title: str) -> ops.Stock:
    """This envoy's stock of one title (by name or id), shown beside the hand-out form: zero
    when none was ever received. A larger hand-out is still recorded (the bureau sees the stock
    below zero); the page asks first."""
    title_id = names.reference_id(store, p.LEAFLET_TITLE, title)
    for stock in ops.leaflet_stock(store):
        if stock.title_id == title_id:
            return stock
    known = {t["id"]: str(t.get("title") or t["id"]) for t in store.reference(p.LEAFLET_TITLE)}
    return ops.Stock(title_id, known.get(title_id, title_id), 0, 0)


def over_stock(store: FieldStore, title: str, copies: int | None) -> ops.Stock | None:
    """The title's stock when handing out `copies` takes more than this envoy holds, else None:
    the one rule by which the page asks first and the command line says so."""
    if not title or copies is None:
        return None
    stock = stock_of(store, title)
    return stock if copies > stock.held else None
