"""Reference data pages: units, envoys and their townships, the catalogue; listed, loaded from a file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext

from server.accounts.access import ADMIN_ONLY, BUREAU, requires, signed_in
from server.api.scope import area_rows, whole_server_only
from server.files.page_tables import BOOL, CODE, MOBILE, NUMBER, Column, Table
from server.reference import lists as listings
from server.reference import load as reference
from server.store.db import get_db
from server.web.forms import InvalidInput
from server.web.render import table_page
from server.web.uploads import saved_upload
from shared.clock import to_iso, utc_now

bp = Blueprint("reference", __name__, url_prefix="/reference")

KINDS: dict[str, tuple[str, str, tuple[Column, ...], Callable[[Any], list[dict[str, Any]]]]] = {
    "units": (
        "行政区划",
        "Units",
        (
            Column("code", "区划代码", "Code", CODE),
            Column("name", "名称", "Name"),
            Column("level_zh", "级别", "Level"),
            Column("parent_code", "上级代码", "Parent code", CODE),
            Column("parent_name", "上级", "Parent"),
            Column("latitude", "纬度", "Latitude"),
            Column("longitude", "经度", "Longitude"),
        ),
        listings.units,
    ),
    "envoys": (
        "科技特派员",
        "Envoys",
        (
            Column("name", "姓名", "Name"),
            Column("mobile", "手机", "Mobile", MOBILE),
            Column("townships", "服务乡镇", "Townships served"),
            Column("township_codes", "乡镇代码", "Township codes", CODE),
            Column("devices", "有效设备", "Active devices", NUMBER),
            Column("active", "在岗", "Active", BOOL),
        ),
        listings.envoys,
    ),
    "catalogue": (
        "技术、品种和资料目录",
        "Catalogue",
        (
            Column("type_zh", "类别", "Type"),
            Column("name", "名称", "Name"),
            Column("crop", "作物", "Crop"),
            Column("category", "技术类别", "Category"),
        ),
        listings.catalogue,
    ),
}
LOADERS: dict[str, Callable[[Any, str, str], Any]] = {
    "units": reference.load_units,
    "envoys": reference.load_envoys,
    "catalogue": reference.load_catalogue,
}
# The columns a file may have: the Chinese headers the exports write, or the English ones
# (server/reference/load.py CSV_HEADERS reads either).
FILE_HELP = {
    "units": (
        "区划代码、名称、上级代码、级别（县、乡镇或村），可选 纬度、经度（十进制度，村的位置）",
        "code, name, parent_code, level (county / township / village), optionally latitude,"
        " longitude (decimal degrees, where the village is)",
    ),
    "envoys": (
        "姓名、手机、乡镇代码（空格分隔）",
        "name, mobile, township_codes (space-separated)",
    ),
    "catalogue": (
        "类别（技术、品种或资料）、名称、作物、技术类别",
        "type (technology / variety / leaflet), name, crop, category",
    ),
}


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput("没有这类参考数据 / no such reference data", {"kind": kind})
    return kind


@bp.get("/")
@requires(*BUREAU)
def index() -> Any:
    return redirect(url_for("reference.listing", kind="units"))


@bp.get("/<kind>")
@requires(*BUREAU)
def listing(kind: str) -> Any:
    title_zh, title_en, columns, rows_of = KINDS[_kind(kind)]
    rows = rows_of(get_db())
    if kind == "envoys":
        # People, not shared reference: a user with an area sees its envoys only.
        area = area_rows(signed_in())
        rows = [row for row in rows if area.holds(None, row["id"])]
    table = Table(kind, title_zh, title_en, columns, rows, as_of=to_iso(utc_now()))
    return table_page(
        "reference.html", {kind: table}, kind=kind, kinds=KINDS, file_help=FILE_HELP[kind]
    )


@bp.post("/<kind>")
@requires(*ADMIN_ONLY)
def upload(kind: str) -> Any:
    loader = LOADERS[_kind(kind)]
    whole_server_only(signed_in())
    # The loaders read a path, as the command line gives them; the name says which file it was.
    with saved_upload((".csv",), "CSV") as (path, name):
        result = loader(get_db(), path, name)
    count = sum(result.values()) if isinstance(result, dict) else result
    flash(gettext("已载入 %(count)s 条", count=count), "ok")
    return redirect(url_for("reference.listing", kind=kind))
