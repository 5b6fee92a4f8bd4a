"""The progress page: each indicator of a year and unit (or an envoy) against its target, charted."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from marshmallow import Schema, fields, validate

from server.accounts.access import ANYONE, requires
from server.api.scope import ViewScope, page_scope
from server.files.page_tables import BOOL, NUMBER, TEXT, Column, Table
from server.plan.progress import progress
from server.reference import lists as listings
from server.store.db import get_db
from server.web import forms
from server.web.render import table_page
from shared.choices import COMPARATORS, words

bp = Blueprint("progress", __name__)

# Where each indicator's figure drills down to: which records it counts.
DRILL = {
    "trainee_attendances": ("checkins", {}),
    "unique_trainees": ("checkins", {}),
    "leaflets_distributed": ("handouts", {}),
    "village_trainings": ("sessions", {"kind": "village_training"}),
    "large_trainings": ("sessions", {"kind": "large_training"}),
    "tv_lectures": ("sessions", {"kind": "tv_lecture"}),
    "technologies_promoted": ("sessions", {"figure": "technologies_promoted"}),
    "varieties_introduced": ("plots", {"figure": "varieties_introduced"}),
    "demo_plots": ("plots", {}),
    "demo_area_mu": ("plots", {}),
}


class QuestionedArgs(Schema):
    """?questioned=exclude: every figure of the page, its charts and exports without the
    records under question."""

    questioned = fields.String(
        load_default="include", validate=validate.OneOf(("include", "exclude"))
    )


def exclude_questioned() -> bool:
    asked = {k: v for k, v in request.args.items() if k == "questioned"}
    return bool(forms.load(QuestionedArgs(), asked)["questioned"] == "exclude")


def target_text(line: dict[str, Any]) -> str:
    if line.get("target") is None:
        if line.get("basis") == "growth":
            return f"同比增长 {line['growth_percent']:g}%（无上年数据，无法判断）"
        return ""
    text = f"{words(COMPARATORS, line['comparator']).zh} {line['target']:,.10g}"
    if line.get("basis") == "growth":
        text += f"（同比增长 {line['growth_percent']:g}%，去年 {line['last_year_actual']:,.10g}）"
    return text


def note_text(line: dict[str, Any]) -> str:
    """What sits beside a figure and is never added to it."""
    if "reported" in line:
        return (
            f"报数（填报人数，未计入）{line['reported']:,.10g}；"
            f"其中无签到名单的场次 {line.get('reported_without_names', 0):,.10g}"
        )
    if "received" in line:
        return f"领取 {line['received']:,.10g} 份"
    if "audience_estimate" in line:
        return f"观众估计 {line['audience_estimate']:,.10g}（不计入培训人次）"
    return ""


EXCLUDED_ZH = "已剔除存疑记录"
EXCLUDED_EN = "records under question left out"


def questioned_text(line: dict[str, Any], english: bool = False) -> str:
    """How much of the figure is under question: "12 人次（3%）"; empty when none is."""
    amount = line.get("questioned")
    if not amount:
        return ""
    percent = line.get("questioned_percent")
    share = f"{percent:g}%" if percent is not None else "—"
    if english:
        return f"{amount:,.10g} ({share})"
    return f"{amount:,.10g} {line.get('unit_zh', '')}（{share}）"


def progress_table(report: dict[str, Any], scope: ViewScope) -> Table:
    def drill(row: dict[str, Any]) -> str:
        kind, extra = DRILL[row["key"]]
        return url_for("records.listing", what=kind, **scope.query(**extra))

    excluded = bool(report.get("exclude_questioned"))
    questioned = (
        ()
        if excluded
        else (
            Column("questioned_zh", "其中存疑", "Of which under question", en_key="questioned_en"),
        )
    )
    columns = (
        Column("label_zh", "指标", "Indicator", TEXT, en_key="label_en"),
        Column("target_text", "目标", "Target"),
        Column("actual", "完成（核实）", "Actual (verified)", NUMBER, link=drill),
        *questioned,
        Column("reported", "报数（填报，未计入）", "Reported (typed, not added)", NUMBER),
        Column("percent", "完成率 %", "Percent", NUMBER),
        Column("met", "是否达标", "Met", BOOL),
        Column("status_zh", "状态", "Status", en_key="status_en"),
        Column("expected_by_now", "按进度应完成", "Expected by now", NUMBER),
        Column("projected_year_end", "预计全年", "Projected year end", NUMBER),
        Column("note", "说明", "Notes"),
    )
    rows = [
        {
            **line,
            "target_text": target_text(line),
            "note": note_text(line),
            "questioned_zh": questioned_text(line),
            "questioned_en": questioned_text(line, english=True),
        }
        for line in report["indicators"]
    ]
    if excluded:
        first_note = (
            f"{EXCLUDED_ZH}：本表、图表和导出的每个数字都不含审核为有问题、退回或已更正待复核的"
            f"记录（及存疑场次的签到）。 / Every figure here, in the charts and in the exports, "
            f"has the {EXCLUDED_EN} (questioned, returned or corrected awaiting review, and the "
            "check-ins of questioned sessions)."
        )
    else:
        first_note = (
            "其中存疑：完成数中来自审核为有问题、退回或已更正待复核记录的部分（存疑场次的签到"
            "也算在内），即剔除这些记录后完成数会少多少。 / Of which under question: how much of"
            " the actual comes from records reviewed as questioned, returned or corrected awaiting"
            " review (a questioned session's check-ins included): what it loses without them."
        )
    return Table(
        "progress",
        f"目标进度（{EXCLUDED_ZH}）" if excluded else "目标进度",
        f"Progress against targets ({EXCLUDED_EN})" if excluded else "Progress against targets",
        columns,
        rows,
        unit_name=report["unit"]["name"],
        year=report["year"],
        as_of=report["as_of"],
        notes=[
            first_note,
            "完成（核实）只计实名签到；报数为特派员填报的人数，与核实数并列显示，从不相加。"
            " / Verified counts named check-ins only; reported headcounts are shown beside them,"
            " never added.",
            "预计全年：今天以前按实际进度，其余按计划与实际进度的加权（年初以计划为主，"
            "完成预期四分之一后完全按实际进度）。 / Projection: the rest of the year at a blend"
            " of plan and pace, following the pace alone from a quarter of the expected work on.",
        ],
    )


def chart_data(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per indicator: cumulative actual by month, the target line and the pace line."""
    charts = []
    for line in report["indicators"]:
        charts.append(
            {
                "key": line["key"],
                "label_zh": line["label_zh"],
                "label_en": line["label_en"],
                "unit_zh": line.get("unit_zh", ""),
                "monthly": line.get("monthly") or [],
                "target": line.get("target"),
                "pace": line.get("pace_line"),
            }
        )
    return charts


@bp.get("/progress")
@requires(*ANYONE)
def overview() -> Any:
    scope = page_scope()
    db = get_db()
    excluded = exclude_questioned()
    report = progress(db, scope.year, scope.unit, envoy_id=scope.envoy, exclude_questioned=excluded)
    return table_page(
        "progress.html",
        {"progress": progress_table(report, scope)},
        report=report,
        scope=scope,
        charts=chart_data(report),
        units=listings.unit_choices(db, report["unit"].get("code"), scope.area),
    )
