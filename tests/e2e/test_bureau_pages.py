"""The bureau's pages in headless Chromium against the real server process, on crafted field work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from server.accounts import users
from server.store.db import init_db
from tests.browser import ARTIFACTS, screenshot
from tests.helpers import VILLAGE_WEST, LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy

ADMIN, PASSWORD = "科长", "bureau-password"


@pytest.fixture(scope="module")
def bureau(module_db_path: str) -> Iterator[LiveServer]:
    db_path = module_db_path
    load_demo_reference(db_path)
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    for month in ("03", "05", "07"):
        session = zhang.session(starts_at=f"2026-{month}-10T02:00:00Z", reported_headcount=30)
        for name in ("赵大", "钱二", "孙三"):
            zhang.checkin(
                session, zhang.farmer(name, mobile="13912345678" if name == "赵大" else None)
            )
        zhang.handout(40, session_id=session)
    west = li.session(unit_code=VILLAGE_WEST, starts_at="2026-04-02T02:00:00Z")
    for name in ("周四", "吴五"):
        li.checkin(west, li.farmer(name, village_code=VILLAGE_WEST))
    users.add_user(db, ADMIN, users.ADMIN, PASSWORD)
    db.close()
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def sign_in(page: object, server: LiveServer, path: str = "/") -> None:
    page.goto(server.url + path)  # type: ignore[attr-defined]
    page.fill("input[name=name]", ADMIN)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]


def test_sign_in_from_the_root_address(desk_page: object, bureau: LiveServer) -> None:
    page = desk_page
    page.goto(bureau.url + "/")  # type: ignore[attr-defined]
    assert "/signin" in page.url  # type: ignore[attr-defined]
    page.fill("input[name=name]", ADMIN)  # type: ignore[attr-defined]
    page.fill("input[name=password]", "wrong-password")  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]
    assert "用户名或密码不正确" in page.inner_text("#signin-error")  # type: ignore[attr-defined]
    screenshot(page, "bureau-signin-refused")
    sign_in(page, bureau)
    page.wait_for_url("**/progress")  # type: ignore[attr-defined]
    assert "目标进度" in page.inner_text("h1")  # type: ignore[attr-defined]
    assert Path(screenshot(page, "bureau-signed-in")).stat().st_size > 5000


def painted_pixels(page: object, selector: str) -> int:
    """How many pixels of the chart's canvas are painted (not transparent)."""
    return page.evaluate(  # type: ignore[attr-defined,no-any-return]
        """(selector) => {
            const canvas = document.querySelector(selector + ' canvas');
            if (!canvas) return -1;
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
            return painted;
        }""",
        selector,
    )


def test_progress_page_draws_a_chart_per_indicator(desk_page: object, bureau: LiveServer) -> None:
    page = desk_page
    sign_in(page, bureau, "/progress?year=2026")
    page.wait_for_selector("#chart-trainee_attendances canvas")  # type: ignore[attr-defined]
    assert page.locator(".chart canvas").count() == 10  # type: ignore[attr-defined]
    assert painted_pixels(page, "#chart-trainee_attendances") > 2000
    # The same numbers as a table: 3 person-times in March, 2 in April, 3 each in May and July.
    table = page.locator("#chart-table-trainee_attendances tbody tr")  # type: ignore[attr-defined]
    cells = [table.nth(month).locator("td").first.text_content() for month in (2, 4, 6)]
    assert cells == ["3", "8", "11"]
    assert not page.locator("script[src^='http']").count()  # type: ignore[attr-defined]
    screenshot(page, "bureau-progress-chart")


def test_a_figure_drills_down_to_its_check_ins(desk_page: object, bureau: LiveServer) -> None:
    page = desk_page
    sign_in(page, bureau, "/progress?year=2026")
    row = page.locator("#table-progress tbody tr", has_text="培训人次")  # type: ignore[attr-defined]
    row.locator("a[href*='/records/checkins']").click()
    page.wait_for_selector("#record-count")  # type: ignore[attr-defined]
    assert "共 11 条" in page.inner_text("#record-count")  # type: ignore[attr-defined]
    body = page.inner_text("#table-checkins")  # type: ignore[attr-defined]
    # An admin sees mobiles in full; staff see them masked (tests/server/web/test_web_pages.py).
    assert "赵大" in body and "13912345678" in body
    screenshot(page, "bureau-drilldown-checkins")
    page.locator("#table-checkins a[href*='/records/session/']").first.click()  # type: ignore[attr-defined]
    assert "马铃薯晚疫病防治培训" in page.inner_text("h1")  # type: ignore[attr-defined]
    screenshot(page, "bureau-drilldown-session")


def test_a_breakdown_by_village_sorts_and_exports_xlsx(
    desk_page: object, bureau: LiveServer, tmp_path: Path
) -> None:
    page = desk_page
    sign_in(page, bureau, "/breakdowns?year=2026&by=village")
    table = page.locator("table.sortable").first  # type: ignore[attr-defined]
    first_cells = table.locator("tbody tr td:first-child")
    assert "东村" in first_cells.all_text_contents()
    table.locator("th", has_text="培训人次").locator("button").click()
    table.locator("th", has_text="培训人次").locator("button").click()
    assert table.locator("th", has_text="培训人次").get_attribute("aria-sort") == "descending"
    assert first_cells.first.text_content().strip() in ("东村", "合计（本单位）")
    screenshot(page, "bureau-breakdown-village")
    with page.expect_download() as info:  # type: ignore[attr-defined]
        page.locator("a.export-xlsx").first.click()  # type: ignore[attr-defined]
    download = info.value
    assert download.suggested_filename.endswith(".xlsx") and "2026" in download.suggested_filename
    saved = tmp_path / "breakdown.xlsx"
    download.save_as(str(saved))
    sheet = openpyxl.load_workbook(saved).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[1].index("培训人次")
    figures = {row[0]: row[column] for row in rows[2:]}
    assert figures["东村"] == 9 and figures["西村"] == 2
    (ARTIFACTS / "bureau-breakdown-village.xlsx").write_bytes(saved.read_bytes())


def test_year_end_summary_prints_on_a4(desk_page: object, bureau: LiveServer) -> None:
    page = desk_page
    sign_in(page, bureau, "/summary?year=2026")
    assert "年度总结" in page.inner_text("h1")  # type: ignore[attr-defined]
    page.emulate_media(media="print")  # type: ignore[attr-defined]
    assert page.locator("header.top").is_hidden()  # type: ignore[attr-defined]
    assert page.locator(".exports").first.is_hidden()  # type: ignore[attr-defined]
    assert page.locator("#table-leaflets").is_visible()  # type: ignore[attr-defined]
    header = page.locator("#table-leaflets th").first  # type: ignore[attr-defined]
    assert header.inner_text().strip() == "资料名称"
    screenshot(page, "bureau-year-end-print")
    pdf = page.pdf(format="A4", print_background=True)  # type: ignore[attr-defined]
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 1
    (ARTIFACTS / "bureau-year-end.pdf").write_bytes(pdf)
