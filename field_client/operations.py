"""What an envoy does on the device: the one API the command line and the web pages both call.

Every function takes an open FieldStore first, then what a person typed or picked: ids or
names (see field_client.names), times as typed (see shared.typed_time), choices in Chinese or
as codes (see shared.choices). Each checks what the device can check, writes in one
transaction with its outbox entry, and returns an id or a small record. Every refusal is a
TianjianError (`.status`, `.message` "中文 / English", `.errors` field -> reason).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from field_client import names
from field_client import photos as photo_store
from field_client.events import (  # the one API: events are operations too
    Stock,
    edit_plot,
    give_leaflets,
    leaflet_stock,
    new_plot,
    observe_plot,
    receive_leaflets,
)
from field_client.form_errors import Gathered
from field_client.photos import Waiting
from field_client.store import FieldStore
from field_client.sync import SyncClient, SyncReport, enrol
from field_client.when import now, optional_moment, today, typed_day, typed_moment
from shared import protocol as p
from shared.choices import (
    CHECKIN_METHOD_LABELS,
    GENDER_LABELS,
    SESSION_KIND_LABELS,
    parse_choice,
)
from shared.errors import TianjianError
from shared.ids import attendance_id

__all__ = [
    "Checkin",
    "Deleted",
    "NoSuchRefusal",
    "NotYours",
    "Stock",
    "SyncOutcome",
    "check_in",
    "close_session",
    "delete_session",
    "discard_refused",
    "edit_farmer",
    "edit_plot",
    "edit_session",
    "enrol_device",
    "give_leaflets",
    "leaflet_stock",
    "may_record_at",
    "new_plot",
    "now",
    "observe_plot",
    "open_session",
    "outbox_summary",
    "receive_leaflets",
    "refusal_hint",
    "register_farmer",
    "server_address",
    "sync_device",
    "today",
    "typed_day",
    "typed_moment",
    "undo_checkin",
    "undone_checkins",
    "Undone",
]


class NotYours(TianjianError):
    """The record belongs to another envoy: the server would refuse the change."""

    status = 403


# ------------------------------------------------------------------ farmers


def register_farmer(
    store: FieldStore,
    *,
    name: str,
    village: str,
    mobile: str | None = None,
    gender: str | None = None,
    birth_year: int | None = None,
) -> str:
    """Register a farmer in a village (code or name); gender 男/女/未说明 or its code. Returns the id."""
    values = {
        "name": names.as_typed(name),
        "village_code": names.unit_code(store, village, village_only=True),
        "mobile": mobile or None,
        "gender": parse_choice(GENDER_LABELS, gender, "gender") if gender else "unspecified",
        "birth_year": birth_year,
    }
    return store.create(p.FARMER, values)


def edit_farmer(store: FieldStore, farmer: str, **changes: Any) -> str:
    """Change some of a farmer's fields: name, village, mobile, gender, birth_year.

    Only the keywords given change; None clears mobile or birth year. Returns the farmer's id.
    """
    farmer_id = names.farmer_id(store, farmer)
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "name":
            values["name"] = names.as_typed(value)
        elif key == "village":
            values["village_code"] = names.unit_code(store, value, village_only=True)
        elif key == "mobile":
            values["mobile"] = value or None
        elif key == "gender":
            values["gender"] = parse_choice(GENDER_LABELS, value, "gender")
        elif key == "birth_year":
            values["birth_year"] = value
        else:
            raise TianjianError(f"不能修改 {key} / cannot edit {key}", {key: "unknown field"})
    if values:
        store.update(p.FARMER, farmer_id, values)
    return farmer_id


# ------------------------------------------------------------------ sessions

_SESSION_EDITS = {
    "title",
    "unit",
    "kind",
    "starts_at",
    "ends_at",
    "place",
    "technologies",
    "co_envoys",
    "headcount",
    "boards",
}


def open_session(
    store: FieldStore,
    *,
    title: str,
    unit: str,
    kind: str = "village_training",
    starts_at: str | None = None,
    ends_at: str | None = None,
    place: str | None = None,
    technologies: Iterable[str] = (),
    co_envoys: Iterable[str] = (),
    headcount: int | None = None,
    boards: int = 0,
) -> str:
    """Start a session led by this device's envoy. `unit` is a village (or township/county)
    code or name; `kind` 进村培训/大型培训/… or its code; technologies and co-envoys by name
    or id; times as typed (start defaults to now). Returns the id."""
    _device, envoy = store.identity()
    got = Gathered(p.SESSION)
    values = {
        "kind": got.take("kind", lambda: parse_choice(SESSION_KIND_LABELS, kind, "kind")),
        "title": names.as_typed(title),
        "unit_code": got.take("unit_code", lambda: names.unit_code(store, unit)),
        "place": place or None,
        "starts_at": got.take("starts_at", lambda: typed_moment(store, starts_at, "starts_at")),
        "ends_at": got.take("ends_at", lambda: optional_moment(store, ends_at, "ends_at")),
        "lead_envoy_id": envoy,
        "co_envoy_ids": got.take(
            "co_envoy_ids", lambda: [names.envoy_id(store, e) for e in co_envoys]
        ),
        "technology_ids": got.take(
            "technology_ids",
            lambda: [names.reference_id(store, p.TECHNOLOGY, t) for t in technologies],
        ),
        "reported_headcount": headcount,
        "display_boards": boards,
    }
    got.raise_any(values)
    return store.create(p.SESSION, values)


def edit_session(store: FieldStore, session: str, **changes: Any) -> str:
    """Change some of a session's fields (keywords as open_session's); returns its id."""
    session_id = _own_session(store, session)
    unknown = set(changes) - _SESSION_EDITS
    if unknown:
        raise TianjianError(
            f"不能修改 {', '.join(sorted(unknown))} / cannot edit these",
            {key: "unknown field" for key in unknown},
        )
    values: dict[str, Any] = {}
    got = Gathered(p.SESSION)
    for key, value in changes.items():
        if key == "title":
            values["title"] = names.as_typed(value)
        elif key == "unit":
            values["unit_code"] = got.take("unit_code", names.unit_code, store, value)
        elif key == "kind":
            values["kind"] = got.take("kind", parse_choice, SESSION_KIND_LABELS, value, "kind")
        elif key in ("starts_at", "ends_at"):
            read = typed_moment if key == "starts_at" else optional_moment
            values[key] = got.take(key, read, store, value, key)
        elif key == "place":
            values["place"] = value or None
        elif key == "technologies":
            values["technology_ids"] = got.take(
                "technology_ids", names.reference_ids, store, p.TECHNOLOGY, value
            )
        elif key == "co_envoys":
            values["co_envoy_ids"] = got.take(
                "co_envoy_ids", names.reference_ids, store, p.ENVOY, value
            )
        elif key == "headcount":
            values["reported_headcount"] = value
        elif key == "boards":
            values["display_boards"] = value
    got.raise_any(values)
    if values:
        store.update(p.SESSION, session_id, values)
    return session_id


def close_session(
    store: FieldStore, session: str, *, ends_at: str | None = None, headcount: int | None = None
) -> str:
    """Close a session at `ends_at` (default now), with the reported headcount if given."""
    session_id = _own_session(store, session)
    values: dict[str, Any] = {"closed": True, "ends_at": typed_moment(store, ends_at, "ends_at")}
    if headcount is not None:
        values["reported_headcount"] = headcount
    store.update(p.SESSION, session_id, values)
    return session_id


@dataclass(frozen=True)
class Deleted:
    """A record deleted, and how many check-ins went with it."""

    id: str
    checkins_removed: int


def delete_session(store: FieldStore, session: str) -> Deleted:
    """Delete a session made by mistake, with its check-ins and photos, in one transaction
    (the photos' bytes leave the device after it)."""
    session_id = _own_session(store, session)
    with store.transaction():
        checkins = [
            a["id"] for a in store.records(p.ATTENDANCE) if a.get("session_id") == session_id
        ]
        for checkin_id in checkins:
            store.delete(p.ATTENDANCE, checkin_id)
        pictures = photo_store.delete_photos_of(store, "session", session_id)
        store.delete(p.SESSION, session_id)
    photo_store.forget_files(store, pictures)
    return Deleted(session_id, len(checkins))


def may_record_at(record: Mapping[str, Any], envoy_id: str) -> bool:
    """True when this envoy leads, co-runs or made the session (the server's rule)."""
    return envoy_id in (
        record.get("lead_envoy_id"),
        record.get("envoy_id"),
        *(record.get("co_envoy_ids") or []),
    )


def _own_session(store: FieldStore, session: str) -> str:
    _device, envoy = store.identity()
    session_id = names.session_id(store, session, now(store))
    record = store.record(p.SESSION, session_id) or {}
    if not may_record_at(record, envoy):
        raise NotYours(
            "这场培训由其他特派员主持，本机不能修改 / this session is another envoy's",
            {"session": "not yours"},
        )
    return session_id


# ------------------------------------------------------------------ check-ins


@dataclass(frozen=True)
class Checkin:
    """A check-in as stored: `new` is False when the farmer was already checked in."""

    id: str
    new: bool
    session_id: str
    farmer_id: str
    farmer_name: str
    checked_in_at: str
    method: str


def check_in(
    store: FieldStore,
    session: str,
    farmer: str,
    *,
    method: str = "roster",
    at: str | None = None,
    village: str | None = None,
    phone: str | None = None,
    marks: dict[str, Any] | None = None,
) -> Checkin:
    """Check a farmer into a session (the same check-in twice counts once); `phone` is the
    hash of the phone a farmer checked in from (field_client/phones.py), for qr_self, and
    `marks` its `net` and `typed_code`.

    The session and farmer may be named as names.session_id / names.farmer_id take them
    (`village` narrows a farmer's name). Refused when the session is another envoy's.
    """
    session_id = _own_session(store, session)
    farmer_id = names.farmer_id(store, farmer, village)
    method_code = parse_choice(CHECKIN_METHOD_LABELS, method, "method")
    moment = typed_moment(store, at, "checked_in_at")
    record_id, new = store.checkin(session_id, farmer_id, method_code, moment, phone, marks)
    stored = store.record(p.ATTENDANCE, record_id) or {}
    farmer_record = store.record(p.FARMER, farmer_id) or {}
    return Checkin(
        id=record_id,
        new=new,
        session_id=session_id,
        farmer_id=farmer_id,
        farmer_name=farmer_record.get("name") or "",
        checked_in_at=stored.get("checked_in_at") or moment,
        method=stored.get("method") or method_code,
    )


def undo_checkin(store: FieldStore, session: str, farmer: str, *, reason: str | None = None) -> str:
    """Remove a farmer's check-in from a session: a tombstone that syncs; the reason is kept
    on this device (see undone_checkins). Returns the check-in's id."""
    session_id = _own_session(store, session)
    farmer_id = names.farmer_id(store, farmer)
    record_id = attendance_id(session_id, farmer_id)
    store.undo_checkin(record_id, names.as_typed(reason) if reason else None)
    return record_id


@dataclass(frozen=True)
class Undone:
    """A check-in undone on this device, and why."""

    id: str
    farmer_id: str
    farmer_name: str
    reason: str
    undone_at: str


def undone_checkins(store: FieldStore, session: str) -> list[Undone]:
    """Check-ins undone at a session on this device, with the reasons given, oldest first."""
    session_id = names.session_id(store, session, now(store))
    found = []
    for row in store.undone_checkins(session_id):
        farmer = store.record(p.FARMER, row["farmer_id"]) or {}
        found.append(
            Undone(
                id=row["attendance_id"],
                farmer_id=row["farmer_id"],
                farmer_name=farmer.get("name") or "",
                reason=row["reason"] or "",
                undone_at=row["undone_at"],
            )
        )
    return found


# ------------------------------------------------------------------ enrolment and sync


@dataclass(frozen=True)
class SyncOutcome:
    """One sync's figures, and what is left: unsent changes and refusals (this run and all)."""

    report: SyncReport
    pending: int
    rejected: int
    rejected_now: int
    # Photos whose bytes the server does not hold whole yet.
    photos_waiting: Waiting = Waiting(0, 0, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.report.as_dict(),
            "pending": self.pending,
            "rejected": self.rejected,
            "rejected_now": self.rejected_now,
            "photos_waiting": self.photos_waiting.as_dict(),
        }


def server_address(text: str) -> str:
    """A server address as typed: `http://` added when no scheme is given."""
    address = names.clean(text).rstrip("/")
    if "://" not in address:
        address = f"http://{address}"
    scheme = address.split("://", 1)[0].lower()
    if scheme not in ("http", "https") or not address.split("://", 1)[1]:
        raise TianjianError(
            f"server_url: 服务器地址应以 http:// 或 https:// 开头 / not an http(s) address: {text!r}",
            {"server_url": "应为 http(s) 地址 / must be an http(s) address"},
        )
    return address


def enrol_device(
    store: FieldStore, server_url: str, code: str, device_name: str
) -> tuple[dict[str, Any], SyncReport]:
    """Enrol with a one-time code from the bureau, then sync; (the server's answer, report)."""
    answer = enrol(store, server_address(server_url), names.clean(code), device_name)
    return answer, SyncClient(store).sync()


def outbox_summary(store: FieldStore) -> list[tuple[str, int]]:
    """What waits to be sent: (kind, number of changes), by kind."""
    return store.pending_by_kind()


class NoSuchRefusal(TianjianError):
    status = 404
    message = "没有这条被拒绝的更改 / no such refused change"


def discard_refused(store: FieldStore, seq: int) -> None:
    """Drop a change the server refused: it is never sent (the server keeps its own version)."""
    if not store.discard_rejected(seq):
        raise NoSuchRefusal(errors={"seq": "not refused"})


def refusal_hint(kind: str, errors: Mapping[str, Any]) -> str:
    """What the envoy can do about a refused change of `kind` ("中文 / English")."""
    if set(errors) & {"correction_of", "copies"}:
        return (
            "请核对份数后另记一条更正，然后放弃这条更改 / "
            "check the copies, record a new correction, then discard this change"
        )
    if kind in (p.ATTENDANCE, p.LEAFLET_HANDOUT, p.PLOT_OBSERVATION):
        return (
            "培训或示范田不属于你时服务器不接受：请放弃这条更改，或请主持人把你加为协同特派员后"
            "重新记录 / refused when the session or plot is not yours: discard it, or ask the "
            "lead to add you as a co-envoy and record it again"
        )
    return (
        "请按原因修改记录后再同步；无法修改时放弃这条更改 / fix the record as the reason says "
        "and sync again; discard the change if it cannot be fixed"
    )


def sync_device(store: FieldStore, **options: Any) -> SyncOutcome:
    """Send unsent changes and fetch the server's; options as SyncClient takes them."""
    report = SyncClient(store, **options).sync()
    counts = store.counts()
    return SyncOutcome(
        report=report,
        pending=counts.get("pending", 0),
        rejected=counts.get("rejected", 0),
        rejected_now=report.statuses.get(p.REJECTED, 0),
        photos_waiting=photo_store.waiting(store),
    )
