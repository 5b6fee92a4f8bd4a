"""A staff member reviews a session in headless Chromium against the real server process: opens
it, is told a return needs a note, returns it with one, and finds the action in the audit log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.accounts import users
from server.store.db import init_db
from tests.browser import screenshot
from tests.helpers import LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy

STAFF, PASSWORD = "王科员", "staff-password"


@pytest.fixture(scope="module")
def bureau(module_db_path: str) -> Iterator[tuple[LiveServer, str]]:
    db_path = module_db_path
    load_demo_reference(db_path)
    db = init_db(db_path)
    zhang = Envoy(db, "张三")
    session = zhang.session(reported_headcount=300)
    zhang.checkin(session, zhang.farmer("赵大", mobile="13912345678"))
    users.add_user(db, STAFF, users.STAFF, PASSWORD)
    db.close()
    server = LiveServer(db_path).start()
    yield server, session
    server.stop()


def test_staff_return_a_session_with_a_note_and_see_it_in_the_audit_log(
    desk_page: object, bureau: tuple[LiveServer, str]
) -> None:
    server, session = bureau
    page = desk_page
    page.goto(f"{server.url}/records/session/{session}")  # type: ignore[attr-defined]
    page.fill("input[name=name]", STAFF)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]
    assert "马铃薯晚疫病防治培训" in page.inner_text("h1")  # type: ignore[attr-defined]
    page.click("#review-link")  # type: ignore[attr-defined]
    page.wait_for_url(f"**/review/session/{session}*")  # type: ignore[attr-defined]
    fields = page.inner_text("#record-fields")  # type: ignore[attr-defined]
    assert "张三" in fields and "300" in fields and "进村培训" in fields
    assert "尚未审核" in page.inner_text("#present-review")  # type: ignore[attr-defined]

    # 退回 without a note: refused, the field named, nothing saved.
    page.check("input[name=status][value=returned]")  # type: ignore[attr-defined]
    page.click("#review-submit")  # type: ignore[attr-defined]
    error = page.inner_text("#review-error")  # type: ignore[attr-defined]
    assert "说明" in error and "须写明原因" in error
    assert "尚未审核" in page.inner_text("#present-review")  # type: ignore[attr-defined]
    screenshot(page, "review-needs-a-note")

    page.check("input[name=status][value=returned]")  # type: ignore[attr-defined]
    page.fill("textarea[name=note]", "填报300人，实名签到仅1人，请核实")  # type: ignore[attr-defined]
    page.click("#review-submit")  # type: ignore[attr-defined]
    assert "已保存审核：退回" in page.inner_text(".flash")  # type: ignore[attr-defined]
    present = page.inner_text("#present-review")  # type: ignore[attr-defined]
    assert "退回" in present and "实名签到仅1人" in present and STAFF in present
    history = page.inner_text("#review-history")  # type: ignore[attr-defined]
    assert "退回" in history and STAFF in history
    screenshot(page, "review-returned")

    page.goto(f"{server.url}/audit")  # type: ignore[attr-defined]
    row = page.locator("#audit-log tbody tr").first  # type: ignore[attr-defined]
    text = row.inner_text()
    assert "审核记录" in text and STAFF in text and "培训场次" in text
    assert "— → 退回" in text and "实名签到仅1人" in text
    screenshot(page, "review-in-audit-log")
    # The entry leads back to the record.
    row.locator("a[href*='/review/session/']").click()
    page.wait_for_url(f"**/review/session/{session}*")  # type: ignore[attr-defined]
