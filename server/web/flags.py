"""The flags page (存疑记录): records whose figures look wrong, by kind and review status."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, current_app, request
from marshmallow import Schema, fields, validate

from server.accounts.access import ANYONE, current_user, requires
from server.api.scope import page_scope
from server.files.page_tables import CODE, NUMBER, Column, Table, china_time_text
from server.quality import checkin_flags, flags, photo_flags
from server.reference import lists as listings
from server.store.db import get_db
from server.web import forms
from server.web.reconciliation import envoy_choices, ledger_link, path_link
from server.web.render import table_page
from shared import protocol as p
from shared import review_status
from shared.clock import to_iso, utc_now

bp = Blueprint("flags", __name__)

KIND_WORDS = {
    flags.PLOT_AREA: ("面积异常", "Plot area"),
    flags.HEADCOUNT: ("上报人数异常", "Headcount"),
    flags.HANDOUT_COPIES: ("发放份数异常", "Copies handed out"),
    flags.EMPTY_SESSION: ("无签到无人数", "Empty session"),
    flags.YIELD_VS_TARGET: ("亩产远离目标", "Yield far from target"),
    checkin_flags.SHARED_ADDRESS: ("同一地址多人签到", "Many check-ins from one address"),
    checkin_flags.CHECKIN_BURST: ("签到快于排队", "Check-ins faster than a queue"),
    checkin_flags.ONE_TIME_FARMERS: ("农户多为一次性", "Mostly one-time farmers"),
    photo_flags.SESSION_WITHOUT_PHOTO: ("有签到无照片", "Session without a photo"),
    photo_flags.PHOTO_OUT_OF_TIME: ("照片时间不符", "Photo taken outside the session"),
    photo_flags.REUSED_PHOTO: ("照片重复使用", "Photo used for two sessions"),
    photo_flags.FAR_FROM_VILLAGE: ("照片远离所属村", "Photo far from its village"),
}
RECORD_WORDS = {
    p.SESSION: ("培训场次", "Session"),
    p.PLOT: ("示范田", "Plot"),
    p.LEAFLET_HANDOUT: ("资料发放", "Leaflet hand-out"),
    p.PLOT_OBSERVATION: ("田间观测", "Plot observation"),
}
UNREVIEWED = "unreviewed"
REVIEW_WORDS = {UNREVIEWED: ("未审核", "not reviewed"), **review_status.LABELS}


class FlagFilter(Schema):
    """Which flags the list shows: one kind, one review status ('unreviewed': none yet)."""

    kind = fields.String(load_default=None, validate=validate.OneOf(flags.KINDS))
    review = fields.String(
        load_default=None, validate=validate.OneOf((UNREVIEWED, *review_status.STATUSES))
    )


def review_link(row: dict[str, Any]) -> str:
    return path_link(
        "review.record",
        "/review/<record_kind>/<record_id>",
        record_kind=row["record_kind"],
        record_id=row["record_id"],
    )


def when_text(value: str | None) -> str:
    """A date as it is; a stored UTC time as China time."""
    if not value or "T" not in value:
        return value or ""
    return china_time_text(value)


def rows_of(found: list[flags.Flag], names: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for flag in found:
        status = flag.review or UNREVIEWED
        kind_zh, kind_en = KIND_WORDS.get(flag.kind, (flag.kind, flag.kind))
        record_zh, record_en = RECORD_WORDS.get(flag.record_kind, (flag.record_kind,) * 2)
        reason_zh, _, reason_en = flag.reason.partition(" / ")
        if flag.note:
            # A kept flag that no longer stands out: the reason as raised, then why it is still here.
            note_zh, _, note_en = flag.note.partition(" / ")
            reason_zh, reason_en = f"{reason_zh}。{note_zh}", f"{reason_en or reason_zh}. {note_en}"
        status_zh, status_en = REVIEW_WORDS.get(status, (status, status))
        rows.append(
            {
                **flag.__dict__,
                "kind_zh": kind_zh,
                "kind_en": kind_en,
                "record_zh": record_zh,
                "record_en": record_en,
                "when": when_text(flag.at),
                "unit": names.get(flag.unit_code or "", flag.unit_code or ""),
                "reason_zh": reason_zh,
                "reason_en": reason_en or reason_zh,
                "status": status,
                "status_zh": status_zh,
                "status_en": status_en,
            }
        )
    return rows


def flags_table(rows: list[dict[str, Any]], unit_name: str, year: int, as_of: str) -> Table:
    bureau = (user := current_user()) is not None and user.role != "envoy"
    return Table(
        "flags",
        "存疑记录",
        "Flagged records",
        (
            Column("kind_zh", "种类", "Kind", en_key="kind_en"),
            Column("status_zh", "审核状态", "Review", en_key="status_en"),
            Column("when", "日期（北京时间）", "Date (China time)"),
            Column(
                "record_zh",
                "记录",
                "Record",
                en_key="record_en",
                link=review_link if bureau else None,
            ),
            Column("envoy", "特派员", "Envoy", link=ledger_link),
            Column("unit", "单位", "Unit"),
            Column("value", "数值", "Value", NUMBER),
            Column("reason_zh", "原因", "Reason", en_key="reason_en"),
            Column("record_id", "记录编号", "Record id", CODE),
        ),
        rows,
        unit_name=unit_name,
        year=year,
        as_of=as_of,
    )


def filter_counts(rows: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """How many flags of each kind and of each review status, for the filter links."""
    return {
        "kind": Counter(row["kind"] for row in rows),
        "review": Counter(row["status"] for row in rows),
    }


@bp.get("/flags")
@requires(*ANYONE)
def listing() -> Any:
    scope = page_scope()
    chosen = forms.load(
        FlagFilter(), {k: v for k, v in request.args.items() if k in FlagFilter().fields}
    )
    db = get_db()
    # An envoy user's own page is headed by the envoy's name, not the login name.
    unit, unit_name, where = scope.place, scope.name, scope.figures()
    now = utc_now()
    found = flags.flags(db, where, now, flags.rules_of(current_app.config))
    names = listings.unit_names(db, (flag.unit_code for flag in found if flag.unit_code))
    every = rows_of(found, names)
    rows = [
        row
        for row in every
        if chosen["kind"] in (None, row["kind"]) and chosen["review"] in (None, row["status"])
    ]
    units: list[dict[str, Any]] = []
    if not scope.own:
        units = listings.unit_choices(db, unit["code"] if unit else None, scope.area)
    envoys, left_out = envoy_choices(db, scope)
    return table_page(
        "flags.html",
        {"flags": flags_table(rows, unit_name, scope.year, to_iso(now))},
        scope=scope,
        chosen=chosen,
        unit=unit,
        unit_name=unit_name,
        as_of=to_iso(now),
        units=units,
        envoys=envoys,
        envoys_left_out=left_out,
        counts=filter_counts(every),
        total=len(every),
        kind_words=KIND_WORDS,
        review_words=REVIEW_WORDS,
        review_order=(UNREVIEWED, *review_status.STATUSES),
        rules=flags.rules_of(current_app.config),
        review_link=review_link,
    )
