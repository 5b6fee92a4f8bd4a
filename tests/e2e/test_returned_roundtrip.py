"""A returned session's round trip over real HTTP: staff return it with a note on the real
server; the envoy's device syncs from its page (real `tianjian-field serve`, Chromium at
360 px), sees the note, edits the session on the page and syncs; the server has it corrected."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from field_client import operations as ops
from server.quality.reviews import set_review
from server.store.db import init_db
from shared import protocol as p
from shared import review_status as rs
from tests.browser import screenshot
from tests.e2e.field_serve import FieldServer
from tests.helpers import LiveServer, enrolled_store, fast_client, load_demo_reference

PIN = "246813"
NOTE = "报告 80 人，签到 0 人，请核实人数"


@pytest.fixture
def returned_session(db_path: str, tmp_path: Path) -> Iterator[tuple[LiveServer, FieldServer, str]]:
    """A session the envoy's device recorded and synced, which staff then returned."""
    load_demo_reference(db_path)
    server = LiveServer(db_path).start()
    device_path = str(tmp_path / "field.db")
    store = enrolled_store(server, device_path, "张三")
    session_id = ops.open_session(
        store,
        title="马铃薯晚疫病防治培训",
        unit="东村",
        starts_at="2026-11-20 09:00",
        headcount=80,
    )
    fast_client(store).sync()
    store.close()
    db = init_db(db_path)
    try:
        set_review(db, "科员甲", p.SESSION, session_id, rs.RETURNED, NOTE)
    finally:
        db.close()
    serve = FieldServer(device_path, PIN)
    yield server, serve, session_id
    serve.stop()
    server.stop()


def server_view(db_path: str, session_id: str) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    db = init_db(db_path)
    try:
        review = next(iter(db.query("SELECT * FROM reviews WHERE record_id = ?", [session_id])))
        audit = list(
            db.query("SELECT * FROM audit_log WHERE target_id = ? ORDER BY id", [session_id])
        )
        headcount = db.execute(
            "SELECT reported_headcount FROM sessions WHERE id = ?", [session_id]
        ).fetchone()[0]
    finally:
        db.close()
    return review, audit, headcount


def sync_from_the_page(page: Any, url: str) -> None:
    page.goto(f"{url}/envoy/sync/")
    page.click("#sync-button")
    page.wait_for_selector("#sync-figures")
    assert page.inner_text("[data-figure=refused]") == "0"


def test_a_returned_session_goes_to_the_device_and_comes_back_corrected(
    returned_session, phone_page
) -> None:
    server, serve, session_id = returned_session
    page, url = phone_page, serve.url
    page.goto(f"{url}/login")
    page.fill("#pin", PIN)
    page.click("main button[type=submit]")
    # Before the sync the device knows nothing of the review.
    page.goto(f"{url}/envoy/")
    assert page.locator("#reviews-notice").count() == 0

    sync_from_the_page(page, url)
    page.goto(f"{url}/envoy/")
    notice = page.inner_text("#reviews-notice")
    assert "有 1 条记录被科技局退回，请更正。" in notice
    screenshot(page, "envoy-returned-notice")
    page.locator("#reviews-notice a").click()
    card = page.locator(f"section.review[data-id='{session_id}']")
    text = card.inner_text()
    assert "退回" in text and NOTE in text and "马铃薯晚疫病防治培训" in text
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    screenshot(page, "envoy-returned-list")

    # The envoy corrects the headcount on the session's edit page, the note above the form.
    card.locator("a.button").click()
    assert NOTE in page.inner_text("#record-review")
    page.fill("#headcount", "3")
    screenshot(page, "envoy-returned-edit")
    page.click("main button[type=submit]")
    assert page.inner_text("h1") == "马铃薯晚疫病防治培训"
    page.goto(f"{url}/envoy/reviews/")
    assert "已在本机修改" in page.inner_text(f"section.review[data-id='{session_id}']")

    sync_from_the_page(page, url)
    review, audit, headcount = server_view(server.db_path, session_id)
    assert headcount == 3
    assert review["status"] == rs.CORRECTED and review["note"] == NOTE
    assert [row["action"] for row in audit] == ["review", "review.corrected"]
    assert audit[-1]["user_name"] == "特派员设备 test device"
    assert json.loads(audit[-1]["before"])["status"] == rs.RETURNED

    # The same sync brought the corrected review back: no notice, the list says so.
    page.goto(f"{url}/envoy/")
    assert page.locator("#reviews-notice").count() == 0
    page.goto(f"{url}/envoy/reviews/")
    corrected = page.inner_text(f"section.review[data-id='{session_id}']")
    assert "已更正待复核" in corrected and "已在本机修改" not in corrected
    screenshot(page, "envoy-returned-corrected")
