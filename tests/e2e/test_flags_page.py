"""The flags page in headless Chromium against the real server process, crafted data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.accounts import users
from server.store.db import init_db
from tests.browser import screenshot
from tests.helpers import LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy

STAFF, PASSWORD = "审核员", "bureau-password"


@pytest.fixture(scope="module")
def bureau(module_db_path: str) -> Iterator[tuple[LiveServer, str]]:
    db_path = module_db_path
    load_demo_reference(db_path)
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    for area in (8, 10, 12, 9, 11):
        zhang.plot(area_mu=area)
        li.plot(area_mu=area)
    typo = zhang.plot(area_mu=99999)  # `plot new --area 99999`
    li.session(starts_at="2026-05-10T02:00:00Z")  # nobody checked in, no headcount
    users.add_user(db, STAFF, users.STAFF, PASSWORD)
    db.close()
    server = LiveServer(db_path).start()
    yield server, typo
    server.stop()


def test_staff_find_the_typo_and_filter_by_kind(
    desk_page: object, bureau: tuple[LiveServer, str]
) -> None:
    server, typo = bureau
    page = desk_page
    page.goto(server.url + "/flags?year=2026")  # type: ignore[attr-defined]
    page.fill("input[name=name]", STAFF)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]
    page.wait_for_selector("#table-flags")  # type: ignore[attr-defined]
    rows = page.locator("#table-flags tbody tr")  # type: ignore[attr-defined]
    assert rows.count() == 2
    first = rows.first.inner_text()
    assert "面积异常" in first and "未审核" in first and "99,999" in first
    link = rows.first.locator("a.review-link").get_attribute("href")
    assert link == f"/review/plot/{typo}"
    # Nothing runs off the side at a desk's width.
    assert page.evaluate(  # type: ignore[attr-defined]
        "document.documentElement.scrollWidth <= window.innerWidth"
    )
    screenshot(page, "flags-page-1366")
    page.click("#by-kind a:has-text('无签到无人数')")  # type: ignore[attr-defined]
    page.wait_for_url("**kind=empty_session**")  # type: ignore[attr-defined]
    rows = page.locator("#table-flags tbody tr")  # type: ignore[attr-defined]
    assert rows.count() == 1 and "李梅" in rows.first.inner_text()
    screenshot(page, "flags-page-empty-sessions")
