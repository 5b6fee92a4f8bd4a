"""Progress with records under question: how much of each figure they make, and the figures
without them (every figure, chart and export of that view, with a banner saying so)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlite_utils import Database

from server.accounts import users
from server.plan.breakdowns import breakdown
from server.plan.progress import progress
from server.store.db import init_db
from shared import protocol as p
from shared.ids import attendance_id, new_id
from shared.review_status import APPROVED, CORRECTED, QUESTIONED, RETURNED
from tests.helpers import TECH_MAIZE, TECH_POTATO, VILLAGE_WEST, sign_in
from tests.server.fieldwork import MID_2026, Envoy

PASSWORD = "questioned-password"


def review(db: Database, kind: str, record_id: str, status: str) -> None:
    """A present review, as the reviews table holds it (one row per record)."""
    db["reviews"].insert(
        {
            "id": new_id(),
            "record_kind": kind,
            "record_id": record_id,
            "envoy_id": None,
            "status": status,
            "note": "核实中",
            "reviewed_by": "staff",
            "reviewed_at": "2026-05-20T02:00:00Z",
            "server_seq": 0,
        }
    )
    db.conn.commit()


@pytest.fixture
def work(app: Flask, db_path: str) -> Iterator[dict[str, Any]]:
    """张三: a sound session (3 farmers) and a questioned one (2 farmers, one of them also at
    the first), 100 copies handed out and 40 returned, a 20 mu plot and a 5 mu corrected one;
    one of the sound session's check-ins questioned on its own; an approved plot counts."""
    db = init_db(db_path)
    zhang = Envoy(db, "张三")
    farmers = [zhang.farmer(name) for name in ("赵大", "钱二", "孙三", "李四")]
    sound = zhang.session(technology_ids=[TECH_POTATO])
    doubtful = zhang.session(technology_ids=[TECH_MAIZE], starts_at="2026-03-10T02:00:00Z")
    for farmer in farmers[:3]:
        zhang.checkin(sound, farmer)
    zhang.checkin(doubtful, farmers[0])
    zhang.checkin(doubtful, farmers[3])
    kept_handout = zhang.handout(100)
    returned_handout = zhang.handout(40)
    zhang.plot(area_mu=20)
    corrected_plot = zhang.plot(area_mu=5)
    approved_plot = zhang.plot(area_mu=7.5, village_code=VILLAGE_WEST, variety_id=None)
    li = Envoy(db, "李梅")
    li.session(unit_code=VILLAGE_WEST)
    before = progress(db, 2026, now=MID_2026)
    review(db, p.SESSION, doubtful, QUESTIONED)
    review(db, p.ATTENDANCE, attendance_id(sound, farmers[1]), QUESTIONED)
    review(db, p.LEAFLET_HANDOUT, returned_handout, RETURNED)
    review(db, p.PLOT, corrected_plot, CORRECTED)
    review(db, p.PLOT, approved_plot, APPROVED)
    review(db, p.LEAFLET_HANDOUT, kept_handout, APPROVED)
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    yield {"db": db, "before": before, "doubtful": doubtful}
    db.close()


def lines(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["key"]: line for line in report["indicators"]}


def test_share_under_question_beside_each_indicator(work: dict[str, Any]) -> None:
    found = lines(progress(work["db"], 2026, now=MID_2026))
    expected = {
        # The questioned session's 2 check-ins and the questioned check-in at the sound one.
        "trainee_attendances": (5, 3, 60.0),
        # 钱二 and 李四 were trained only in check-ins under question; 赵大 also soundly.
        "unique_trainees": (4, 2, 50.0),
        "village_trainings": (3, 1, 33.3),
        "leaflets_distributed": (140, 40, 28.6),
        "technologies_promoted": (2, 1, 50.0),  # maize was taught only at the questioned one
        "demo_plots": (3, 1, 33.3),
        "demo_area_mu": (32.5, 5, 15.4),
        "varieties_introduced": (1, 0, 0.0),  # the corrected plot's variety is on a sound one
        "large_trainings": (0, 0, None),
    }
    for key, (actual, questioned, percent) in expected.items():
        line = found[key]
        assert (line["actual"], line["questioned"], line["questioned_percent"]) == (
            actual,
            questioned,
            percent,
        ), key
    assert found["trainee_attendances"]["questioned_reported"] == 0


def test_figures_with_questioned_records_left_out(work: dict[str, Any]) -> None:
    report = progress(work["db"], 2026, now=MID_2026, exclude_questioned=True)
    assert report["exclude_questioned"] is True
    found = lines(report)
    actuals = {key: line["actual"] for key, line in found.items()}
    assert actuals == {
        "trainee_attendances": 2,
        "unique_trainees": 2,
        "leaflets_distributed": 100,
        "village_trainings": 2,
        "large_trainings": 0,
        "tv_lectures": 0,
        "technologies_promoted": 1,
        "varieties_introduced": 1,
        "demo_plots": 2,
        "demo_area_mu": 27.5,
    }
    assert all(line["questioned"] is None for line in found.values())
    # The charts are computed the same way: each month's cumulative figure ends at the actual.
    for key, line in found.items():
        months = [value for value in line["monthly"] if value is not None]
        assert months[-1] == line["actual"], key
    # The questioned session (March) adds nothing in March any more.
    assert found["trainee_attendances"]["monthly"][2] == 0
    by_township = breakdown(work["db"], 2026, "township", exclude_questioned=True, now=MID_2026)
    assert by_township["exclude_questioned"] is True
    assert sum(row["values"]["trainee_attendances"] for row in by_township["rows"]) == 2
    assert sum(row["values"]["demo_area_mu"] for row in by_township["rows"]) == 27.5


