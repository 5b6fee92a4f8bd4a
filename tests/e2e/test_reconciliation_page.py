"""The reconciliation page in headless Chromium against the real server process, crafted data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.accounts import users
from server.store.db import init_db
from shared import protocol as p
from tests.browser import ARTIFACTS, screenshot
from tests.helpers import VILLAGE_SOUTH, LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy

STAFF, PASSWORD = "核对员", "bureau-password"


def checkin_at(envoy: Envoy, session: str, farmer: str, at: str) -> None:
    envoy.push(
        p.ATTENDANCE,
        {"session_id": session, "farmer_id": farmer, "checked_in_at": at, "method": "qr_self"},
    )


@pytest.fixture(scope="module")
def bureau(module_db_path: str) -> Iterator[tuple[LiveServer, str]]:
    db_path = module_db_path
    load_demo_reference(db_path)
    db = init_db(db_path)
    zhang, wang = Envoy(db, "张三"), Envoy(db, "王五")
    db["envoys"].update(
        wang.envoy_id, {"township_codes": json.dumps(["530102001000", "530102002000"])}
    )
    zhang.receipt(200)
    zhang.handout(150)
    wang.receipt(60)
    wang.handout(90, unit_code=VILLAGE_SOUTH)  # 30 more than he received
    fine = zhang.session(reported_headcount=3, starts_at="2026-05-12T02:00:00Z")
    padded = zhang.session(reported_headcount=60, starts_at="2026-06-03T01:30:00Z")
    for session, at in ((fine, "2026-05-12T02:10:00Z"), (padded, "2026-06-03T01:40:00Z")):
        for name in ("赵大", "钱二", "孙三"):
            checkin_at(zhang, session, zhang.farmer(name), at)
    checkin_at(zhang, fine, zhang.farmer("周迟到"), "2026-05-12T09:00:00Z")
    db.execute(
        "UPDATE devices SET last_seen_at = ? WHERE id = ?",
        ["2026-01-05T00:00:00Z", wang.device.id],
    )
    db.conn.commit()
    users.add_user(db, STAFF, users.STAFF, PASSWORD)
    db.close()
    server = LiveServer(db_path).start()
    yield server, padded
    server.stop()


def sign_in(page: object, server: LiveServer, path: str) -> None:
    page.goto(server.url + path)  # type: ignore[attr-defined]
    page.fill("input[name=name]", STAFF)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]


def test_over_distribution_and_a_doubtful_session_stand_out_at_1366(
    desk_page: object, bureau: tuple[LiveServer, str]
) -> None:
    server, padded = bureau
    page = desk_page
    sign_in(page, server, "/reconciliation/?year=2026")
    page.wait_for_selector("#table-leaflets")  # type: ignore[attr-defined]
    assert "数据核对" in page.inner_text("h1")  # type: ignore[attr-defined]
    # 王五's line is the highlighted one, in red; 张三's is not.
    over = page.locator("#table-leaflets tbody tr.over")  # type: ignore[attr-defined]
    assert over.count() == 1 and "王五" in over.inner_text() and "-30" in over.inner_text()
    red = over.locator("td").first.evaluate("cell => getComputedStyle(cell).backgroundColor")
    plain = page.locator("#table-leaflets tbody tr", has_text="张三").locator("td").first  # type: ignore[attr-defined]
    assert red == "rgb(251, 227, 227)"
    assert plain.evaluate("cell => getComputedStyle(cell).backgroundColor") != red
    # Figures line up on the right, with separators, names on the left.
    assert plain.evaluate("cell => getComputedStyle(cell).textAlign") in ("left", "start")
    figure = over.locator("td.num").first
    assert figure.evaluate("cell => getComputedStyle(cell).textAlign") == "right"
    # The padded session is listed (60 typed, 3 named), linked to its record and its review.
    doubtful = page.locator("#table-headcount-sessions tbody tr")  # type: ignore[attr-defined]
    assert doubtful.count() == 1
    assert "60" in doubtful.inner_text() and "2026年6月3日 09:30" in doubtful.inner_text()
    assert doubtful.locator(f"a[href='/review/session/{padded}']").count() == 1
    # The late check-in, in China time, with how far outside its session it was.
    late = page.locator("#table-checkins tbody tr")  # type: ignore[attr-defined]
    assert (
        late.count() == 1
        and "周迟到" in late.inner_text()
        and "2026年5月12日 17:00" in (late.inner_text())
    )
    assert "王五的手机" in page.inner_text("#table-devices")  # type: ignore[attr-defined]
    # Fits the window: nothing wider than the 1366 px browser.
    width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= 1366
    assert Path(screenshot(page, "bureau-reconciliation-1366")).stat().st_size > 20000
    doubtful.locator(f"a[href='/records/session/{padded}']").click()
    assert "马铃薯晚疫病防治培训" in page.inner_text("h1")  # type: ignore[attr-defined]


def test_readable_at_1024_and_a_section_downloads_as_csv(
    browser: object, bureau: tuple[LiveServer, str], tmp_path: Path
) -> None:
    server, _padded = bureau
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1024, "height": 768}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    try:
        sign_in(page, server, "/reconciliation/?year=2026")
        page.wait_for_selector("#table-leaflets")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024
        # Text stays at a readable size: table cells no smaller than 12 px.
        size = page.locator("#table-leaflets td").first.evaluate(
            "cell => parseFloat(getComputedStyle(cell).fontSize)"
        )
        assert size >= 12
        screenshot(page, "bureau-reconciliation-1024")
        with page.expect_download() as info:
            page.locator("#table-leaflets a.export-csv").click()
        saved = tmp_path / "leaflets.csv"
        info.value.save_as(str(saved))
        text = saved.read_bytes().decode("utf-8")
        assert text.startswith("\ufeff") and "王五" in text and ",是" in text
        (ARTIFACTS / "bureau-reconciliation-leaflets.csv").write_bytes(saved.read_bytes())
    finally:
        context.close()
