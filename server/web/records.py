"""Drill-down pages: the sessions, check-ins, hand-outs and plots a figure counts, and one session."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, redirect, request, url_for
from marshmallow import Schema, fields, validate

from server.accounts.access import ANYONE, current_user, requires, signed_in
from server.api.scope import own_record, page_scope
from server.figures import drilldown, envoy_records
from server.figures.counted import Scope
from server.files.page_tables import BOOL, CODE, MOBILE, NUMBER, TIME, YEAR, Column, Table
from server.media.photos import photos_of
from server.quality import reviews
from server.store.db import get_db
from server.web import forms
from server.web.render import table_page
from server.web.review import STATUS_LABELS
from shared.choices import SESSION_KINDS, add_labels
from shared.clock import local_date, parse_iso, to_iso, utc_now

bp = Blueprint("records", __name__, url_prefix="/records")
PAGE_SIZE = 50
# Every list a figure drills to: the unit's records, and an envoy's service days and records
# under question (the performance page's).
LISTS = {**drilldown.LISTS, **envoy_records.LISTS}


class FilterArgs(Schema):
    kind = fields.String(load_default=None, validate=validate.Length(1, 40))
    month = fields.Integer(load_default=None, validate=validate.Range(1, 12))
    technology = fields.String(load_default=None, validate=validate.Length(1, 64))
    gender = fields.String(
        load_default=None, validate=validate.OneOf(("female", "male", "unspecified"))
    )
    q = fields.String(load_default=None, validate=validate.Length(1, 60))
    co_run = fields.Boolean(load_default=False)
    reported = fields.Boolean(load_default=False)
    verified = fields.Boolean(load_default=False)
    # The distinct-count figure a list was drilled to from (its page says why counts differ).
    figure = fields.String(
        load_default=None,
        validate=validate.OneOf(("technologies_promoted", "varieties_introduced")),
    )
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))


def unit_link(code_key: str) -> Any:
    """A record's unit or village, linked to that unit's progress (not for envoy users)."""

    def link(row: dict[str, Any]) -> str | None:
        user = current_user()
        if not row.get(code_key) or user is None or user.role == "envoy":
            return None
        return url_for("progress.overview", unit=row[code_key], year=request.args.get("year"))

    return link


def session_link(row: dict[str, Any]) -> str | None:
    return (
        url_for("records.session", session_id=row["session_id"]) if row.get("session_id") else None
    )


def _columns(what: str) -> tuple[str, str, tuple[Column, ...]]:
    if what in ENVOY_COLUMNS:
        return ENVOY_COLUMNS[what]
    if what == "sessions":
        return (
            "场次",
            "Sessions",
            (
                Column("starts_at", "时间", "When", TIME),
                Column("kind_zh", "类型", "Kind", en_key="kind_en"),
                Column(
                    "title",
                    "主题",
                    "Title",
                    link=lambda r: url_for("records.session", session_id=r["id"]),
                ),
                Column("unit", "地点（单位）", "Unit"),
                Column("place", "具体地点", "Place"),
                Column("envoy", "主讲特派员", "Lead envoy"),
                Column("checkins", "实名签到", "Named check-ins", NUMBER),
                Column("reported_headcount", "填报人数", "Reported headcount", NUMBER),
                Column("display_boards", "展板", "Display boards", NUMBER),
                Column(
                    "photos",
                    "照片",
                    "Photos",
                    NUMBER,
                    link=lambda r: url_for("records.session", session_id=r["id"], _anchor="photos"),
                ),
                Column("unit_code", "区划代码", "Unit code", CODE),
            ),
        )
    if what == "checkins":
        return (
            "签到",
            "Check-ins",
            (
                Column("checked_in_at", "签到时间", "Checked in", TIME),
                Column("farmer", "学员", "Trainee"),
                Column("mobile", "手机", "Mobile", MOBILE),
                Column("gender_zh", "性别", "Gender", en_key="gender_en"),
                Column("birth_year", "出生年", "Born", YEAR),
                Column("village", "村", "Village"),
                Column("method_zh", "签到方式", "Method", en_key="method_en"),
                Column("session_title", "场次", "Session", link=session_link),
                Column("session_kind_zh", "类型", "Kind", en_key="session_kind_en"),
                Column("envoy", "特派员", "Envoy"),
            ),
        )
    if what == "handouts":
        return (
            "资料发放",
            "Leaflet hand-outs",
            (
                Column("handed_out_at", "发放时间", "Handed out", TIME),
                Column("title", "资料", "Leaflet"),
                Column("copies", "份数", "Copies", NUMBER),
                Column("unit", "地点（单位）", "Unit"),
                Column("envoy", "特派员", "Envoy"),
                Column("session_title", "场次", "Session", link=session_link),
            ),
        )
    return (
        "示范田",
        "Demonstration plots",
        (
            Column("established_on", "建立日期", "Established", "date"),
            Column("village", "村", "Village"),
            Column("host_name", "承担户", "Host"),
            Column("crop", "作物", "Crop"),
            Column("variety", "品种", "Variety"),
            Column("area_mu", "面积（亩）", "Area (mu)", NUMBER),
            Column("target_yield_kg_per_mu", "目标亩产（公斤）", "Target yield (kg/mu)", NUMBER),
            Column("latest_yield_kg_per_mu", "最近测产（公斤）", "Latest yield (kg/mu)", NUMBER),
            Column("envoy", "特派员", "Envoy"),
            Column("village_code", "区划代码", "Village code", CODE),
        ),
    )


ENVOY_COLUMNS = {
    "days": (
        "服务天数",
        "Service days",
        (
            Column("day", "日期", "Day", "date"),
            Column("sessions_led", "主讲场次", "Sessions led", NUMBER),
            Column("sessions_co_run", "协办场次", "Sessions co-run", NUMBER),
            Column("observations", "田间观测", "Plot observations", NUMBER),
            Column("verified", "签到核实", "Verified", BOOL),
            Column("what", "内容", "What"),
        ),
    ),
    "questioned": (
        "被质疑的记录",
        "Records under question",
        (
            Column(
                "kind_zh",
                "记录类型",
                "Record kind",
                en_key="kind_en",
                link=lambda r: r["review_path"],
            ),
            Column("day", "记录日期", "Record date", "date"),
            Column("status_zh", "审核结果", "Review", en_key="status_en"),
            Column("note", "审核意见", "Note"),
            Column("reviewed_by", "审核人", "Reviewed by"),
            Column("reviewed_at", "审核时间", "Reviewed at", TIME),
            Column("record_id", "记录编号", "Record id", CODE),
        ),
    ),
}


def _words(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        add_labels(row)
    return rows


@bp.get("/")
@requires(*ANYONE)
def listing_sessions() -> Any:
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "what"}
    return redirect(url_for("records.listing", what="sessions", **args))


@bp.get("/<what>")
@requires(*ANYONE)
def listing(what: str) -> Any:
    if what not in LISTS:
        raise forms.InvalidInput("没有这类记录 / no such list", {"what": what})
    scope = page_scope()
    args = forms.load(
        FilterArgs(), {k: v for k, v in request.args.items() if k in FilterArgs().fields}
    )
    db = get_db()
    filters = drilldown.Filters(
        kind=args["kind"],
        month=args["month"],
        technology=args["technology"],
        gender=args["gender"],
        search=args["q"],
        co_run=args["co_run"],
        reported=args["reported"],
        verified=args["verified"],
    )
    page = args["page"]
    # A file holds every matching record, not one page of them.
    wants_file = bool(request.args.get("format"))
    limit, offset = (1_000_000, 0) if wants_file else (PAGE_SIZE, (page - 1) * PAGE_SIZE)
    found = LISTS[what](db, scope.figures(), filters, limit, offset)
    title_zh, title_en, columns = _columns(what)
    table = Table(
        what,
        title_zh,
        title_en,
        columns,
        _words(found.rows),
        # Whose records: the unit's, or else the envoy's (heading, file name, first line).
        unit_name=scope.name,
        year=scope.year,
        as_of=to_iso(utc_now()),
    )
    return table_page(
        "records.html",
        {what: table},
        what=what,
        scope=scope,
        args=args,
        page=page,
        total=found.total,
        sums=found.sums,
        page_size=PAGE_SIZE,
        kind_words=SESSION_KINDS,
    )


@bp.get("/session/<session_id>")
@requires(*ANYONE)
def session(session_id: str) -> Any:
    db = get_db()
    detail = drilldown.session_detail(db, session_id)
    co_envoys = json.loads(detail.get("co_envoy_ids") or "[]")
    owners = [detail.get("envoy_id"), detail["lead_envoy_id"], *co_envoys]
    own_record(signed_in(), owners, detail["unit_code"])

    year = local_date(parse_iso(detail["starts_at"])).year
    scope = Scope(year, "", None)
    found = drilldown.checkins(db, scope, drilldown.Filters(session=session_id), 100_000, 0)
    _title, _en, columns = _columns("checkins")
    table = Table(
        "session-checkins",
        f"{detail['title'] or '场次'}的签到",
        "Check-ins of this session",
        columns,
        _words(found.rows),
        unit_name=detail["unit"] or "",
        year=year,
        as_of=to_iso(utc_now()),
    )
    return table_page(
        "session.html",
        {"session-checkins": table},
        detail=detail,
        year=year,
        kind_words=SESSION_KINDS,
        total=found.total,
        review=reviews.review_of(db, "session", session_id),
        review_labels=STATUS_LABELS,
        photos=photos_of(db, "session", session_id),
    )
