"""Enrolling the phone app: a wrong code refused in Chinese, and enrolling again after the
bureau revoked the phone, with what was waiting kept and sent."""

from __future__ import annotations

from typing import Any

from server.store.db import init_db
from server.sync import devices
from tests.e2e.conftest import count_rows
from tests.e2e.faults import CUT_BEFORE_SERVER, PASS, FaultProxy
from tests.e2e.phone_app import call, enrol, outbox_states, phone_context, watch_errors
from tests.helpers import VILLAGE_EAST, LiveServer, enrolment_code


def test_a_wrong_code_is_refused_in_chinese_and_nothing_is_kept(
    browser: Any, live_server: LiveServer
) -> None:
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/app/")
        page.fill("input[name=code]", "12345678")
        page.click("button[type=submit]")
        alert = page.wait_for_selector("[role=alert]")
        assert alert.inner_text().startswith("登记失败：")
        page.fill("input[name=code]", "1")
        page.click("button[type=submit]")
        page.wait_for_selector("[role=alert]:has-text('4 到 20 个字符')")
        assert call(page, "store.js", "return await m.getMeta('token');") is None
        # Still the enrol screen: nothing else opens before the phone is enrolled.
        page.goto(f"{live_server.url}/app/#sessions")
        page.wait_for_selector("input[name=code]")
    finally:
        context.close()


def test_after_the_bureau_revokes_the_phone_it_enrols_again_and_sends_what_waited(
    browser: Any, live_server: LiveServer
) -> None:
    context = phone_context(browser)
    try:
        page = context.new_page()
        errors = watch_errors(page)
        page.goto(f"{live_server.url}/app/")
        enrol(page, live_server, "张三")
        first_device = call(page, "store.js", "return await m.getMeta('device_id');")
        call(
            page,
            "store.js",
            "await m.saveRecord('farmer', {name: '吴九', village_code: arg});",
            VILLAGE_EAST,
        )
        db = init_db(live_server.db_path)
        try:
            devices.revoke(db, first_device)
        finally:
            db.close()

        page.goto(f"{live_server.url}/app/#outbox")
        page.click("[data-action=sync]")
        page.click("[data-action=enrol-again]")
        page.wait_for_selector("text=科技局已停用本机原来的登记")
        page.fill("input[name=code]", enrolment_code(live_server.db_path, "张三"))
        page.click("button[type=submit]")
        page.wait_for_selector("[data-screen=sessions]", timeout=20_000)
        assert call(page, "store.js", "return await m.getMeta('device_id');") != first_device
        assert outbox_states(page) == {}
        assert [e for e in errors if "401" not in e] == []
    finally:
        context.close()
    assert count_rows(live_server.db_path, "farmers") == 1


def test_a_phone_whose_first_sync_failed_says_to_sync_before_it_can_pick_a_village(
    browser: Any, live_server: LiveServer
) -> None:
    proxy = FaultProxy(live_server.port)
    # Enrolment goes through; every pull is lost on the way.
    proxy.decide = lambda method, path, _n: CUT_BEFORE_SERVER if "/sync/pull" in path else PASS
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{proxy.url}/app/")
        enrol(page, live_server, "张三")
        page.click("[data-action=new-session]")
        page.wait_for_selector("[data-hint=no-villages]")
        proxy.decide = lambda method, path, _n: PASS
        page.goto(f"{proxy.url}/app/#outbox")
        page.click("[data-action=sync]")
        page.wait_for_selector("text=上次同步")
        page.goto(f"{proxy.url}/app/#session-form")
        page.wait_for_selector(
            f"select[name=unit_code] option[value='{VILLAGE_EAST}']", state="attached"
        )
        assert page.locator("[data-hint=no-villages]").count() == 0
    finally:
        context.close()
        proxy.close()
