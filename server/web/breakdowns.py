"""Breakdown pages: a unit's year by place (province down to village), envoy, month,
technology, kind or gender."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from marshmallow import Schema, fields, validate

from server.accounts.access import BUREAU, requires
from server.api.scope import ViewScope, page_scope
from server.files.page_tables import CODE, NUMBER, CellDetail, Column, Table
from server.plan.breakdowns import BY, breakdown, offered
from server.reference import lists as listings
from server.store.db import get_db
from server.web import forms
from server.web.formatting import number
from server.web.progress import DRILL
from server.web.render import table_page
from shared.choices import TARGET_STATUSES

bp = Blueprint("breakdowns", __name__)

BY_WORDS = {
    "province": ("省", "province"),
    "city": ("市", "city"),
    "county": ("县", "county"),
    "township": ("乡镇", "township"),
    "village": ("村", "village"),
    "envoy": ("特派员", "envoy"),
    "month": ("月份", "month"),
    "technology": ("技术", "technology"),
    "kind": ("活动类型", "session kind"),
    "gender": ("性别", "gender"),
}
# The records filter a breakdown row stands for.
ROW_FILTER = {
    "province": "unit",
    "city": "unit",
    "county": "unit",
    "township": "unit",
    "village": "unit",
    "envoy": "envoy",
    "month": "month",
    "technology": "technology",
    "kind": "kind",
    "gender": "gender",
}


class BreakdownArgs(Schema):
    by = fields.String(load_default="township", validate=validate.OneOf(BY))


def judged_cell(key: str) -> Any:
    """A figure's cell on the page: "70 / 3,000" with a coloured status under it (share done and
    where it should be by now in the tooltip), and, for person-times, the headcount typed beside
    them. Files carry each part in its own column."""

    def detail(row: dict[str, Any], english: bool) -> CellDetail | None:
        lines = []
        reported = row.get("reported") if key == "trainee_attendances" else None
        if reported:
            lines.append(
                f"reported {number(reported)}, not added"
                if english
                else f"报数 {number(reported)}（未计入）"
            )
        status = row.get(f"{key}__status_code")
        if status is None:
            return CellDetail(lines=tuple(lines)) if lines else None
        words = TARGET_STATUSES.get(status)
        word = (words.en if english else words.zh) if words else status
        percent, target = row.get(f"{key}__percent"), row.get(f"{key}__target")
        expected = row.get(f"{key}__expected")
        title = (
            f"target {number(target)}; expected by now {number(expected)}"
            if english
            else f"目标 {number(target)}；按月度进度此时应完成 {number(expected)}"
        )
        return CellDetail(
            of=number(target) if target is not None else None,
            status=status,
            status_text=f"{number(percent)}% {word}" if percent is not None else word,
            lines=tuple(lines),
            title=title if target is not None else None,
        )

    return detail


def breakdown_table(data: dict[str, Any], scope: ViewScope, unit_name: str) -> Table:
    """One column per indicator (figure / target, status under it) on the page; targets, shares
    and statuses in columns of their own in files."""
    by = data["by"]
    zh_by, en_by = BY_WORDS[by]

    def row_link(row: dict[str, Any]) -> str | None:
        if row.get("is_total") or row.get("above") or row["key"] in (None, ""):
            return None
        if by in ROW_FILTER and ROW_FILTER[by] == "unit":
            return url_for("progress.overview", **scope.query(unit=row["key"]))
        if by == "envoy":
            return url_for("progress.overview", **scope.query(envoy=row["key"], unit=None))
        return None

    def drill(indicator: str) -> Any:
        def link(row: dict[str, Any]) -> str | None:
            kind, extra = DRILL[indicator]
            filters = dict(extra)
            if not row.get("is_total"):
                if row.get("above") or row["key"] in (None, ""):
                    # Records above this level (a county-wide lecture in a township list).
                    return None
                filters[ROW_FILTER[by]] = row["key"]
            if by == "kind" and "kind" in extra and filters.get("kind") != extra["kind"]:
                return None
            query = scope.query(**filters)
            return url_for("records.listing", what=kind, **query)

        return link

    columns: list[Column] = [
        Column("label_zh", zh_by, en_by.capitalize(), en_key="label_en", link=row_link)
    ]
    targeted = {key for row in data["rows"] for key in row["targets"]}
    targeted |= set(data.get("total_targets", {}))
    for indicator in data["indicators"]:
        key = indicator["key"]
        columns.append(
            Column(
                key,
                indicator["label_zh"],
                indicator["label_en"],
                NUMBER,
                link=drill(key),
                detail=judged_cell(key),
            )
        )
        if key == "trainee_attendances":
            columns.append(
                Column(
                    "reported",
                    "报数（填报，未计入）",
                    "Reported (typed, not added)",
                    NUMBER,
                    on_page=False,
                )
            )
        if key in targeted:
            columns.append(Column(f"{key}__target", "目标", "Target", NUMBER, on_page=False))
            columns.append(Column(f"{key}__percent", "完成率 %", "Percent", NUMBER, on_page=False))
            columns.append(Column(f"{key}__status", "状态", "Status", on_page=False))

    def flat(row: dict[str, Any], values: dict[str, Any], judged: dict[str, Any]) -> dict[str, Any]:
        out = {**row, **values}
        for key, target in judged.items():
            out[f"{key}__target"] = target["target"]
            out[f"{key}__percent"] = target["percent"]
            out[f"{key}__expected"] = target["expected_by_now"]
            out[f"{key}__status"] = STATUS_ZH.get(target["status"], "")
            out[f"{key}__status_code"] = target["status"]
        return out

    rows = [
        flat(
            {
                "key": row["key"],
                "label_zh": row["label_zh"],
                "label_en": row["label_en"],
                "above": row.get("above", False),
                "township": row.get("township"),
                "unit_code": row["key"] if row.get("township") is not None else None,
            },
            row["values"],
            row["targets"],
        )
        for row in data["rows"]
    ]
    total = {
        "key": None,
        "is_total": True,
        "label_zh": "合计（本单位）",
        "label_en": "Total (this unit)",
    }
    rows.append(flat(total, data["total"], data.get("total_targets", {})))
    notes = [
        "人次、场次、份数、块数、面积各行相加等于合计；人数、技术项数、品种项数按行各自去重，"
        "相加会大于合计。合计一行的目标是本单位自己的目标，判断与目标进度页相同。"
        " / Person-times, sessions, copies, plots and area add up to the total;"
        " trainees, technologies and varieties are distinct per row and do not. The total's"
        " targets are the unit's own, judged as on the progress page.",
    ]
    return Table(
        f"breakdown-{by}",
        f"按{zh_by}分组",
        f"By {en_by}",
        columns,
        rows,
        unit_name=unit_name,
        year=data["year"],
        as_of=data["as_of"],
        notes=notes,
        file_columns=(
            (
                Column("township", "所属乡镇", "Township"),
                Column("unit_code", "区划代码", "Division code", CODE),
            )
            if by in ("township", "village")
            else ()
        ),
    )


STATUS_ZH = {code: words.zh for code, words in TARGET_STATUSES.items()}


@bp.get("/breakdowns")
@requires(*BUREAU)
def table() -> Any:
    scope = page_scope()
    by = forms.load(BreakdownArgs(), {"by": request.args.get("by", "")})["by"]
    db = get_db()
    data = breakdown(
        db,
        scope.year,
        by,
        scope.unit,
        envoy_id=scope.envoy,
        sort=request.args.get("sort") or None,
    )
    unit_name = data["unit"]["name"] if data.get("unit") else ""
    unit_code = data["unit"]["code"] if data.get("unit") else None
    built = breakdown_table(data, scope, unit_name)
    return table_page(
        "breakdowns.html",
        {built.name: built},
        data=data,
        scope=scope,
        by=by,
        by_words={name: BY_WORDS[name] for name in offered(unit_code)},
        units=listings.unit_choices(db, unit_code, scope.area),
    )
