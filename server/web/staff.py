"""Staff pages: devices, farmers that may be one person, merged farmers, edit conflicts, held changes.

A user with an area sees only its rows and may act on no other (server/api/scope.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext
from marshmallow import Schema, fields, validate

from server.accounts.access import ADMIN_ONLY, BUREAU, requires, signed_in
from server.accounts.areas import AreaRows
from server.api.scope import area_rows, inside_area
from server.farmers import merges
from server.farmers.candidates import candidate_pairs
from server.files.page_tables import BOOL, CODE, MOBILE, NUMBER, TIME, YEAR, Column, Table
from server.reference import lists as listings
from server.store.db import get_db
from server.sync import devices, list_held
from server.sync.conflicts import count_conflicts, latest_conflicts
from server.web import forms
from server.web.render import table_page
from shared.choices import add_labels
from shared.clock import to_iso, utc_now

bp = Blueprint("staff", __name__, url_prefix="/staff")
PAGE_SIZE = 100


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100_000))


def page_number() -> int:
    return int(forms.load(PageArgs(), {"page": request.args.get("page", "")})["page"])


def _page_of(rows: list[dict[str, Any]], page: int) -> list[dict[str, Any]]:
    return rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]


DEVICE_COLUMNS = (
    Column("envoy", "特派员", "Envoy"),
    Column("name", "设备名称", "Device"),
    Column("id", "设备编号", "Device id", CODE),
    Column("enrolled_at", "登记时间", "Enrolled", TIME),
    Column("last_seen_at", "最近联系（北京时间）", "Last contact (China time)", TIME),
    Column("skew_s", "时钟偏差（秒）", "Clock skew (s)", NUMBER),
    Column("revoked", "已撤销", "Revoked", BOOL),
)


@bp.get("/devices")
@requires(*BUREAU)
def device_list() -> Any:
    rows = []
    area = area_rows(signed_in())
    for row in devices.list_devices(get_db()):
        if not area.holds_device(row["id"]):
            continue
        skew = row["skew_ms"]
        rows.append(
            {
                **row,
                "skew_s": None if skew is None else round(skew / 1000),
                "revoked": bool(row["revoked_at"]),
            }
        )
    table = Table(
        "devices", "现场设备", "Field devices", DEVICE_COLUMNS, rows, as_of=to_iso(utc_now())
    )
    return table_page("staff/devices.html", {"devices": table})


@bp.post("/devices/<device_id>/revoke")
@requires(*ADMIN_ONLY)
def revoke_device(device_id: str) -> Any:
    # An unknown or already revoked device raises UnknownDevice: the error page says so.
    inside_area(area_rows(signed_in()).holds_device(device_id))
    devices.revoke(get_db(), device_id, signed_in())
    flash(gettext("设备已撤销，不能再同步"), "ok")
    return redirect(url_for("staff.device_list"))


CANDIDATE_COLUMNS = (
    Column("id", "编号", "No.", NUMBER),
    Column("reason_zh", "疑似原因", "Why", en_key="reason_en"),
    Column("name_a", "甲：姓名", "A: name"),
    Column("mobile_a", "甲：手机", "A: mobile", MOBILE),
    Column("village_name_a", "甲：村", "A: village"),
    Column("birth_year_a", "甲：出生年", "A: born", YEAR),
    Column("envoy_a", "甲：登记人", "A: registered by"),
    Column("name_b", "乙：姓名", "B: name"),
    Column("mobile_b", "乙：手机", "B: mobile", MOBILE),
    Column("village_name_b", "乙：村", "B: village"),
    Column("birth_year_b", "乙：出生年", "B: born", YEAR),
    Column("envoy_b", "乙：登记人", "B: registered by"),
)


def _pair_held(area: AreaRows, row: dict[str, Any]) -> bool:
    return area.holds_farmers(*((row[f"village_{side}"], row[f"envoy_id_{side}"]) for side in "ab"))


def _own_pair(candidate_id: int) -> None:
    """Refuse a pair outside the reader's area; an unknown one is left to the merge's 404."""
    area = area_rows(signed_in())
    for row in candidate_pairs(get_db(), only=candidate_id):
        inside_area(_pair_held(area, row))


@bp.get("/candidates")
@requires(*BUREAU)
def candidates() -> Any:
    area = area_rows(signed_in())
    rows = [
        add_labels(row)
        for row in candidate_pairs(get_db(), show_mobiles=True)
        if _pair_held(area, row)
    ]
    table = Table(
        "candidates",
        "疑似同一农户",
        "Possibly the same farmer",
        CANDIDATE_COLUMNS,
        rows,
        as_of=to_iso(utc_now()),
    )
    return table_page("staff/candidates.html", {"candidates": table})


class MergeForm(Schema):
    keep = fields.String(required=True, validate=validate.OneOf(("a", "b")))


@bp.post("/candidates/<int:candidate_id>/merge")
@requires(*BUREAU)
def merge(candidate_id: int) -> Any:
    keep = forms.load(MergeForm(), request.form)["keep"]
    _own_pair(candidate_id)
    merges.merge_candidate(get_db(), candidate_id, keep, signed_in())
    flash(gettext("已合并为同一农户"), "ok")
    return redirect(url_for("staff.candidates"))


@bp.post("/candidates/<int:candidate_id>/dismiss")
@requires(*BUREAU)
def dismiss(candidate_id: int) -> Any:
    _own_pair(candidate_id)
    merges.dismiss(get_db(), candidate_id, signed_in())
    flash(gettext("已标记为不同的人"), "ok")
    return redirect(url_for("staff.candidates"))


MERGED_COLUMNS = (
    Column("name", "姓名", "Name"),
    Column("mobile", "手机", "Mobile", MOBILE),
    Column("village", "村", "Village"),
    Column("envoy", "登记人", "Registered by"),
    Column("canonical_name", "合并到", "Merged into"),
    Column("canonical_envoy", "合并到（登记人）", "Merged into (registered by)"),
    Column("merged_at", "合并时间", "Merged", TIME),
    Column("reason_zh", "方式", "How", en_key="reason_en"),
)


@bp.get("/merged")
@requires(*BUREAU)
def merged() -> Any:
    page = page_number()
    db = get_db()
    area = area_rows(signed_in())
    if area.prefix:
        # A side outside the area hides the row; counted here, past the one query's pages.
        held = [
            row
            for row in listings.merged_farmers(db, listings.count_merged_farmers(db))
            if area.holds_farmers(
                (row["village_code"], row["envoy_id"]),
                (row["canonical_village_code"], row["canonical_envoy_id"]),
            )
        ]
        rows, total = _page_of(held, page), len(held)
    else:
        rows = listings.merged_farmers(db, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        total = listings.count_merged_farmers(db)
    for row in rows:
        add_labels(row)
    table = Table(
        "merged", "已合并农户", "Merged farmers", MERGED_COLUMNS, rows, as_of=to_iso(utc_now())
    )
    return table_page(
        "staff/list.html",
        {"merged": table},
        page=page,
        total=total,
        page_size=PAGE_SIZE,
    )


CONFLICT_COLUMNS = (
    Column("recorded_at", "记录时间", "Recorded", TIME),
    Column("kind", "记录类型", "Record kind"),
    Column("record_id", "记录编号", "Record id", CODE),
    Column("field", "字段", "Field"),
    Column("winning_value", "保留的值", "Value kept"),
    Column("losing_value", "未采用的值", "Value not kept"),
    Column("device_id", "未采用的设备", "Device whose edit lost", CODE),
)


@bp.get("/conflicts")
@requires(*BUREAU)
def conflicts() -> Any:
    page = page_number()
    db = get_db()
    area = area_rows(signed_in())
    if area.prefix:
        # The losing edit's device says whose it was (a county's link: that county's).
        held = [
            row
            for row in latest_conflicts(db, count_conflicts(db))
            if area.holds_device(row["device_id"])
        ]
        rows, total = _page_of(held, page), len(held)
    else:
        rows = latest_conflicts(db, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        total = count_conflicts(db)
    table = Table(
        "conflicts", "编辑冲突", "Edit conflicts", CONFLICT_COLUMNS, rows, as_of=to_iso(utc_now())
    )
    return table_page(
        "staff/list.html",
        {"conflicts": table},
        page=page,
        total=total,
        page_size=PAGE_SIZE,
    )


HELD_COLUMNS = (
    Column("held_at", "暂存时间", "Held since", TIME),
    Column("envoy", "特派员", "Envoy"),
    Column("device_id", "设备", "Device", CODE),
    Column("seq", "变更序号", "Change no.", NUMBER),
    Column("waiting_kind", "等待的记录类型", "Waiting for kind"),
    Column("waiting_id", "等待的记录", "Waiting for record", CODE),
)


@bp.get("/held")
@requires(*BUREAU)
def held() -> Any:
    page = page_number()
    db = get_db()
    area = area_rows(signed_in())
    held_rows = [row for row in list_held(db) if area.holds_device(row["device_id"])]
    rows = _page_of(held_rows, page)
    table = Table("held", "暂存的变更", "Held changes", HELD_COLUMNS, rows, as_of=to_iso(utc_now()))
    return table_page(
        "staff/list.html", {"held": table}, page=page, total=len(held_rows), page_size=PAGE_SIZE
    )
