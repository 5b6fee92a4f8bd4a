"""The year-end summary page (年度总结), made to print on A4."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from server.accounts.access import BUREAU, requires
from server.api.scope import page_scope
from server.figures import summary
from server.files.page_tables import NUMBER, Column, Table
from server.plan.progress import progress
from server.store.db import get_db
from server.web.progress import progress_table
from server.web.render import table_page
from shared.choices import SESSION_KINDS, words

bp = Blueprint("summary", __name__)


@bp.get("/summary")
@requires(*BUREAU)
def year_end() -> Any:
    scope = page_scope()
    db = get_db()
    report = progress(db, scope.year, scope.unit, envoy_id=scope.envoy, monthly=False)
    where = scope.figures()
    name, year, as_of = report["unit"]["name"], report["year"], report["as_of"]
    kinds = summary.sessions_by_kind(db, where)
    for row in kinds:
        row["kind_zh"], row["kind_en"] = words(SESSION_KINDS, row["kind"])
    tables = {
        "progress": progress_table(report, scope),
        "leaflets": Table(
            "leaflets",
            "资料发放（按资料名称）",
            "Leaflets by title",
            (
                Column("title", "资料名称", "Title"),
                Column("copies", "发放份数", "Copies handed out", NUMBER),
                Column("handouts", "发放次数", "Hand-outs", NUMBER),
            ),
            summary.leaflets_by_title(db, where),
            unit_name=name,
            year=year,
            as_of=as_of,
        ),
        "sessions": Table(
            "sessions",
            "活动与展板（按类型）",
            "Sessions and display boards by kind",
            (
                Column("kind_zh", "类型", "Kind", en_key="kind_en"),
                Column("sessions", "场次", "Sessions", NUMBER),
                Column("checkins", "实名签到人次", "Named check-ins", NUMBER),
                Column(
                    "reported",
                    "填报人数／观众估计（未计入）",
                    "Reported or audience estimate (not added)",
                    NUMBER,
                ),
                Column("display_boards", "展板（块）", "Display boards", NUMBER),
            ),
            kinds,
            unit_name=name,
            year=year,
            as_of=as_of,
        ),
        "plots": Table(
            "plots",
            "示范田测产",
            "Demonstration plots: yield against target",
            (
                Column("village", "村", "Village"),
                Column("host_name", "承担户", "Host"),
                Column("crop", "作物", "Crop"),
                Column("variety", "品种", "Variety"),
                Column("area_mu", "面积（亩）", "Area (mu)", NUMBER),
                Column("target_yield_kg_per_mu", "目标亩产", "Target yield", NUMBER),
                Column("yield_kg_per_mu", "实测亩产", "Measured yield", NUMBER),
                Column("yield_percent", "达目标 %", "% of target", NUMBER),
            ),
            summary.plot_yields(db, where),
            unit_name=name,
            year=year,
            as_of=as_of,
        ),
    }
    return table_page(
        "summary.html",
        tables,
        report=report,
        scope=scope,
        large_photos=summary.large_training_photos(db, where),
    )
