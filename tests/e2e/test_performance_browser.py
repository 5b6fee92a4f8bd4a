"""The envoy performance page in headless Chromium against the real server process: sorting by
a header on the server, then a figure followed to the records it counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.accounts import users
from server.figures.performance import COLUMNS
from server.store.db import init_db
from tests.browser import screenshot
from tests.helpers import VILLAGE_WEST, LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy

STAFF, PASSWORD = "考评员", "performance-password"


@pytest.fixture(scope="module")
def bureau(module_db_path: str) -> Iterator[LiveServer]:
    """张三: two sessions, five person-times, 40 copies; 李梅: three sessions, two person-times
    and a plot; 王五: nothing yet."""
    db_path = module_db_path
    load_demo_reference(db_path)
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    for month, names in (("03", ("赵大", "钱二", "孙三")), ("05", ("赵大", "钱二"))):
        session = zhang.session(starts_at=f"2026-{month}-10T02:00:00Z", reported_headcount=30)
        for name in names:
            zhang.checkin(session, zhang.farmer(name))
    zhang.handout(40)
    for day in ("02", "03", "04"):
        session = li.session(unit_code=VILLAGE_WEST, starts_at=f"2026-04-{day}T02:00:00Z")
        if day == "02":
            for name in ("周四", "吴五"):
                li.checkin(session, li.farmer(name, village_code=VILLAGE_WEST))
    li.plot(area_mu=12.5, village_code=VILLAGE_WEST)
    users.add_user(db, STAFF, users.STAFF, PASSWORD)
    db.close()
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def first_column(page: object) -> list[str]:
    cells = page.locator("#table-performance tbody tr td:first-child")  # type: ignore[attr-defined]
    return [text.strip() for text in cells.all_text_contents()]


def test_sort_by_a_header_then_follow_a_figure(desk_page: object, bureau: LiveServer) -> None:
    page = desk_page
    page.goto(bureau.url + "/performance?year=2026")  # type: ignore[attr-defined]
    page.fill("input[name=name]", STAFF)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]
    page.wait_for_selector("#table-performance")  # type: ignore[attr-defined]
    assert "特派员绩效考评" in page.inner_text("h1")  # type: ignore[attr-defined]
    assert sorted(first_column(page)) == sorted(["张三", "李梅", "王五"])

    header = page.locator("#table-performance th[data-key=verified]")  # type: ignore[attr-defined]
    header.locator("a").click()
    page.wait_for_url("**sort=verified**")  # type: ignore[attr-defined]
    header = page.locator("#table-performance th[data-key=verified]")  # type: ignore[attr-defined]
    assert header.get_attribute("aria-sort") == "descending"
    assert first_column(page) == ["张三", "李梅", "王五"]  # 5, 2, 0 person-times
    screenshot(page, "performance-sorted-by-verified")

    # Clicked again, the same column sorts the other way (on the server, over every envoy).
    header.locator("a").click()
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('#table-performance th[data-key=verified]')"
        ".getAttribute('aria-sort') === 'ascending'"
    )
    assert first_column(page) == ["王五", "李梅", "张三"]

    # Sorting by sessions: 李梅's three village trainings first.
    page.locator("#table-performance th[data-key=kind_village_training] a").click()  # type: ignore[attr-defined]
    page.wait_for_url("**sort=kind_village_training**")  # type: ignore[attr-defined]
    assert first_column(page)[0] == "李梅"

    # 张三's person-times followed to the check-ins they count.
    row = page.locator("#table-performance tbody tr", has_text="张三")  # type: ignore[attr-defined]
    cell = row.locator("td").nth(COLUMNS.index("verified"))
    assert cell.get_attribute("data-value") == "5"
    cell.locator("a").click()
    page.wait_for_selector("#record-count")  # type: ignore[attr-defined]
    assert "/records/checkins" in page.url  # type: ignore[attr-defined]
    assert page.inner_text("h1").startswith("张三 · 2026")  # type: ignore[attr-defined]
    assert "共 5 条" in page.inner_text("#record-count")  # type: ignore[attr-defined]
    assert page.inner_text("#record-sum-person_times") == "5"  # type: ignore[attr-defined]
    assert "赵大" in page.inner_text("#table-checkins")  # type: ignore[attr-defined]
    assert "周四" not in page.inner_text("#table-checkins")  # type: ignore[attr-defined]
    screenshot(page, "performance-drill-checkins")
