"""The envoy performance page (绩效考评): one row per envoy, sorted on the server, each figure
linked to the records it counts; an envoy sees only their own row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, request, url_for
from marshmallow import Schema, fields, validate

from server.accounts.access import ANYONE, requires
from server.api.scope import page_scope
from server.figures.performance import COLUMNS, SESSION_KINDS, Performance, performance
from server.files.page_tables import CODE, NUMBER, Column, Table
from server.reference import lists as listings
from server.store.db import get_db
from server.summaries import read as summaries_read
from server.web import forms
from server.web.render import table_page
from shared.choices import SESSION_KIND_LABELS

bp = Blueprint("performance", __name__)
PAGE_SIZE = 100
KIND_EN = {
    "village_training": "Village trainings",
    "large_training": "Large trainings",
    "tv_lecture": "TV lectures",
    "field_day": "Field days",
    "science_week": "Science-week events",
    "other": "Other sessions",
}


class SortArgs(Schema):
    sort = fields.String(load_default="envoy", validate=validate.OneOf(COLUMNS))
    desc = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))


def drill(year: int, what: str, **filters: Any) -> Callable[[dict[str, Any]], str]:
    """A cell's link: the list of the envoy's records the figure counts."""

    def link(row: dict[str, Any]) -> str:
        return url_for("records.listing", what=what, year=year, envoy=row["envoy_id"], **filters)

    return link


def performance_table(found: Performance) -> Table:
    year = found.year
    columns: list[Column] = [
        Column(
            "envoy",
            "特派员",
            "Envoy",
            link=lambda row: url_for("progress.overview", year=year, envoy=row["envoy_id"]),
        ),
        Column("townships", "服务乡镇", "Townships served"),
    ]
    for kind in SESSION_KINDS:
        columns.append(
            Column(
                f"kind_{kind}",
                f"{SESSION_KIND_LABELS[kind]}（场）",
                KIND_EN[kind],
                NUMBER,
                link=drill(year, "sessions", kind=kind),
                heading=(SESSION_KIND_LABELS[kind], KIND_EN[kind]),
            )
        )
    columns += [
        Column("co_run", "协办场次", "Sessions co-run", NUMBER, drill(year, "sessions", co_run=1)),
        Column(
            "verified",
            "核实人次（实名签到）",
            "Person-times verified (named)",
            NUMBER,
            drill(year, "checkins"),
            heading=("核实人次", "Verified"),
        ),
        Column(
            "reported",
            "填报人次（报数）",
            "Person-times reported (headcounts)",
            NUMBER,
            drill(year, "sessions", reported=1),
            heading=("填报人次", "Reported"),
        ),
        Column(
            "trainees",
            "培训人数（去重）",
            "Unique trainees",
            NUMBER,
            drill(year, "checkins"),
            heading=("培训人数", "Trainees"),
        ),
        Column("service_days", "服务天数", "Service days", NUMBER, drill(year, "days")),
        Column(
            "verified_days",
            "服务签到天数（核实）",
            "Verified service days",
            NUMBER,
            drill(year, "days", verified=1),
            heading=("签到天数", "Verified days"),
        ),
        Column(
            "leaflets",
            "发放资料（份）",
            "Leaflets handed out",
            NUMBER,
            drill(year, "handouts"),
            heading=("发放资料", "Leaflets"),
        ),
        Column(
            "plots",
            "示范田（块）",
            "Demonstration plots",
            NUMBER,
            drill(year, "plots"),
            heading=("示范田", "Plots"),
        ),
        Column(
            "area_mu",
            "示范面积（亩）",
            "Plot area (mu)",
            NUMBER,
            drill(year, "plots"),
            heading=("面积（亩）", "Area (mu)"),
        ),
        Column("records", "记录数", "Records", NUMBER),
        Column(
            "questioned",
            "被质疑记录",
            "Records questioned",
            NUMBER,
            drill(year, "questioned"),
            heading=("被质疑", "Queried"),
        ),
        Column(
            "questioned_share",
            "被质疑占比 %",
            "Share questioned %",
            NUMBER,
            drill(year, "questioned"),
            heading=("质疑占比 %", "Queried %"),
        ),
        # For files (codes as text); the page has the townships' names.
        Column("township_codes", "服务乡镇代码", "Township codes", CODE, on_page=False),
    ]
    return Table(
        "performance",
        "特派员绩效考评",
        "Envoy performance",
        columns,
        [row.row() for row in found.rows],
        unit_name=found.unit_name,
        year=year,
        as_of=found.as_of,
        notes=[
            "场次按主讲计，协办另列；人次、人数、报数只计本人主讲的场次"
            f"（{SESSION_KIND_LABELS['tv_lecture']}不计）；"
            "服务天数计主讲或协办场次及田间观测的日期（北京时间）；"
            "服务签到天数是其中有实名签到（本人主讲的场次）或本人带时间和定位的照片的天数；"
            "已删除的记录不计。"
            " / Sessions count those led, co-run ones apart; person-times, trainees and headcounts"
            " count the envoy's own sessions (TV lectures aside); service days are China-time"
            " dates with a session led or co-run or a plot observation; verified service days are"
            " those of them with named check-ins at a session the envoy led or a photo of theirs"
            " with its time and place; deleted records never count.",
        ],
    )


@bp.get("/performance")
@requires(*ANYONE)
def table() -> Any:
    scope = page_scope()  # an envoy user is held to their own figures there
    args = forms.load(SortArgs(), {k: v for k, v in request.args.items() if k in SortArgs().fields})
    db = get_db()
    found = performance(
        db,
        scope.year,
        scope.unit,
        scope.envoy,
        args["sort"],
        args["desc"],
        trained=summaries_read.envoys_trained,
    )
    built = performance_table(found)
    page = args["page"]
    total = len(built.rows)
    shown = Table(
        built.name,
        built.title_zh,
        built.title_en,
        built.columns,
        built.rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        built.unit_name,
        built.year,
        built.as_of,
        built.notes,
    )
    # A file holds every envoy in the same order; the page shows one page of them.
    tables = {built.name: built if request.args.get("format") else shown}
    return table_page(
        "performance.html",
        tables,
        found=found,
        scope=scope,
        sorting={"key": found.sort, "desc": found.descending, "columns": COLUMNS},
        page=page,
        total=total,
        page_size=PAGE_SIZE,
        units=listings.unit_choices(db, found.unit_code, scope.area),
    )
