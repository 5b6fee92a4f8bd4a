"""Finding records by what people type: a name, a village, a title, a date, the last four digits of
a mobile, or an id (or the first eight characters of one, as lists show it).

Every finder returns one id or raises: UnknownName when nothing matches, AmbiguousName listing
the records that do when several match, so the person can say which.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from field_client.mobiles import mobile_key
from field_client.store import FieldStore
from shared import protocol as p
from shared.clock import CHINA, parse_iso
from shared.errors import TianjianError
from shared.ids import is_uuid
from shared.mobile import mask_mobile, same_mobile
from shared.typed_time import InvalidTime, parse_day

# Lists show ids by their first characters; that many or more name a record when unique.
SHORT_ID = 8
_ID_PREFIX = re.compile(r"^[0-9a-f]{6,36}$")
_LAST_FOUR = re.compile(r"^\d{4}$")
_MOBILE = re.compile(r"^1\d{10}$")
# How many matches an ambiguity message lists before saying "and N more".
_LISTED = 8

KIND_NAMES_ZH = {
    p.FARMER: "农民",
    p.SESSION: "培训场次",
    p.ATTENDANCE: "签到",
    p.LEAFLET_RECEIPT: "资料领取",
    p.LEAFLET_HANDOUT: "资料发放",
    p.PLOT: "示范田",
    p.PLOT_OBSERVATION: "示范田观察",
    p.PHOTO: "照片",
    p.UNIT: "村/乡镇",
    p.ENVOY: "特派员",
    p.TECHNOLOGY: "技术",
    p.VARIETY: "品种",
    p.LEAFLET_TITLE: "资料名称",
    p.TARGET: "目标",
}


@dataclass(frozen=True)
class Match:
    """One record a typed name could mean: its id and a line a person can tell it by."""

    id: str
    label: str


class UnknownName(TianjianError):
    """Typed text names no record of that kind on this device."""

    status = 404

    def __init__(self, kind: str, text: str, hint: str = "") -> None:
        self.kind = kind
        self.text = text
        zh = KIND_NAMES_ZH.get(kind, kind)
        if kind in p.REFERENCE_KINDS:
            english = f"no {kind} named {text!r} on this device (sync first?)"
        else:
            english = f"no such record: {kind} {text!r}"
        super().__init__(
            f"本机找不到“{text}”（{zh}）{hint and '，' + hint} / {english}",
            {kind: "找不到 / not found"},
        )


class AmbiguousName(TianjianError):
    """Typed text fits several records; `matches` lists them so a person can choose."""

    status = 409

    def __init__(self, kind: str, text: str, matches: list[Match]) -> None:
        self.kind = kind
        self.text = text
        self.matches = matches
        zh = KIND_NAMES_ZH.get(kind, kind)
        # A unit by its whole code: codes of one county share their first digits, ids do not.
        shown = "; ".join(
            f"{m.label} [{m.id if kind == p.UNIT else m.id[:SHORT_ID]}]" for m in matches[:_LISTED]
        )
        more = f"; …+{len(matches) - _LISTED}" if len(matches) > _LISTED else ""
        super().__init__(
            f"“{text}”对应{len(matches)}条{zh}，请用编号或更具体的说法 / "
            f"{text!r} matches {len(matches)} {kind} records, give the id or say more: {shown}{more}",
            {kind: [m.id for m in matches]},
        )


def clean(text: str) -> str:
    """Typed text as compared: full-width forms folded (NFKC), outer spaces dropped."""
    return unicodedata.normalize("NFKC", text).strip()


def as_typed(text: str) -> str:
    """Typed text as stored: outer spaces dropped, nothing else. Chinese punctuation stays as
    the envoy typed it (（马鞍村） is not (马鞍村)); lookups compare through clean() anyway."""
    return text.strip()


# ------------------------------------------------------------------ reference data


def reference_id(store: FieldStore, kind: str, text: str) -> str:
    """The id of a technology, variety, leaflet title or envoy: given as an id or by its name."""
    typed = clean(text)
    if is_uuid(typed):
        return typed.lower()
    name_field = "title" if kind == p.LEAFLET_TITLE else "name"
    entries = store.reference(kind)
    found = [e for e in entries if clean(str(e.get(name_field) or "")) == typed]
    if not found:
        found = (
            [e for e in entries if str(e.get("id", "")).startswith(typed.lower())]
            if (_ID_PREFIX.match(typed.lower()))
            else []
        )
    return _one(kind, text, [Match(e["id"], str(e.get(name_field) or "")) for e in found])


def reference_ids(store: FieldStore, kind: str, texts: Iterable[str]) -> list[str]:
    """reference_id of each of several names or ids, in order."""
    return [reference_id(store, kind, text) for text in texts]


def envoy_id(store: FieldStore, text: str) -> str:
    """An envoy's id, from the id or their name as synced from the bureau."""
    return reference_id(store, p.ENVOY, text)


