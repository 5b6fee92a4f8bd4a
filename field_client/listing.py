"""Records as people read them (names, China-time dates, counts, masked mobiles), and the
device's state (what waits to be sent, what the server refused or holds)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from field_client import names
from field_client.store import FieldStore
from shared import protocol as p
from shared.choices import (
    CHECKIN_METHOD_LABELS,
    GENDER_LABELS,
    PHOTO_KIND_LABELS,
    PLOT_STAGE_LABELS,
    SESSION_KIND_LABELS,
    label,
)
from shared.clock import CHINA, parse_iso
from shared.mobile import mask_mobile

# The words `list` takes, and the kind each means.
KIND_NAMES = {
    "farmers": p.FARMER,
    "sessions": p.SESSION,
    "attendances": p.ATTENDANCE,
    "receipts": p.LEAFLET_RECEIPT,
    "handouts": p.LEAFLET_HANDOUT,
    "plots": p.PLOT,
    "observations": p.PLOT_OBSERVATION,
    "photos": p.PHOTO,
    "units": p.UNIT,
    "technologies": p.TECHNOLOGY,
    "varieties": p.VARIETY,
    "leaflet-titles": p.LEAFLET_TITLE,
    "targets": p.TARGET,
    "envoys": p.ENVOY,
}


@dataclass(frozen=True)
class Listing:
    """A table: (key, header) columns and rows of display text keyed alike."""

    columns: list[tuple[str, str]]
    rows: list[dict[str, str]]


def china_time(iso: str | None) -> str:
    """UTC ISO text as China time, to the minute: 2026-11-20 09:00."""
    return parse_iso(iso).astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if iso else ""


def full_records(store: FieldStore, kind: str) -> list[dict[str, Any]]:
    """Every live record of a kind, whole (for --json and exports), mobiles masked."""
    if kind not in p.FIELD_KINDS:
        return store.reference(kind)
    rows = store.records(kind)
    for row in rows:
        row.pop("_stamps", None)
        if "mobile" in row:
            row["mobile"] = mask_mobile(row["mobile"])
    return rows


def listing(store: FieldStore, kind: str) -> Listing:
    """Records of one kind as a readable table (short ids, names, China-time dates, counts)."""
    return _LISTERS.get(kind, _reference)(store, kind)


def _short(record_id: str | None) -> str:
    return (record_id or "")[: names.SHORT_ID]


def _farmers(store: FieldStore, kind: str) -> Listing:
    villages = names.unit_names(store)
    rows = []
    for record in store.records(p.FARMER):
        row = names.farmer_row(record, villages)
        rows.append(
            {
                "id": _short(row.id),
                "name": row.name,
                "village": row.village,
                "mobile": row.mobile,
                "gender": label(GENDER_LABELS, row.gender),
                "birth_year": str(row.birth_year or ""),
            }
        )
    return Listing(
        [
            ("id", "编号 id"),
            ("name", "姓名 name"),
            ("village", "村 village"),
            ("mobile", "手机 mobile"),
            ("gender", "性别 gender"),
            ("birth_year", "出生年 born"),
        ],
        rows,
    )


def _sessions(store: FieldStore, kind: str) -> Listing:
    villages = names.unit_names(store)
    checkins = Counter(a.get("session_id") for a in store.records(p.ATTENDANCE))
    rows = [
        {
            "id": _short(s["id"]),
            "starts_at": china_time(s.get("starts_at")),
            "kind": label(SESSION_KIND_LABELS, s.get("kind")),
            "title": s.get("title") or "",
            "place": villages.get(s.get("unit_code") or "", s.get("unit_code") or ""),
            "checkins": str(checkins.get(s["id"], 0)),
            "headcount": ""
            if s.get("reported_headcount") is None
            else str(s["reported_headcount"]),
            "closed": "已结束" if s.get("closed") else "进行中",
        }
        for s in sorted(store.records(p.SESSION), key=lambda s: s.get("starts_at") or "")
    ]
    return Listing(
        [
            ("id", "编号 id"),
            ("starts_at", "开始 starts"),
            ("kind", "类型 kind"),
            ("title", "标题 title"),
            ("place", "地点 place"),
            ("checkins", "签到 checked in"),
            ("headcount", "报告人数 headcount"),
            ("closed", "状态 state"),
        ],
        rows,
    )


def _attendances(store: FieldStore, kind: str) -> Listing:
    farmers = {f["id"]: f.get("name") or "" for f in store.records(p.FARMER, include_deleted=True)}
    sessions = {
        s["id"]: s.get("title") or "" for s in store.records(p.SESSION, include_deleted=True)
    }
    rows = [
        {
            "id": _short(a["id"]),
            "checked_in_at": china_time(a.get("checked_in_at")),
            "session": sessions.get(a.get("session_id") or "", _short(a.get("session_id"))),
            "farmer": farmers.get(a.get("farmer_id") or "", _short(a.get("farmer_id"))),
            "method": label(CHECKIN_METHOD_LABELS, a.get("method")),
        }
        for a in store.records(p.ATTENDANCE)
    ]
    return Listing(
        [
            ("id", "编号 id"),
            ("checked_in_at", "签到时间 time"),
            ("session", "培训 session"),
            ("farmer", "农民 farmer"),
            ("method", "方式 method"),
        ],
        rows,
    )


def _leaflets(store: FieldStore, kind: str) -> Listing:
    titles = {t["id"]: t.get("title") or "" for t in store.reference(p.LEAFLET_TITLE)}
    villages = names.unit_names(store)
    sessions = {
        s["id"]: s.get("title") or "" for s in store.records(p.SESSION, include_deleted=True)
    }
    receipt = kind == p.LEAFLET_RECEIPT
    rows: list[dict[str, str]] = []
    for r in store.records(kind):
        where = sessions.get(r.get("session_id") or "") or villages.get(r.get("unit_code") or "")
        rows.append(
            {
                "id": _short(r["id"]),
                "when": (r.get("received_on") or "")
                if receipt
                else china_time(r.get("handed_out_at")),
                "title": titles.get(r.get("leaflet_title_id") or "")
                or _short(r.get("leaflet_title_id")),
                "copies": str(r.get("copies")),
                "where": "" if receipt else (where or r.get("unit_code") or ""),
                "correction_of": _short(r.get("correction_of")),
            }
        )
    columns = [
        ("id", "编号 id"),
        ("when", "日期 date" if receipt else "时间 time"),
        ("title", "资料 leaflet"),
        ("copies", "份数 copies"),
    ]
    if not receipt:
        columns.append(("where", "地点 where"))
    return Listing([*columns, ("correction_of", "更正 corrects")], rows)


def _plots(store: FieldStore, kind: str) -> Listing:
    villages = names.unit_names(store)
    rows = [
        {
            "id": _short(r["id"]),
            "village": villages.get(r.get("village_code") or "", r.get("village_code") or ""),
            "host_name": r.get("host_name") or "",
            "crop": r.get("crop") or "",
            "area_mu": f"{r.get('area_mu')}",
            "established_on": r.get("established_on") or "",
        }
        for r in store.records(p.PLOT)
    ]
    return Listing(
        [
            ("id", "编号 id"),
            ("village", "村 village"),
            ("host_name", "承担户 host"),
            ("crop", "作物 crop"),
            ("area_mu", "面积(亩) mu"),
            ("established_on", "建立 established"),
        ],
        rows,
    )


def _observations(store: FieldStore, kind: str) -> Listing:
    plots = {
        r["id"]: f"{r.get('host_name') or ''} {r.get('crop') or ''}".strip()
        for r in store.records(p.PLOT, include_deleted=True)
    }
    rows = [
        {
            "id": _short(r["id"]),
            "observed_on": r.get("observed_on") or "",
            "plot": plots.get(r.get("plot_id") or "", _short(r.get("plot_id"))),
            "stage": label(PLOT_STAGE_LABELS, r.get("stage")),
            "survival_rate": "" if r.get("survival_rate") is None else f"{r['survival_rate']}%",
            "yield_kg_per_mu": ""
            if r.get("yield_kg_per_mu") is None
            else str(r["yield_kg_per_mu"]),
            "notes": r.get("notes") or "",
        }
        for r in store.records(p.PLOT_OBSERVATION)
    ]
    return Listing(
        [
            ("id", "编号 id"),
            ("observed_on", "日期 date"),
            ("plot", "示范田 plot"),
            ("stage", "阶段 stage"),
            ("survival_rate", "成活率 survival"),
            ("yield_kg_per_mu", "亩产 yield"),
            ("notes", "备注 notes"),
        ],
        rows,
    )


def _photos(store: FieldStore, kind: str) -> Listing:
    uploads = dict(store.db.execute("SELECT sha256, complete FROM photo_uploads").fetchall())
    subjects = {"session": "培训", "observation": "观察"}
    rows = [
        {
            "id": _short(r["id"]),
            "photo_kind": label(PHOTO_KIND_LABELS, r.get("photo_kind")),
            "subject": f"{subjects.get(r.get('subject_kind') or '', '')} "
            f"{_short(r.get('subject_id'))}",
            "taken_at": china_time(r.get("taken_at")),
            "size": f"{int(r.get('size_bytes') or 0) // 1024} KB",
            "sent": _upload_word(uploads.get(r.get("sha256") or "")),
        }
        for r in store.records(p.PHOTO)
    ]
    return Listing(
        [
            ("id", "编号 id"),
            ("photo_kind", "类型 kind"),
            ("subject", "属于 of"),
            ("taken_at", "拍摄 taken"),
            ("size", "大小 size"),
            ("sent", "上传 upload"),
        ],
        rows,
    )


def _upload_word(complete: int | None) -> str:
    if complete is None:
        return "不在本机"  # made on another device: its bytes travel from there
    return "已传完" if complete else "待传"


def _reference(store: FieldStore, kind: str) -> Listing:
    keys = ("code", "id", "name", "title", "level", "crop", "category", "indicator", "value")
    entries = store.reference(kind)
    present = [k for k in keys if any(e.get(k) is not None for e in entries)]
    rows = [
        {k: _short(str(e.get(k))) if k == "id" else str(e.get(k) or "") for k in present}
        for e in entries
    ]
    return Listing([(k, k) for k in present], rows)


_LISTERS: dict[str, Callable[[FieldStore, str], Listing]] = {
    p.FARMER: _farmers,
    p.SESSION: _sessions,
    p.ATTENDANCE: _attendances,
    p.LEAFLET_RECEIPT: _leaflets,
    p.LEAFLET_HANDOUT: _leaflets,
    p.PLOT: _plots,
    p.PLOT_OBSERVATION: _observations,
    p.PHOTO: _photos,
}


# ------------------------------------------------------------------ the device's state


@dataclass(frozen=True)
class Refused:
    """A change the server refused: what it was and why (kept until fixed or discarded)."""

    seq: int
    kind: str
    id: str
    reason: str
    errors: dict[str, Any]


@dataclass(frozen=True)
class Held:
    """A change the server keeps until the record it names arrives (a check-in before its
    session reached the server from another device, say)."""

    seq: int | None
    kind: str
    id: str | None
    waiting_kind: str
    waiting_id: str
    held_at: str

    @property
    def reason(self) -> str:
        zh = names.KIND_NAMES_ZH.get(self.waiting_kind, self.waiting_kind)
        return (
            f"等待{zh} {self.waiting_id[: names.SHORT_ID]} 到达服务器 / "
            f"waiting for {self.waiting_kind} {self.waiting_id} to reach the server"
        )


@dataclass(frozen=True)
class DeviceStatus:
    """What this device holds: enrolment, unsent changes, refusals, changes the server holds."""

    enrolled: bool
    server: str | None
    device_id: str | None
    pending: int
    cursor: int
    rejected: list[Refused] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    held_count: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "enrolled": self.enrolled,
            "server": self.server,
            "device_id": self.device_id,
            "pending": self.pending,
            "rejected": [r.__dict__ for r in self.rejected],
            "held": [{**h.__dict__, "reason": h.reason} for h in self.held],
            "held_count": self.held_count,
            "cursor": self.cursor,
        }


def device_status(store: FieldStore) -> DeviceStatus:
    """The device's sync state, read in one go."""
    counts = store.counts()
    held, held_count = store.held()
    rejected = [
        Refused(
            seq=r["seq"],
            kind=r["kind"],
            id=r["id"],
            reason=r["reason"] or "",
            errors=json.loads(r["errors"] or "{}"),
        )
        for r in store.rejected()
    ]
    return DeviceStatus(
        enrolled=store.enrolled,
        server=store.get("server_url"),
        device_id=store.get("device_id"),
        pending=counts.get("pending", 0),
        cursor=int(store.get("cursor", "0") or 0),
        rejected=rejected,
        held=[
            Held(
                seq=h.get("q"),
                kind=h.get("k") or "",
                id=h.get("i"),
                waiting_kind=h.get("w") or "",
                waiting_id=h.get("wi") or "",
                held_at=h.get("t") or "",
            )
            for h in held
        ],
        held_count=held_count,
    )
