"""Figures that confused a new user (issue 19.11), in headless Chromium against the real server:
headcounts apart from TV audiences, distinct counts explained on the drill-down, birth years
without separators (page and XLSX), village rows that stand alone in a CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import openpyxl
import pytest
import requests

from server.accounts import users
from server.store.db import init_db
from shared import protocol as p
from shared.ids import new_id
from tests.browser import screenshot
from tests.helpers import TECH_MAIZE, TECH_POTATO, VILLAGE_EAST, LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy

STAFF, ADMIN, PASSWORD = "审核员", "管理员", "bureau-password"


@pytest.fixture(scope="module")
def bureau(module_db_path: str) -> Iterator[LiveServer]:
    """Two trainings (46 people typed in all; three technologies between them), a TV lecture
    with an audience of 3,500, a farmer born in 1975 checked in, three plots of one variety."""
    db_path = module_db_path
    load_demo_reference(db_path)
    db = init_db(db_path)
    zhang = Envoy(db, "张三")
    first = zhang.session(technology_ids=[TECH_POTATO, TECH_MAIZE], reported_headcount=26)
    zhang.session(technology_ids=[TECH_POTATO], reported_headcount=20)
    zhang.session(kind="tv_lecture", reported_headcount=3500)
    farmer = new_id()
    zhang.push(p.FARMER, {"name": "赵大", "village_code": VILLAGE_EAST, "birth_year": 1975}, farmer)
    zhang.checkin(first, farmer)
    for area in (5, 6, 7):
        zhang.plot(area_mu=area)
    users.add_user(db, STAFF, users.STAFF, PASSWORD)
    users.add_user(db, ADMIN, users.ADMIN, PASSWORD)
    db.close()
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def signed_in(page: object, server: LiveServer, path: str, name: str = STAFF) -> None:
    page.goto(server.url + path)  # type: ignore[attr-defined]
    page.fill("input[name=name]", name)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]


def session_of(page: object) -> requests.Session:
    """The browser's sign-in, for downloading a file as the page's link would."""
    http = requests.Session()
    for cookie in page.context.cookies():  # type: ignore[attr-defined]
        http.cookies.set(cookie["name"], cookie["value"])
    return http


def test_headcounts_apart_from_tv_audiences_and_distinct_counts_explained(
    desk_page: object, bureau: LiveServer
) -> None:
    page = desk_page
    signed_in(page, bureau, "/progress?year=2026")
    page.wait_for_selector("#table-progress")  # type: ignore[attr-defined]
    page.click("#table-progress a[href*='figure=technologies_promoted']")  # type: ignore[attr-defined]
    page.wait_for_selector("#distinct-note")  # type: ignore[attr-defined]
    note = page.inner_text("#distinct-note")  # type: ignore[attr-defined]
    assert "按不同的技术计数" in note and "3 场培训共推广 2 项不同技术" in note
    counts = page.inner_text("#record-count")  # type: ignore[attr-defined]
    # The trainings' 46 people, the TV audience beside them and never added in.
    assert page.get_attribute("#record-sum-reported_headcount", "data-value") == "46"  # type: ignore[attr-defined]
    assert "3,546" not in counts and "3,500" in counts and "电视观众" in counts
    screenshot(page, "records-sessions-distinct-note")

    page.goto(bureau.url + "/progress?year=2026")  # type: ignore[attr-defined]
    page.click("#table-progress a[href*='figure=varieties_introduced']")  # type: ignore[attr-defined]
    page.wait_for_selector("#distinct-note")  # type: ignore[attr-defined]
    assert "3 块示范田共有 1 个不同品种" in page.inner_text("#distinct-note")  # type: ignore[attr-defined]


def test_birth_years_have_no_thousands_separator_on_the_page_or_in_excel(
    desk_page: object, bureau: LiveServer
) -> None:
    page = desk_page
    signed_in(page, bureau, "/records/checkins?year=2026")
    page.wait_for_selector("#table-checkins")  # type: ignore[attr-defined]
    row = page.inner_text("#table-checkins tbody tr")  # type: ignore[attr-defined]
    assert "1975" in row and "1,975" not in row
    href = page.get_attribute("#table-checkins a.export-xlsx", "href")  # type: ignore[attr-defined]
    got = session_of(page).get(bureau.url + href, timeout=10)
    assert got.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(got.content)).worksheets[0]
    header = [cell.value for cell in sheet[2]]
    born = sheet.cell(row=3, column=header.index("出生年") + 1)
    assert born.value == 1975 and "," not in born.number_format


def test_village_rows_in_files_carry_their_township_and_code_as_text(
    desk_page: object, bureau: LiveServer
) -> None:
    page = desk_page
    signed_in(page, bureau, "/breakdowns?year=2026&by=village")
    page.wait_for_selector("#table-breakdown-village")  # type: ignore[attr-defined]
    href = page.get_attribute("#table-breakdown-village a.export-csv", "href")  # type: ignore[attr-defined]
    got = session_of(page).get(bureau.url + href, timeout=10)
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    header = rows[1]
    assert header[:3] == ["村", "所属乡镇", "区划代码"]
    east = next(row for row in rows[2:] if row[2] == VILLAGE_EAST)
    assert east[1] == "城关镇"
    href = page.get_attribute("#table-breakdown-village a.export-xlsx", "href")  # type: ignore[attr-defined]
    got = session_of(page).get(bureau.url + href, timeout=10)
    sheet = openpyxl.load_workbook(io.BytesIO(got.content)).worksheets[0]
    codes = [sheet.cell(row=r, column=3) for r in range(3, sheet.max_row + 1)]
    village = next(cell for cell in codes if cell.value == VILLAGE_EAST)
    assert village.data_type == "s"


def test_a_growth_target_without_last_year_and_a_refused_target_say_why(
    desk_page: object, bureau: LiveServer
) -> None:
    """Issue 19.9 on the pages: 同比增长 10% for a township with no 2025 records reads
    无上年数据, never 已达标; a bad value names the field and the reason."""
    page = desk_page
    signed_in(page, bureau, "/targets/?year=2026", ADMIN)
    form = "#set-target"
    page.select_option(f"{form} select[name=unit_code]", "530102001000")  # type: ignore[attr-defined]
    page.select_option(f"{form} select[name=indicator]", "village_trainings")  # type: ignore[attr-defined]
    page.fill(f"{form} input[name=value]", "很多")  # type: ignore[attr-defined]
    page.click(f"{form} button[type=submit]")  # type: ignore[attr-defined]
    alert = page.inner_text("[role=alert]")  # type: ignore[attr-defined]
    assert "目标值：" in alert and "数字" in alert
    page.goto(bureau.url + "/targets/?year=2026")  # type: ignore[attr-defined]
    page.select_option(f"{form} select[name=unit_code]", "530102001000")  # type: ignore[attr-defined]
    page.select_option(f"{form} select[name=indicator]", "village_trainings")  # type: ignore[attr-defined]
    page.fill(f"{form} input[name=value]", "同比增长 10%")  # type: ignore[attr-defined]
    page.click(f"{form} button[type=submit]")  # type: ignore[attr-defined]
    page.goto(bureau.url + "/progress?year=2026&unit=530102001")  # type: ignore[attr-defined]
    row = page.locator("#table-progress tbody tr", has_text="进村培训次数").inner_text()  # type: ignore[attr-defined]
    assert "无上年数据" in row and "已达标" not in row
    screenshot(page, "progress-growth-without-last-year")
