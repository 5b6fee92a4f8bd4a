"""The whole server's breakdown by province (省) in headless Chromium against the real server
process: the tab offered across two provinces, a row per province linking to its progress, the
province's own page without the tab, the CSV and Excel files headed 省, the API's rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from server.accounts import users
from tests.browser import screenshot
from tests.e2e.test_figures_browser import session_of
from tests.helpers import LiveServer
from tests.server.summaries.test_levels import fieldwork, five_counties

PASSWORD = "provinces-browser-password"


@pytest.fixture
def nation(db_path: str, tmp_path: Path) -> Iterator[LiveServer]:
    """Five counties in two provinces (tests/server/summaries/test_levels.py), an admin."""
    db = five_counties(tmp_path, db_path)
    fieldwork(db)
    users.add_user(db, "admin", users.ADMIN, PASSWORD)
    db.conn.commit()
    db.close()
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def test_the_whole_server_by_province(desk_page: object, nation: LiveServer) -> None:
    page = desk_page
    page.goto(nation.url + "/breakdowns?year=2026")  # type: ignore[attr-defined]
    page.fill("input[name=name]", "admin")  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]
    page.click("nav.tabs a:text-is('省')")  # type: ignore[attr-defined]
    table = page.locator("#table-breakdown-province")  # type: ignore[attr-defined]
    table.wait_for()
    rows = table.locator("tbody tr")
    shown = [rows.nth(n).inner_text() for n in range(rows.count())]
    assert len(shown) == 2 and shown[0].startswith("云南省") and shown[1].startswith("远省")
    assert "合计" in table.inner_text()
    screenshot(page, "breakdown-by-province")
    href = page.get_attribute("#table-breakdown-province a.export-csv", "href")  # type: ignore[attr-defined]
    got = session_of(page).get(nation.url + href, timeout=10)
    lines = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert lines[1][0] == "省"
    assert [line[0] for line in lines[2:4]] == ["云南省", "远省"]
    href = page.get_attribute("#table-breakdown-province a.export-xlsx", "href")  # type: ignore[attr-defined]
    got = session_of(page).get(nation.url + href, timeout=10)
    sheet = openpyxl.load_workbook(io.BytesIO(got.content)).worksheets[0]
    assert sheet.cell(row=2, column=1).value == "省"
    # The API gives the same rows, and its description names the choice.
    api = session_of(page).get(
        f"{nation.url}/api/v1/reports/2026/breakdown?by=province", timeout=10
    )
    assert [row["label_zh"] for row in api.json()["rows"]] == ["云南省", "远省"]
    spec = session_of(page).get(f"{nation.url}/api/openapi.json", timeout=10).json()
    [by] = [
        parameter
        for parameter in spec["paths"]["/api/v1/reports/{year}/breakdown"]["get"]["parameters"]
        if parameter["name"] == "by"
    ]
    assert by["schema"]["enum"][:3] == ["province", "city", "county"]
    # A province's row opens that province's progress; its breakdowns offer no 省 tab.
    rows.nth(0).locator("a", has_text="云南省").click()
    page.wait_for_url("**/progress**unit=530000000000**")  # type: ignore[attr-defined]
    page.goto(nation.url + "/breakdowns?year=2026&by=county&unit=530000")  # type: ignore[attr-defined]
    tabs = page.locator("nav.tabs").inner_text()  # type: ignore[attr-defined]
    assert "县" in tabs and "省" not in tabs.replace("目标进度", "")
    assert "楚雄市" in page.inner_text("#table-breakdown-county")  # type: ignore[attr-defined]
