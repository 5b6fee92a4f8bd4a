"""Targets page: the year's targets for units and envoys, set on a form or loaded from a file,
and the monthly profile of the work. Everyone at the bureau sees them; only admins change them.
A user with an area sees and changes only its units' and envoys' targets; the monthly profile
and a file of targets are the whole server's (server/api/scope.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext
from marshmallow import Schema, fields, validate

from server.accounts.access import ADMIN_ONLY, BUREAU, requires, signed_in
from server.api.scope import area_rows, inside_area, whole_server_only, year_of
from server.files.page_tables import CODE, NUMBER, Column, Table
from server.plan import profiles, target_files, targets
from server.reference import lists as listings
from server.store.db import get_db
from server.web import forms
from server.web.render import table_page
from server.web.uploads import saved_upload
from shared.clock import to_iso, utc_now
from shared.indicators import BY_KEY, INDICATORS
from shared.schemas.types import Number, Whole

bp = Blueprint("targets", __name__, url_prefix="/targets")

COLUMNS = (
    Column("owner", "单位或特派员", "Unit or envoy"),
    Column("label_zh", "指标", "Indicator", en_key="label_en"),
    Column("comparator", "比较", "Comparator"),
    Column("value", "目标值", "Value", NUMBER),
    Column("growth_percent", "同比增长 %", "Growth on last year %", NUMBER),
    Column("owner_code", "单位代码", "Unit code", CODE),
)


def _year() -> int:
    return year_of(request.values.get("year"))


@bp.get("/")
@requires(*BUREAU)
def listing() -> Any:
    year = _year()
    db = get_db()
    units = {row["code"]: row["name"] for row in listings.units(db)}
    envoys = {row["id"]: row["name"] for row in listings.envoys(db)}
    rows = []
    area = area_rows(signed_in())
    for target in targets.list_targets(db, year):
        if not area.holds(target.unit_code, target.envoy_id):
            continue
        row = target.as_dict()
        row["label_en"] = BY_KEY[target.indicator].label_en
        if target.envoy_id:
            row["owner"] = f"特派员 {envoys.get(target.envoy_id, target.envoy_id)}"
            row["owner_code"] = None
        else:
            row["owner"] = units.get(target.unit_code or "", target.unit_code)
            row["owner_code"] = target.unit_code
        rows.append(row)
    table = Table(
        "targets", "年度目标", "Targets", COLUMNS, rows, year=year, as_of=to_iso(utc_now())
    )
    shares = profiles.profiles_for(db, year)
    return table_page(
        "targets.html",
        {"targets": table},
        year=year,
        indicators=INDICATORS,
        all_units=[
            u for u in listings.units(db) if u["level"] != "village" and area.holds(u["code"])
        ],
        envoys=[e for e in listings.envoys(db) if area.holds(None, e["id"])],
        profile=shares[INDICATORS[0].key],
        even=profiles.even_profile(year),
    )


@bp.post("/")
@requires(*ADMIN_ONLY)
def set_one() -> Any:
    data = {k: v for k, v in request.form.items() if k != "csrf_token" and v != ""}
    area = area_rows(signed_in())
    if "unit_code" in data:
        inside_area(area.holds(str(data["unit_code"])))
    if "envoy_id" in data:
        inside_area(area.holds(None, str(data["envoy_id"])))
    target = targets.set_target(get_db(), data, signed_in())
    flash(gettext("已保存目标：%(label)s", label=BY_KEY[target.indicator].label_zh), "ok")
    return redirect(url_for("targets.listing", year=target.year))


@bp.post("/<path:target_id>/delete")
@requires(*ADMIN_ONLY)
def delete(target_id: str) -> Any:
    found = targets.target_by_id(get_db(), target_id)
    if found is not None:
        inside_area(area_rows(signed_in()).holds(found.unit_code, found.envoy_id))
    targets.delete_target(get_db(), target_id, signed_in())
    flash(gettext("目标已删除"), "ok")
    return redirect(url_for("targets.listing", year=_year()))


@bp.post("/upload")
@requires(*ADMIN_ONLY)
def upload() -> Any:
    whole_server_only(signed_in())
    year = _year()
    suffixes = (".csv", ".xlsx", ".yaml", ".yml", ".json")
    with saved_upload(suffixes, "CSV、XLSX、YAML 或 JSON") as (path, name):
        count = target_files.load_targets_file(get_db(), path, year, signed_in(), name)
    flash(gettext("已载入 %(count)s 项目标", count=count), "ok")
    return redirect(url_for("targets.listing", year=year))


class ProfileForm(Schema):
    year = Whole(required=True, validate=validate.Range(2000, 2200))
    shares = fields.List(Number(), required=True)


@bp.post("/profile")
@requires(*ADMIN_ONLY)
def profile() -> Any:
    whole_server_only(signed_in())
    year = _year()
    if request.form.get("even"):
        profiles.clear_profile(get_db(), year, by=signed_in())
        flash(gettext("已恢复为全年均匀进度"), "ok")
        return redirect(url_for("targets.listing", year=year))
    shares = [request.form.get(f"m{month}", "") for month in range(1, 13)]
    loaded = forms.load(ProfileForm(), {"year": year, "shares": shares})
    profiles.set_profile(get_db(), year, loaded["shares"], by=signed_in())
    flash(gettext("已保存月度进度"), "ok")
    return redirect(url_for("targets.listing", year=year))
