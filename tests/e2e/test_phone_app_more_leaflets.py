"""Leaflets on the phone app at 360 px: received and handed out with the stock beside the form,
a hand-out beyond stock asked first, corrections as new events; synced to the real server, the
records and the bureau's figure are exactly those, and equal to what the same events make
through tianjian-field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from field_client import operations as ops
from server.figures import count as figures
from server.figures.counted import Scope
from server.store.db import open_db
from server.store.records import row_to_state
from shared import protocol as p
from tests.browser import screenshot
from tests.e2e.conftest import comparable
from tests.e2e.phone_more import new_session, open_screen, phone, sync, waiting_changes
from tests.helpers import LEAFLET_POTATO, VILLAGE_EAST, LiveServer, enrolled_store, fast_client

TITLE = "马铃薯晚疫病防治"


def held(page: Any) -> int:
    return int(page.inner_text(f"#leaflet-stock tr[data-title-id='{LEAFLET_POTATO}'] td.held"))


def wait_held(page: Any, copies: int) -> None:
    page.wait_for_function(
        """([title, copies]) => document.querySelector(
            `#leaflet-stock tr[data-title-id='${title}'] td.held`)?.textContent === String(copies)""",
        arg=[LEAFLET_POTATO, copies],
    )


def give(page: Any, copies: str, *, session: str | None = None, village: str | None = None) -> None:
    page.select_option("#give-title", label=TITLE)
    page.fill("#give-copies", copies)
    if session:
        page.select_option("#give-session", session)
    if village:
        page.select_option("#give-village", village)
    page.click("#give-save")


def test_leaflets_received_handed_out_and_corrected_reach_the_bureau(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    with phone(browser, live_server) as page:
        session = new_session(page, "马铃薯培训", VILLAGE_EAST, "2026-03-10T01:00:00Z")
        open_screen(page, "leaflets", "#receive-form")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        page.select_option("#receive-title", label=TITLE)
        page.fill("#receive-copies", "５０")  # full-width digits, as a phone keyboard may type
        page.fill("#receive-on", "2026-03-01")
        page.click("#receive-save")
        page.wait_for_selector(f"#leaflet-stock tr[data-title-id='{LEAFLET_POTATO}']")
        assert held(page) == 50

        # The stock shows beside the form once a title is chosen.
        page.select_option("#give-title", label=TITLE)
        assert "50" in page.inner_text("#give-held")
        page.fill("#give-at", "2026-03-10T10:00")
        give(page, "30", session=session)
        wait_held(page, 20)
        assert held(page) == 20

        # 25 more than the 20 held: asked first; cancelling records nothing.
        page.fill("#give-at", "2026-07-02T10:00")
        give(page, "25", village=VILLAGE_EAST)
        confirm = page.locator("#give-confirm")
        confirm.wait_for()
        assert "20" in confirm.inner_text() and "25" in confirm.inner_text()
        assert waiting_changes(page) == 3  # the session, the receipt, the first hand-out
        page.click("#give-confirm-no")
        assert confirm.is_hidden()
        assert waiting_changes(page) == 3
        page.click("#give-save")
        page.click("#give-confirm-yes")
        wait_held(page, -5)
        assert "科技局会看到" in page.inner_text("#give")
        screenshot(page, "phone-leaflets-360")

        # A correction that would take the first hand-out below zero is refused on the phone.
        handout = page.locator("#leaflet-events li[data-kind='leaflet_handout']", has_text="30")
        handout.locator(".more-correct").click()
        page.fill("#correct-copies", "-40")
        page.click("#correct-save")
        assert "不能小于0" in page.inner_text("#correct-form")
        assert waiting_changes(page) == 4
        # A correction of the receipt: ten more received, a new event.
        receipt = page.locator("#leaflet-events li[data-kind='leaflet_receipt']")
        receipt.locator(".more-correct").click()
        page.fill("#correct-copies", "10")
        page.click("#correct-save")
        wait_held(page, 5)

        report = sync(page)
        assert report["statuses"] == {"applied": 5}, report
        assert waiting_changes(page) == 0

    db = open_db(live_server.db_path)
    phone_rows = {kind: events(db, kind) for kind in (p.LEAFLET_RECEIPT, p.LEAFLET_HANDOUT)}
    receipts = sorted(
        (r["copies"], bool(r["correction_of"]))
        for r in db.query("SELECT * FROM leaflet_receipts WHERE deleted = 0")
    )
    assert receipts == [(10, True), (50, False)]
    handouts = sorted(
        (r["copies"], r["session_id"], r["unit_code"])
        for r in db.query("SELECT * FROM leaflet_handouts WHERE deleted = 0")
    )
    assert handouts == [(25, None, VILLAGE_EAST), (30, session, None)]
    envoy = db.execute("SELECT id FROM envoys WHERE name = '张三'").fetchone()[0]
    bureau = figures.compute(db, Scope(2026, envoy_id=envoy)).total()
    assert bureau["leaflets_distributed"] == 55

    # The same events through tianjian-field make the same server records (ids apart).
    store = enrolled_store(live_server, str(tmp_path / "field.db"), "张三")
    ops.receive_leaflets(store, title=TITLE, copies=50, received_on="2026-03-01")
    ops.give_leaflets(store, title=TITLE, copies=30, session=session, at="2026-03-10 10:00")
    ops.give_leaflets(store, title=TITLE, copies=25, village=VILLAGE_EAST, at="2026-07-02 10:00")
    [original] = [
        r for r in store.records(p.LEAFLET_RECEIPT) if r["device_id"] == store.get("device_id")
    ]
    ops.receive_leaflets(store, title=TITLE, copies=10, correction_of=original["id"])
    fast_client(store).sync()
    store.close()
    for kind, rows in phone_rows.items():
        # Each event twice over: once from the phone, once from the laptop's device.
        assert sorted(events(db, kind)) == sorted(rows * 2), kind


def events(db: Database, kind: str) -> list[str]:
    """A kind's live events as comparable text: data fields, the event a correction corrects
    named by its copies (ids differ between devices)."""
    table = p.TABLES[kind]
    by_id = {r["id"]: r for r in db.query(f"SELECT * FROM [{table}] WHERE deleted = 0")}
    found = []
    for row in by_id.values():
        state = json.loads(comparable(kind, row_to_state(kind, row)))
        if state["correction_of"]:
            state["correction_of"] = by_id[state["correction_of"]]["copies"]
        if kind == p.LEAFLET_RECEIPT and state["correction_of"]:
            state.pop("received_on")  # today, on either device
        found.append(json.dumps(state, sort_keys=True, ensure_ascii=False))
    return found
