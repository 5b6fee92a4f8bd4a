"""The phone is never the merger: a pulled record never overwrites one with changes still
waiting on the phone, and after the push the server's merged version comes back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from field_client import operations
from server.store.db import init_db
from server.store.records import row_to_state
from shared.schemas.field import data_fields
from tests.e2e.phone_app import call, enrol, outbox_states, phone_context
from tests.helpers import VILLAGE_EAST, LiveServer, enrolled_store

NEW_SESSION = """
const envoy = await m.getMeta("envoy_id");
const session = await m.saveRecord("session", {
  kind: "village_training", title: "合并前", unit_code: arg,
  starts_at: "2026-03-10T01:00:00Z", lead_envoy_id: envoy,
});
return session.id;
"""

# A pull page fetched by hand while the phone's edit waits, applied as sync.js applies it.
PULL_WHILE_WAITING = """
const sync = await import("/app/js/sync_store.js");
const cursor = await m.getMeta("cursor");
const answer = await fetch(`/api/v1/sync/pull?cursor=${cursor}&limit=100`, {headers: {
  "X-Tianjian-Protocol": "1", Authorization: `Bearer ${await m.getMeta("token")}`}});
const page = await answer.json();
const skipped = await sync.applyPage(page, cursor);
return {skipped, brought: page.records.length, deferred: await m.getMeta("deferred"),
        record: await m.getRecord("session", arg)};
"""


def server_session(db_path: str, session_id: str) -> dict[str, Any]:
    db = init_db(db_path)
    try:
        row = db.execute("SELECT * FROM sessions WHERE id = ?", [session_id]).fetchone()
        columns = [c[0] for c in db.execute("SELECT * FROM sessions LIMIT 0").description]
        return row_to_state("session", dict(zip(columns, row, strict=True)))
    finally:
        db.close()


def test_a_pulled_record_waits_for_the_phones_changes_then_the_servers_merge_comes_back(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    context = phone_context(browser)
    laptop = None
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/app/")
        enrol(page, live_server, "张三")
        session_id = call(page, "store.js", NEW_SESSION, VILLAGE_EAST)
        assert call(page, "sync.js", "return (await m.syncNow()).pushed;") == 1

        # The envoy's laptop sets the place; the phone, meanwhile, changes the title.
        laptop = enrolled_store(live_server, str(tmp_path / "laptop.db"), "张三")
        operations.edit_session(laptop, session_id, place="村委会")
        operations.sync_device(laptop, retries=1, backoff=0.05)
        call(
            page,
            "store.js",
            "await m.saveRecord('session', {id: arg, title: '合并后'});",
            session_id,
        )
        assert outbox_states(page) == {"pending": 1}

        pulled = call(page, "store.js", PULL_WHILE_WAITING, session_id)
        # The server's version arrived and was left alone: the phone keeps its own.
        assert pulled["brought"] >= 1 and pulled["skipped"] == 1
        assert pulled["record"]["title"] == "合并后" and pulled["record"]["place"] is None
        assert pulled["deferred"]["records"] == [["session", session_id]]

        report = call(page, "sync.js", "return await m.syncNow();")
        assert report["pushed"] == 1 and report["pulled"] >= 1
        record = call(page, "store.js", "return await m.getRecord('session', arg);", session_id)
        assert call(page, "store.js", "return await m.getMeta('deferred');") is None
    finally:
        context.close()
        if laptop is not None:
            laptop.close()

    merged = server_session(live_server.db_path, session_id)
    assert merged["title"] == "合并后" and merged["place"] == "村委会"
    for name in data_fields("session"):
        assert record[name] == merged[name], name
    assert record["_stamps"] == merged["_stamps"]


def test_a_phone_edit_that_loses_on_the_server_is_replaced_by_the_winner(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    """The phone's title is older than the laptop's: the server keeps the laptop's and stores
    nothing new, so only going back to where the pull left the record brings the winner."""
    context = phone_context(browser)
    laptop = None
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/app/")
        enrol(page, live_server, "张三")
        session_id = call(page, "store.js", NEW_SESSION, VILLAGE_EAST)
        call(page, "sync.js", "await m.syncNow();")
        laptop = enrolled_store(live_server, str(tmp_path / "laptop.db"), "张三")
        call(
            page,
            "store.js",
            "await m.saveRecord('session', {id: arg, title: '手机改的'});",
            session_id,
        )
        page.wait_for_timeout(20)
        operations.edit_session(laptop, session_id, title="笔记本改的")
        operations.sync_device(laptop, retries=1, backoff=0.05)

        pulled = call(page, "store.js", PULL_WHILE_WAITING, session_id)
        assert pulled["skipped"] == 1 and pulled["record"]["title"] == "手机改的"
        call(page, "sync.js", "await m.syncNow();")
        record = call(page, "store.js", "return await m.getRecord('session', arg);", session_id)
    finally:
        context.close()
        if laptop is not None:
            laptop.close()
    assert server_session(live_server.db_path, session_id)["title"] == "笔记本改的"
    assert record["title"] == "笔记本改的"
