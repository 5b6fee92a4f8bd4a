"""The bureau's widest pages on the demo county in headless Chromium, at a bureau PC's 1366 px and
a phone's 360 px: no sideways scrolling, menus that open (by keyboard too) and lead to the pages a
role may open, the breakdown's total carrying the county's targets, the summary on A4 paper."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import pg
from tests.browser import screenshot
from tests.e2e.conftest import demo_server

ROOT = Path(__file__).resolve().parents[2]
# A4 portrait less print.css's 12 mm side margins: 186 mm at 96 CSS px an inch.
A4_CONTENT_PX = round(186 / 25.4 * 96)
WIDE_PAGES = (
    "/breakdowns?year=2026&by=township",
    "/breakdowns?year=2026&by=village",
    "/performance?year=2026",
    "/progress?year=2026",
)
MENUS = {"进度", "记录", "核查", "管理"}


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, pg_cluster: pg.Cluster | None
) -> Iterator[dict[str, Any]]:
    """scripts/demo's county (15 townships, 198 villages, 8 envoys, the county's targets) served
    by the real server."""
    folder = tmp_path_factory.mktemp("layout") / "demo"
    subprocess.run(
        [sys.executable, "scripts/demo_county.py", "build", "--dir", str(folder), "--quiet"],
        cwd=ROOT,
        check=True,
        timeout=180,
    )
    summary = json.loads((folder / "demo.json").read_text())
    passwords = {user["name"]: user["password"] for user in summary["users"]}
    server = demo_server(str(folder / summary["server_db"]), pg_cluster).start()
    yield {"server": server, "passwords": passwords, "year": summary["year"]}
    server.stop()


def sign_in(page: Any, demo: dict[str, Any], name: str = "admin", path: str = "/") -> None:
    page.goto(demo["server"].url + path)
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", demo["passwords"][name])
    page.click("#signin-submit")
    page.wait_for_selector("main")


def widths(page: Any) -> dict[str, Any]:
    return page.evaluate(  # type: ignore[no-any-return]
        """() => ({
            viewport: window.innerWidth,
            page: document.documentElement.scrollWidth,
            tables: [...document.querySelectorAll('table')]
                .filter(t => t.offsetParent !== null)
                .map(t => Math.ceil(t.getBoundingClientRect().right)),
            header: document.querySelector('header.top').getBoundingClientRect().height,
        })"""
    )


@pytest.mark.parametrize("window", ["desk_page", "phone_page"])
@pytest.mark.parametrize("path", WIDE_PAGES)
def test_wide_pages_fit_the_window(
    request: pytest.FixtureRequest, demo: dict[str, Any], window: str, path: str
) -> None:
    page = request.getfixturevalue(window)
    sign_in(page, demo, path=path.replace("2026", str(demo["year"])))
    page.wait_for_selector("table.figures")
    found = widths(page)
    assert found["page"] <= found["viewport"], (path, found)
    assert found["tables"] and max(found["tables"]) <= found["viewport"], (path, found)
    name = re.sub(r"\W+", "-", path.strip("/"))
    screenshot(page, f"layout-{window}-{name}")


@pytest.mark.parametrize("window", ["desk_page", "phone_page"])
@pytest.mark.parametrize("path", WIDE_PAGES[::2])
def test_wide_pages_fit_in_english_too(
    request: pytest.FixtureRequest, demo: dict[str, Any], window: str, path: str
) -> None:
    """English headers and menus are longer and break only between words."""
    page = request.getfixturevalue(window)
    sign_in(page, demo, path="/progress")
    page.goto(demo["server"].url + "/lang/en")
    page.goto(demo["server"].url + path.replace("2026", str(demo["year"])))
    found = widths(page)
    assert found["page"] <= found["viewport"], (path, found)
    assert max(found["tables"]) <= found["viewport"], (path, found)
    assert found["header"] <= (60 if found["viewport"] > 1000 else 100), found


@pytest.mark.parametrize("window", ["desk_page", "phone_page"])
def test_the_menus_are_one_short_band(
    request: pytest.FixtureRequest, demo: dict[str, Any], window: str
) -> None:
    page = request.getfixturevalue(window)
    sign_in(page, demo, path="/progress")
    found = widths(page)
    # One line at 1366 px (two once the 20 links wrapped); two short lines on a phone (256 px).
    assert found["header"] <= (60 if found["viewport"] > 1000 else 100), found
    assert {s.strip(" ▾") for s in page.locator("nav.menus summary").all_inner_texts()} == MENUS
    # Closed, a menu's links take no room; the page still fits with one open.
    assert page.locator("nav.menus a").first.is_hidden()
    page.locator("#menu-admin summary").click()
    assert page.locator("#menu-admin a", has_text="用户").is_visible()
    box = page.locator("#menu-admin ul").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= found["viewport"], box
    assert widths(page)["page"] <= found["viewport"]
    # Opening another menu closes the first (one <details> group, no script).
    page.locator("#menu-progress summary").click()
    assert page.locator("#menu-admin a").first.is_hidden()
    page.locator("#menu-progress a", has_text="分组").click()
    page.wait_for_url("**/breakdowns**")
    assert "按乡镇分组" in page.inner_text("h1")
    # The menu of the page shown is marked.
    assert page.locator("#menu-progress.current").count() == 1


def test_menus_work_from_the_keyboard(desk_page: Any, demo: dict[str, Any]) -> None:
    page = desk_page
    sign_in(page, demo, path="/progress")
    page.focus("#menu-checks summary")
    page.keyboard.press("Enter")
    link = page.locator("#menu-checks a", has_text="数据核对")
    assert link.is_visible()
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/reconciliation/**")


def menu_links(page: Any) -> dict[str, list[str]]:
    return page.evaluate(  # type: ignore[no-any-return]
        """() => Object.fromEntries([...document.querySelectorAll('nav.menus details')].map(d =>
            [d.querySelector('summary').innerText.replace('▾', '').trim(),
             [...d.querySelectorAll('a')].map(a => a.getAttribute('href'))]))"""
    )


@pytest.mark.parametrize("who", ["admin", "lijianhua"])
def test_every_menu_link_opens_for_whoever_sees_it(
    desk_page: Any, demo: dict[str, Any], who: str
) -> None:
    page = desk_page
    sign_in(page, demo, name=who, path="/progress")
    links = menu_links(page)
    if who == "admin":
        assert set(links) == MENUS
        assert sum(len(hrefs) for hrefs in links.values()) == 17
    else:
        # An envoy sees only what it may open: no administration, no bureau-only pages.
        assert set(links) == {"进度", "记录", "核查"}
        hrefs = [href for group in links.values() for href in group]
        assert not {"/breakdowns", "/summary", "/targets", "/audit"} & set(hrefs)
    for hrefs in links.values():
        for href in hrefs:
            response = page.goto(demo["server"].url + href)
            assert response.status == 200, (who, href)


def test_the_township_total_carries_the_countys_targets(
    desk_page: Any, demo: dict[str, Any]
) -> None:
    page = desk_page
    sign_in(page, demo, path=f"/breakdowns?year={demo['year']}&by=township")
    table = page.locator("#table-breakdown-township table")
    assert "上级单位" not in table.inner_text()
    total = table.locator("tfoot tr")
    assert total.locator("td").first.inner_text().strip() == "合计（本单位）"
    # 培训人次: the county's 3,000 beside the figure, judged as the progress page judges it.
    cell = total.locator("td[data-label='培训人次']")
    assert "/ 3,000" in cell.inner_text()
    status = cell.locator(".status").inner_text()
    page.goto(demo["server"].url + f"/progress?year={demo['year']}")
    line = page.locator("#table-progress tbody tr:has(td[data-value='培训人次'])")
    assert line.locator(".status").inner_text() in status
    # The county's own TV lecture is in no township: listed apart, without targets.
    page.go_back()
    above = page.locator("#table-breakdown-township tbody tr", has_text="不属任何乡镇")
    assert above.count() == 1 and above.locator(".status").count() == 0


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_year_end_summary_fits_a4_portrait(
    browser: Any, demo: dict[str, Any], tmp_path: Path, lang: str
) -> None:
    context = browser.new_context(
        viewport={"width": A4_CONTENT_PX, "height": 1000},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    page = context.new_page()
    try:
        sign_in(page, demo, path="/progress")
        if lang == "en":
            page.goto(demo["server"].url + "/lang/en")
        page.goto(demo["server"].url + f"/summary?year={demo['year']}")
        page.emulate_media(media="print")
        found = widths(page)
        assert found["page"] <= A4_CONTENT_PX, found
        assert max(found["tables"]) <= A4_CONTENT_PX, found
        # The notes column of the progress table reads as text, not a character a line.
        heading = "Notes" if lang == "en" else "说明"
        notes = page.locator("#table-progress thead th", has_text=heading)
        assert notes.inner_text().strip() == heading
        screenshot(page, f"layout-summary-print-{lang}")
        assert notes.bounding_box()["width"] >= 100
        printed = " ".join(page.locator("p.note").all_inner_texts())
        assert printed
        if lang == "en":
            assert not re.search(r"[\u4e00-\u9fff]", printed), printed
        else:
            assert not re.search(r"[A-Za-z]{3,}", printed), printed
        screenshot(page, f"layout-summary-print-{lang}")
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF")
        (tmp_path / "summary.pdf").write_bytes(pdf)
    finally:
        context.close()
