"""The same work recorded through tianjian-field on one server and through the phone app on
another gives the same server records, apart from the ids and times that must differ."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from field_client import holdings, operations
from server.store.db import init_db
from server.store.records import row_to_state, table_of
from shared import protocol as p
from shared.clock import CHINA
from shared.schemas.field import data_fields
from tests.e2e.phone_app import call, enrol, outbox_states, phone_context
from tests.helpers import VILLAGE_EAST, LiveServer, enrolled_store, load_demo_reference

# Fields that name the device or the moment a tap was made: they must differ between the two.
DIFFERENT = {"seen_by", "checked_in_at"}
# Fields naming another record, by its id: compared by what that record is.
REFERENCES = ("session_id", "farmer_id", "subject_id", "plot_id", "correction_of")


def portable_records(db_path: str) -> dict[str, list[str]]:
    """Every field record on a server, ids replaced by what they name, sorted."""
    db = init_db(db_path)
    try:
        states = {
            kind: [row_to_state(kind, row) for row in db.query(f"SELECT * FROM [{table_of(kind)}]")]
            for kind in p.FIELD_KINDS
        }
    finally:
        db.close()
    label = {f["id"]: f"farmer {f['name']}" for f in states[p.FARMER]}
    label.update({s["id"]: "the session" for s in states[p.SESSION]})
    found: dict[str, list[str]] = {}
    for kind, rows in states.items():
        for state in rows:
            kept = {name: state.get(name) for name in data_fields(kind) if name not in DIFFERENT}
            for name in REFERENCES:
                if kept.get(name):
                    kept[name] = label.get(kept[name], kept[name])
            kept["deleted"] = bool(state.get("deleted"))
            kept["envoy_id"] = state.get("envoy_id")
            found.setdefault(kind, []).append(json.dumps(kept, sort_keys=True, ensure_ascii=False))
    return {kind: sorted(rows) for kind, rows in found.items()}


def through_the_field_client(server: LiveServer, tmp_path: Path, day: str) -> str:
    """The work through the field client's operations; answers the device report it would
    send before syncing, its cursor left out."""
    store = enrolled_store(server, str(tmp_path / "field.db"), "张三")
    try:
        sun = operations.register_farmer(
            store, name="孙七", village="东村", mobile="136 0013 6001", gender="女", birth_year=1975
        )
        session = operations.open_session(
            store,
            title="玉米高产栽培培训",
            unit="东村",
            starts_at=f"{day} 09:00",
            place="村委会",
            technologies=["玉米高产栽培"],
            co_envoys=["李梅"],
            boards=2,
        )
        operations.check_in(store, session, sun)
        zhou = operations.register_farmer(store, name="周八", village="东村")
        operations.check_in(store, session, zhou)
        operations.undo_checkin(store, session, zhou, reason="点错了人")
        operations.edit_session(store, session, title="玉米高产栽培培训（上午）")
        operations.close_session(store, session, ends_at=f"{day} 11:00", headcount=25)
        before_sync = holdings.count(store).report().encode().split(",", 1)[1]
        outcome = operations.sync_device(store, retries=1, backoff=0.05)
        assert outcome.pending == 0 and outcome.rejected == 0
    finally:
        store.close()
    return before_sync


def through_the_phone_app(browser: Any, server: LiveServer, day: str) -> str:
    """The same work through the phone app's screens; answers its device report before
    syncing, its cursor left out."""
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/app/")
        enrol(page, server, "张三")
        context.set_offline(True)
        page.click("[data-action=new-session]")
        page.fill("input[name=title]", "玉米高产栽培培训")
        page.select_option("select[name=unit_code]", VILLAGE_EAST)
        page.fill("input[name=starts_at]", f"{day}T09:00")
        page.fill("input[name=place]", "村委会")
        page.fill("input[name=display_boards]", "2")
        page.check("label:has-text('玉米高产栽培') input")
        page.click("summary:has-text('协同特派员')")
        page.check("label:has-text('李梅') input")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-screen=session] [data-action=new-farmer]")

        page.click("[data-action=new-farmer]")
        page.fill("input[name=name]", "孙七")
        page.fill("input[name=mobile]", "136 0013 6001")
        page.select_option("select[name=gender]", "female")
        page.fill("input[name=birth_year]", "1975")
        page.click("[data-action=save-farmer]")
        page.wait_for_selector("[data-screen=checkin] [data-figure=verified]:text-is('1')")
        page.click("[data-action=new-farmer]")
        page.fill("input[name=name]", "周八")
        page.click("[data-action=save-farmer]")
        page.wait_for_selector("[data-screen=checkin] [data-figure=verified]:text-is('2')")

        page.click("text=返回场次")
        page.click("li:has-text('周八') [data-action=undo]")
        page.fill("input[name=reason]", "点错了人")
        page.click("[data-action=confirm-undo]")
        page.wait_for_selector("[data-figure=verified]:text-is('1')")
        assert "点错了人" in page.inner_text("ul.undone li:has-text('周八')")

        page.click("[data-action=edit]")
        page.fill("input[name=title]", "玉米高产栽培培训（上午）")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-screen=session] h3:has-text('（上午）')")
        page.click("[data-action=close]")
        page.fill("input[name=ends_at]", f"{day}T11:00")
        page.fill("input[name=headcount]", "25")
        page.click("[data-action=confirm-close]")
        page.wait_for_selector("[data-figure=headcount]:text-is('25')")

        report = call(page, "sync_store.js", "return await m.deviceReport();")
        context.set_offline(False)
        page.goto(f"{server.url}/app/#outbox")
        page.click("[data-action=sync]")
        page.wait_for_selector("[data-figure=pending]:text-is('0')", timeout=20_000)
        assert page.inner_text("[data-figure=refused]") == "0"
        assert outbox_states(page) == {}
    finally:
        context.close()
    return str(report).split(",", 1)[1]


def test_field_client_and_phone_app_make_the_same_server_records(
    browser: Any, live_server: LiveServer, tmp_path: Path, new_db_path: Callable[[str], str]
) -> None:
    day = datetime.now(CHINA).date().isoformat()
    field_report = through_the_field_client(live_server, tmp_path, day)
    other_db = new_db_path("other")
    load_demo_reference(other_db)
    other = LiveServer(other_db).start()
    try:
        phone_report = through_the_phone_app(browser, other, day)
    finally:
        other.stop()
    by_field_client = portable_records(live_server.db_path)
    by_phone = portable_records(other_db)
    assert set(by_phone) == {p.FARMER, p.SESSION, p.ATTENDANCE}
    assert len(by_phone[p.ATTENDANCE]) == 2
    assert by_phone == by_field_client
    # Before syncing, both would have said the same of what they hold and what waits.
    assert phone_report == field_report == "farmer=2/2/2,session=1/3/1,attendance=1/3/1"
    # Each told its server what it holds in the same words (the device report header).
    assert reported_holdings(other_db) == reported_holdings(live_server.db_path)
    assert reported_holdings(other_db)[p.ATTENDANCE] == {
        "live": 1,
        "waiting": 0,
        "new": 0,
        "gone": 0,
        "refused": 0,
    }


def reported_holdings(db_path: str) -> dict[str, Any]:
    """What the envoy's device last reported holding, per kind (its cursor apart)."""
    db = init_db(db_path)
    try:
        rows = db.execute(
            "SELECT device_report FROM devices WHERE device_report IS NOT NULL"
        ).fetchall()
    finally:
        db.close()
    assert len(rows) == 1
    return dict(json.loads(rows[0][0])["kinds"])
