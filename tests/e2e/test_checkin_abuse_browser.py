"""The farmer's page against abuse and for the right village, in headless Chromium at 360 x 740
against a real `tianjian-field serve` (issues 18.1 and 19.7)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from field_client import qr_checkin
from field_client.store import FieldStore
from shared import protocol as p
from tests.browser import screenshot
from tests.e2e.field_serve import FieldServer
from tests.field_client.test_farmer_villages import COUNTY, county_units
from tests.field_client.web.conftest import PIN, make_store, new_farmer, new_session


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FieldServer, FieldStore]]:
    path = str(tmp_path / "field.db")
    store = make_store(path)
    store.apply_pull([{"k": p.UNIT, "r": unit} for unit in county_units()], 2)
    store.close()
    server = FieldServer(path, PIN)
    store = FieldStore(path)
    yield server, store
    store.close()
    server.stop()


def test_someone_elses_mobile_shows_no_name_and_checks_nobody_in(served, phone_page) -> None:
    server, store = served
    session_id = new_session(store)
    victim = new_farmer(store, "赵六", "13700000000")
    ticket = qr_checkin.poster(store, session_id)
    phone_page.goto(f"{server.url}/c/{ticket.code}/{ticket.token}")
    phone_page.fill("#known-mobile", "13700000000")
    phone_page.click("form:has(#known-mobile) button")
    body = phone_page.inner_text("body")
    assert "赵六" not in body and "登记时的姓名" in body
    phone_page.fill("#prove-name", "张三")
    phone_page.click("form:has(#prove-name) button")
    body = phone_page.inner_text("body")
    assert "赵六" not in body and "不符" in body and phone_page.query_selector(".full") is None
    screenshot(phone_page, "checkin-mobile-not-proved")
    # The register form with that mobile and another name: nobody checked in either.
    phone_page.fill("#name", "冒名者")
    phone_page.fill("#mobile", "13700000000")
    phone_page.select_option("#village", index=1)
    phone_page.check("input[name=gender][value=male]")
    phone_page.check("input[name=consent]")
    phone_page.click("text=登记并签到")
    body = phone_page.inner_text("body")
    assert "赵六" not in body and "已有人登记" in body
    assert not qr_checkin.is_checked_in(store, session_id, victim)
    assert not qr_checkin.session_attendances(store, session_id)
    # The farmer themself: their name as registered checks them in.
    phone_page.fill("#known-mobile", "13700000000")
    phone_page.click("form:has(#known-mobile) button")
    phone_page.fill("#prove-name", "赵六")
    phone_page.click("form:has(#prove-name) button")
    assert phone_page.inner_text("h1") == "签到成功"
    assert qr_checkin.is_checked_in(store, session_id, victim)


def test_village_list_starts_at_the_sessions_village_and_tells_namesakes_apart(
    served, phone_page
) -> None:
    server, store = served
    own = f"{COUNTY}002003"
    session_id = new_session(store, unit_code=own)
    ticket = qr_checkin.poster(store, session_id)
    opened = phone_page.goto(f"{server.url}/c/{ticket.code}/{ticket.token}")
    assert len(opened.body()) < 50 * 1024
    options = phone_page.eval_on_selector_all(
        "#village option", "os => os.map(o => [o.value, o.textContent])"
    )
    assert options[0][0] == "" and options[1] == [own, "同名1-3村（第2镇）"]
    assert all(value.startswith(f"{COUNTY}002") for value, _label in options[2:19])
    assert len(options) == 1 + 198
    labels = [label for _value, label in options[1:]]
    assert len(set(labels)) == len(labels)
    assert "同名1-3村（第3镇）" in labels
    # The select fits the phone's width.
    width = phone_page.evaluate("document.querySelector('#village').getBoundingClientRect().right")
    assert width <= 360
    phone_page.select_option("#village", own)
    screenshot(phone_page, "checkin-village-list")