def unit_code(store: FieldStore, text: str, village_only: bool = False) -> str:
    """A unit's code: the code as typed, or the unit with that name.

    Two villages of one name in different townships are told apart as "城关镇/东村" (or
    "城关镇 东村"); `village_only` looks among villages alone.
    """
    typed = clean(text)
    units = store.reference(p.UNIT)
    if typed.isdigit():
        code = typed.ljust(12, "0")
        # Once units have been synced, a code must be one of them; before, it is taken as typed.
        if units and not any(u.get("code") in (typed, code) for u in units):
            raise UnknownName(p.UNIT, text, "本机没有这个区划代码 (no unit with this code)")
        return typed
    if village_only:
        units = [u for u in units if u.get("level") in (None, "village")]
    names = {u["code"]: u.get("name", "") for u in store.reference(p.UNIT)}
    found = [u for u in units if u.get("name") == typed]
    if not found:
        parts = [part for part in re.split(r"[/\s·]+", typed) if part]
        if len(parts) == 2:
            found = [
                u
                for u in units
                if u.get("name") == parts[1]
                and names.get(u.get("parent_code") or "", "") == parts[0]
            ]
    matches = [
        Match(u["code"], f"{names.get(u.get('parent_code') or '', '')}/{u.get('name')}".lstrip("/"))
        for u in found
    ]
    if len(matches) > 1:
        raise AmbiguousName(p.UNIT, text, matches)
    if not matches:
        raise UnknownName(p.UNIT, text, "请用区划代码或先同步 (use its code, or sync first)")
    return matches[0].id


def unit_name(store: FieldStore, code: str | None) -> str:
    """A unit's name for display, or its code when this device does not know it."""
    if not code:
        return ""
    for unit in store.reference(p.UNIT):
        if unit.get("code") == code:
            return str(unit.get("name") or code)
    return code


def unit_names(store: FieldStore) -> dict[str, str]:
    """Every known unit's name by code, for listing many records at once."""
    return {u["code"]: str(u.get("name") or u["code"]) for u in store.reference(p.UNIT)}


# ------------------------------------------------------------------ farmers


@dataclass(frozen=True)
class FarmerRow:
    """A farmer as a list or a search shows them: the mobile masked."""

    id: str
    name: str
    village_code: str
    village: str
    mobile: str
    gender: str
    birth_year: int | None

    @property
    def label(self) -> str:
        return " · ".join(part for part in (self.name, self.village, self.mobile) if part)


def farmer_row(record: dict[str, Any], villages: dict[str, str]) -> FarmerRow:
    code = record.get("village_code") or ""
    return FarmerRow(
        id=record["id"],
        name=record.get("name") or "",
        village_code=code,
        village=villages.get(code, code),
        mobile=mask_mobile(record.get("mobile")),
        gender=record.get("gender") or "unspecified",
        birth_year=record.get("birth_year"),
    )


def search_farmers(store: FieldStore, text: str, village: str | None = None) -> list[FarmerRow]:
    """Farmers whose name contains `text`, or whose mobile ends with or equals it (roster search).

    `village` (a code or name) narrows to one village. Empty text lists every farmer there.
    """
    typed = clean(text)
    code = unit_code(store, village, village_only=True).ljust(12, "0") if village else None
    villages = unit_names(store)
    digits = re.sub(r"\D", "", typed)
    key = mobile_key(store)
    rows = []
    for record in store.records(p.FARMER):
        if code and record.get("village_code") != code:
            continue
        mobile = record.get("mobile") or ""
        if (
            not typed
            or typed in (record.get("name") or "")
            or (len(digits) == 4 and digits == typed and mobile.endswith(digits))
            # Other envoys' farmers are held masked: matched by the mask and its hash.
            or (_MOBILE.match(digits) and same_mobile(key, record, digits))
        ):
            rows.append(farmer_row(record, villages))
    return rows