def test_normal_view_unchanged_by_reviews(work: dict[str, Any]) -> None:
    after = progress(work["db"], 2026, now=MID_2026)
    for key, line in lines(work["before"]).items():
        now_line = lines(after)[key]
        for field in ("actual", "monthly", "status", "projected_year_end", "percent"):
            assert now_line[field] == line[field], (key, field)
    assert after["exclude_questioned"] is False
    # With no review under question, nothing is under question.
    assert all(line["questioned"] == 0 for line in work["before"]["indicators"])


def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, "staff", PASSWORD).status_code == 302
    return client


def chart_data(page: str) -> list[dict[str, Any]]:
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page)
    assert found
    return list(json.loads(found.group(1)))


def test_page_shows_the_share_and_switches_with_a_banner(app: Flask, work: dict[str, Any]) -> None:
    client = staff(app)
    page = client.get("/progress?year=2026").get_data(as_text=True)
    assert "其中存疑" in page
    assert "3 人次（60%）" in page
    assert "40 份（28.6%）" in page
    assert 'id="questioned-banner"' not in page
    assert "questioned=exclude" in page  # the switch
    charts = {chart["key"]: chart for chart in chart_data(page)}

    excluded = client.get("/progress?year=2026&questioned=exclude").get_data(as_text=True)
    assert 'id="questioned-banner"' in excluded
    assert re.search(r"<h1>[^<]*已剔除存疑记录", excluded)
    assert "其中存疑" not in excluded
    excluded_charts = {chart["key"]: chart for chart in chart_data(excluded)}
    assert charts["trainee_attendances"]["monthly"][2] == 2
    assert excluded_charts["trainee_attendances"]["monthly"][2] == 0
    # The export links keep the switch, so the files are computed the same way.
    assert re.search(r'class="export-csv" href="[^"]*questioned=exclude', excluded)

    response = client.get("/progress?year=2026&questioned=exclude&table=progress&format=csv")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert "已剔除存疑记录" in rows[0][0]
    assert "已剔除存疑记录" in unquote(response.headers["Content-Disposition"])
    header = rows[1]
    assert "其中存疑" not in header
    actual = header.index("完成（核实）")
    by_key = {row[header.index("指标")]: row for row in rows[2:] if len(row) == len(header)}
    assert by_key["培训人次"][actual] == "2"
    assert by_key["示范面积（亩）"][actual] == "27.5"

    book = openpyxl.load_workbook(
        io.BytesIO(
            client.get("/progress?year=2026&questioned=exclude&table=progress&format=xlsx").data
        )
    )
    sheet = book.active
    assert sheet is not None
    assert "已剔除存疑记录" in str(sheet.cell(1, 1).value)

    normal = client.get("/progress?year=2026&table=progress&format=csv")
    normal_rows = list(csv.reader(io.StringIO(normal.get_data().decode("utf-8-sig"))))
    assert "已剔除存疑记录" not in normal_rows[0][0]
    assert "其中存疑" in normal_rows[1]


def test_english_page(app: Flask, work: dict[str, Any]) -> None:
    client = staff(app)
    client.get("/lang/en")
    page = client.get("/progress?year=2026").get_data(as_text=True)
    assert "Of which under question" in page
    assert "3 (60%)" in page
    assert "Show the figures without records under question" in page
    excluded = client.get("/progress?year=2026&questioned=exclude").get_data(as_text=True)
    assert "Records under question left out" in excluded
    assert "Every figure, chart and export on this page leaves out" in excluded


def test_bad_switch_is_refused_by_name(app: Flask, work: dict[str, Any]) -> None:
    client = staff(app)
    response = client.get("/progress?year=2026&questioned=maybe")
    assert response.status_code in (400, 422)
    assert "questioned" in response.get_data(as_text=True)


def test_report_api_carries_the_switch(app: Flask, work: dict[str, Any]) -> None:
    client = staff(app)
    normal = client.get("/api/v1/reports/2026").get_json()
    excluded = client.get("/api/v1/reports/2026?questioned=exclude").get_json()
    assert normal["exclude_questioned"] is False and excluded["exclude_questioned"] is True
    assert lines(normal)["trainee_attendances"]["questioned"] == 3
    assert lines(excluded)["trainee_attendances"]["actual"] == 2
    bad = client.get("/api/v1/reports/2026?questioned=maybe")
    assert bad.status_code == 422
    assert "questioned" in bad.get_json()["errors"]["query"]
