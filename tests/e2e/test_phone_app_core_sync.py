"""The phone app's sync cut halfway, through a proxy that drops the line the way 2G links do:
the next sync resumes, and nothing is lost or counted twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from field_client import operations
from server.reference import load as reference
from server.store.db import init_db
from tests.e2e.conftest import count_rows
from tests.e2e.faults import CUT_AFTER_SERVER, CUT_BEFORE_SERVER, CUT_MID_RESPONSE, PASS, FaultProxy
from tests.e2e.phone_app import call, enrol, outbox_states, phone_context
from tests.helpers import VILLAGE_EAST, LiveServer, enrolled_store

FARMERS = 12

RECORD_A_SESSION = """
const store = m;
const envoy = await store.getMeta("envoy_id");
const session = await store.saveRecord("session", {
  kind: "village_training", title: "断网续传培训", unit_code: arg.village,
  starts_at: new Date().toISOString().slice(0, 19) + "Z", lead_envoy_id: envoy,
});
for (let n = 0; n < arg.farmers; n += 1) {
  const farmer = await store.saveRecord("farmer", {
    name: `农户${n}`, village_code: arg.village, mobile: `1370000${String(n).padStart(4, "0")}`,
  });
  await store.checkIn(session.id, farmer.id, "roster");
}
return session.id;
"""

SYNC = """
const m2 = await import("/app/js/sync.js");
try {
  const report = await m2.syncNow({batchChanges: arg});
  return {ok: true, statuses: report.statuses, pulled: report.pulled};
} catch (error) {
  return {ok: false, message: error.text ? error.text.zh : String(error)};
}
"""


def test_a_sync_cut_halfway_resumes_with_nothing_lost_or_doubled(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    proxy = FaultProxy(live_server.port)
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{proxy.url}/app/")
        enrol(page, live_server, "张三")
        call(page, "store.js", RECORD_A_SESSION, {"village": VILLAGE_EAST, "farmers": FARMERS})
        # A session, twelve farmers and their check-ins: 25 changes, sent five at a time.
        assert outbox_states(page) == {"pending": 1 + 2 * FARMERS}

        # The second push reaches the server but its answer is lost; then the line is down.
        pushes = {"n": 0}

        def cut_push(method: str, path: str, _n: int) -> str:
            if method == "POST" and "/sync/push" in path:
                pushes["n"] += 1
                if pushes["n"] == 1:
                    return PASS
                return CUT_AFTER_SERVER if pushes["n"] == 2 else CUT_BEFORE_SERVER
            return PASS if pushes["n"] < 2 else CUT_BEFORE_SERVER

        proxy.decide = cut_push
        failed = call(page, "store.js", SYNC, 5)
        assert failed["ok"] is False and "没有丢失" in failed["message"]
        # Two batches are on the server; only the first was answered, so the phone still
        # holds the second and everything after it.
        assert (
            count_rows(live_server.db_path, "farmers")
            + count_rows(live_server.db_path, "sessions")
            + count_rows(live_server.db_path, "attendances")
            == 10
        )
        assert outbox_states(page) == {"pending": 1 + 2 * FARMERS - 5}

        # Meanwhile the envoy's laptop registers a farmer: the phone's pull will bring it.
        laptop = enrolled_store(live_server, str(tmp_path / "laptop.db"), "张三")
        try:
            operations.register_farmer(laptop, name="从笔记本来", village="东村")
            operations.sync_device(laptop, retries=1, backoff=0.05)
        finally:
            laptop.close()

        # The push goes through now, but the pull's answer is cut in the middle, every time.
        proxy.decide = lambda method, path, _n: CUT_MID_RESPONSE if "/sync/pull" in path else PASS
        failed = call(page, "store.js", SYNC, 5)
        assert failed["ok"] is False and "没有丢失" in failed["message"]
        assert outbox_states(page) == {}
        cursor_before = call(page, "store.js", "return await m.getMeta('cursor');")

        proxy.decide = lambda method, path, _n: PASS
        done = call(page, "store.js", SYNC, 5)
        assert done["ok"] is True and done["pulled"] >= 1
        assert call(page, "store.js", "return await m.getMeta('cursor');") > cursor_before
    finally:
        context.close()
        proxy.close()

    assert count_rows(live_server.db_path, "sessions") == 1
    assert count_rows(live_server.db_path, "attendances") == FARMERS
    assert count_rows(live_server.db_path, "farmers") == FARMERS + 1
    # Each change applied once: no conflict, nothing held.
    assert count_rows(live_server.db_path, "held_changes", "TRUE") == 0


def test_the_pulled_farmer_reaches_the_roster(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    laptop = enrolled_store(live_server, str(tmp_path / "laptop.db"), "张三")
    try:
        operations.register_farmer(laptop, name="从笔记本来", village="东村", mobile="13512345678")
        operations.sync_device(laptop, retries=1, backoff=0.05)
    finally:
        laptop.close()
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/app/")
        enrol(page, live_server, "张三")
        page.goto(f"{live_server.url}/app/#farmers")
        page.fill("input[name=q]", "5678")
        page.wait_for_selector("ul.farmers li:has-text('从笔记本来')")
        # Masked on the list, never in full.
        assert "135****5678" in page.inner_text("ul.farmers")
        assert "13512345678" not in page.content()
    finally:
        context.close()


def test_a_refused_change_is_shown_in_chinese_with_what_to_do_and_can_be_discarded(
    browser: Any, live_server: LiveServer
) -> None:
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/app/")
        enrol(page, live_server, "张三")
        # The form would not let this through; the server is the judge either way.
        call(
            page,
            "store.js",
            "await m.saveRecord('farmer', {name: '钱十', village_code: arg, birth_year: 1800});",
            VILLAGE_EAST,
        )
        page.goto(f"{live_server.url}/app/#outbox")
        page.click("[data-action=sync]")
        refused = page.wait_for_selector("ul.refused li")
        text = refused.inner_text()
        assert "农户（新建）" in text and "birth_year" in text
        assert "请按原因修改记录后再同步" in text
        assert "/" not in refused.query_selector(".reason").inner_text()
        # A refused new record leaves the phone's records for the refused list.
        assert call(page, "store.js", "return (await m.listRecords('farmer')).length;") == 0
        page.click("[data-action=discard]")
        page.wait_for_selector("[data-figure=refused]:text-is('0')")
        assert outbox_states(page) == {}
    finally:
        context.close()
    assert count_rows(live_server.db_path, "farmers") == 0


def test_a_refused_new_farmer_is_put_right_from_the_outbox(
    browser: Any, live_server: LiveServer
) -> None:
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/app/")
        enrol(page, live_server, "张三")
        call(
            page,
            "store.js",
            """await m.saveRecord('farmer', {name: '钱十', village_code: arg, birth_year: 1800,
                                             mobile: '13700137010', gender: 'male'});""",
            VILLAGE_EAST,
        )
        page.goto(f"{live_server.url}/app/#outbox")
        page.click("[data-action=sync]")
        page.click("ul.refused [data-action=fix]")
        # The form starts from what was refused, with the reason above it.
        page.wait_for_selector("[data-screen=farmer-new] [data-field=birth_year]")
        assert page.input_value("input[name=name]") == "钱十"
        assert page.input_value("input[name=mobile]") == "13700137010"
        assert page.input_value("select[name=gender]") == "male"
        page.fill("input[name=birth_year]", "1960")
        page.click("[data-action=save-farmer]")
        page.wait_for_selector("[data-screen=farmers]")
        assert outbox_states(page) == {"pending": 1}
        page.goto(f"{live_server.url}/app/#outbox")
        page.click("[data-action=sync]")
        page.wait_for_selector("[data-figure=pending]:text-is('0')")
        assert page.inner_text("[data-figure=refused]") == "0"
    finally:
        context.close()
    db = init_db(live_server.db_path)
    try:
        rows = db.execute("SELECT name, birth_year, mobile FROM farmers").fetchall()
    finally:
        db.close()
    assert [tuple(row) for row in rows] == [("钱十", 1960, "13700137010")]


def test_when_the_envoys_townships_change_the_phone_pulls_everything_again(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    other = enrolled_store(live_server, str(tmp_path / "wangwu.db"), "王五")
    try:
        operations.register_farmer(other, name="南村的农户", village="南村")
        operations.sync_device(other, retries=1, backoff=0.05)
    finally:
        other.close()
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/app/")
        enrol(page, live_server, "张三")
        names = "return (await m.listRecords('farmer')).map((f) => f.name);"
        assert call(page, "store.js", names) == []
        call(
            page,
            "store.js",
            "await m.saveRecord('farmer', {name: '还没发出', village_code: arg});",
            VILLAGE_EAST,
        )
        # The bureau gives 张三 王五's township too: what the phone holds is pulled again.
        envoys = tmp_path / "envoys.csv"
        envoys.write_text(
            "name,mobile,township_codes\n张三,13800138000,530102001 530102002\n", encoding="utf-8"
        )
        db = init_db(live_server.db_path)
        try:
            reference.load_envoys(db, str(envoys))
        finally:
            db.close()
        report = call(page, "sync.js", "return await m.syncNow();")
        assert report["fullResync"] is True
        assert sorted(call(page, "store.js", names)) == ["南村的农户", "还没发出"]
        assert outbox_states(page) == {}
    finally:
        context.close()
    assert count_rows(live_server.db_path, "farmers") == 2


def test_a_refused_new_session_is_put_right_from_the_outbox(
    browser: Any, live_server: LiveServer
) -> None:
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/app/")
        enrol(page, live_server, "张三")
        call(
            page,
            "store.js",
            """await m.saveRecord('session', {kind: 'field_day', title: '倒着的培训', unit_code: arg,
                 starts_at: '2026-05-01T03:00:00Z', ends_at: '2026-05-01T01:00:00Z',
                 lead_envoy_id: await m.getMeta('envoy_id')});""",
            VILLAGE_EAST,
        )
        page.goto(f"{live_server.url}/app/#outbox")
        page.click("[data-action=sync]")
        page.click("ul.refused [data-action=fix]")
        page.wait_for_selector("[data-screen=session-form] .refusal")
        assert page.input_value("input[name=title]") == "倒着的培训"
        assert page.input_value("select[name=kind]") == "field_day"
        assert page.input_value("input[name=starts_at]") == "2026-05-01T11:00"
        page.fill("input[name=ends_at]", "2026-05-01T13:00")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-screen=session]")
        page.goto(f"{live_server.url}/app/#outbox")
        page.click("[data-action=sync]")
        page.wait_for_selector("[data-figure=pending]:text-is('0')")
        assert page.inner_text("[data-figure=refused]") == "0"
    finally:
        context.close()
    db = init_db(live_server.db_path)
    try:
        rows = db.execute("SELECT title, kind, starts_at, ends_at FROM sessions").fetchall()
    finally:
        db.close()
    assert [tuple(row) for row in rows] == [
        ("倒着的培训", "field_day", "2026-05-01T03:00:00Z", "2026-05-01T05:00:00Z")
    ]