def farmer_id(store: FieldStore, text: str, village: str | None = None) -> str:
    """One farmer: by id (or its first characters), exact name (within `village` when given),
    the last four digits of the mobile, or the whole mobile; unique or an error listing matches."""
    typed = clean(text)
    by_id = _by_id(store, p.FARMER, typed)
    if by_id is not None:
        return store.canonical_farmer(by_id)
    candidates = search_farmers(store, "", village) if village else search_farmers(store, "")
    if _LAST_FOUR.match(typed):
        found = [f for f in candidates if f.mobile.endswith(typed)]
    elif _MOBILE.match(re.sub(r"\D", "", typed)):
        found = search_farmers(store, typed, village)
    else:
        found = [f for f in candidates if f.name == typed]
    matches = [Match(f.id, f.label) for f in found]
    return store.canonical_farmer(_one(p.FARMER, text, matches))


# ------------------------------------------------------------------ sessions and the rest


def session_label(record: dict[str, Any], villages: dict[str, str]) -> str:
    starts = record.get("starts_at")
    when = parse_iso(starts).astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if starts else ""
    place = villages.get(record.get("unit_code") or "", record.get("unit_code") or "")
    return " · ".join(part for part in (when, record.get("title") or "", place) if part)


def session_id(store: FieldStore, text: str, now: datetime | None = None) -> str:
    """One session: by id (or its first characters), title, day (2026-11-20, 11月20日, 今天),
    or title and day ("马铃薯培训 11月20日"). `now` sets the year of a day typed without one."""
    typed = clean(text)
    by_id = _by_id(store, p.SESSION, typed)
    if by_id is not None:
        return by_id
    sessions = store.records(p.SESSION)
    villages = unit_names(store)
    found = [s for s in sessions if clean(s.get("title") or "") == typed]
    if not found:
        title, day = _title_and_day(typed, now or datetime.now(CHINA))
        if day is not None:
            found = [
                s
                for s in sessions
                if _china_day(s.get("starts_at")) == day
                and (not title or clean(s.get("title") or "") == title)
            ]
    matches = [Match(s["id"], session_label(s, villages)) for s in found]
    return _one(p.SESSION, text, matches)


def record_id(store: FieldStore, kind: str, text: str) -> str:
    """A record of any field kind by id or the first characters of one."""
    typed = clean(text)
    by_id = _by_id(store, kind, typed)
    if by_id is None:
        raise UnknownName(kind, text)
    return by_id


def _title_and_day(typed: str, now: datetime) -> tuple[str, str | None]:
    """A typed day alone, or a title followed by a day; (typed, None) when neither."""
    try:
        return "", parse_day(typed, "session", now)
    except InvalidTime:
        pass
    head, _, tail = typed.rpartition(" ")
    if head:
        try:
            return head.strip(), parse_day(tail, "session", now)
        except InvalidTime:
            pass
    return typed, None


def _china_day(iso: str | None) -> str | None:
    return parse_iso(iso).astimezone(CHINA).date().isoformat() if iso else None


def _by_id(store: FieldStore, kind: str, typed: str) -> str | None:
    """The id when `typed` is one (or a unique start of one) of a record here, else None."""
    lowered = typed.lower()
    if is_uuid(lowered):
        record = store.record(kind, lowered)
        if record is None or record.get("deleted"):
            raise UnknownName(kind, typed)
        return lowered
    if not _ID_PREFIX.match(lowered) or len(lowered) < 6:
        return None
    ids = store.ids_starting(kind, lowered)
    if not ids:
        return None
    return _one(kind, typed, [Match(found, found) for found in ids])


def _one(kind: str, text: str, matches: list[Match]) -> str:
    if not matches:
        raise UnknownName(kind, text)
    if len({m.id for m in matches}) > 1:
        raise AmbiguousName(kind, text, matches)
    return matches[0].id
