"""The outbox page: what waits by kind, refused changes with what to do (fix or discard), held
changes, and a sync that cannot reach the server saying so in Chinese."""

from __future__ import annotations

import json
import time

from field_client import operations as ops
from field_client.web import outbox
from shared import protocol as p
from tests.field_client.web.conftest import new_farmer, new_session
from tests.helpers import free_port

PAGE = "/envoy/sync/"


def refuse_last(store, reason: str, errors: dict) -> int:
    [row] = store.db.execute("SELECT max(seq) FROM outbox").fetchall()
    store.settle([], [{"q": row[0], "r": reason, "e": errors}])
    return row[0]


def test_waiting_changes_by_kind(envoy, store) -> None:
    new_farmer(store)
    new_session(store)
    page = envoy.get(PAGE).get_data(as_text=True)
    assert 'id="pending-count">2<' in page
    assert "农民: 1" in page and "培训场次: 1" in page


def test_a_refused_edit_links_to_its_record_and_can_be_discarded(envoy, store) -> None:
    farmer_id = new_farmer(store)
    store.settle([s for (s,) in store.db.execute("SELECT seq FROM outbox").fetchall()], [])
    ops.edit_farmer(store, farmer_id, name="李四二")
    seq = refuse_last(store, "姓名不合规 / name not allowed", {"name": "太长 / too long"})
    page = envoy.get(PAGE).get_data(as_text=True)
    assert "姓名不合规" in page and "name not allowed" not in page
    assert "太长" in page and "请按原因修改记录后再同步" in page
    assert f"/envoy/farmers/{farmer_id}/edit" in page
    answer = envoy.post(f"{PAGE}discard/{seq}")
    assert answer.status_code == 302
    assert store.rejected() == []
    assert "没有被拒绝的更改" in envoy.get(PAGE).get_data(as_text=True)


def test_a_refused_checkin_says_to_discard_it(envoy, store) -> None:
    session_id = new_session(store)
    store.checkin(session_id, new_farmer(store), "roster", store.best_now_iso())
    refuse_last(store, "这场培训不是你的 / not your session", {"session_id": "not yours"})
    page = envoy.get(PAGE).get_data(as_text=True)
    assert "请放弃这条更改" in page


def test_discarding_something_not_refused_is_a_clear_404(envoy, store) -> None:
    new_farmer(store)
    [(seq,)] = store.db.execute("SELECT seq FROM outbox").fetchall()
    answer = envoy.post(f"{PAGE}discard/{seq}")
    assert answer.status_code == 404 and "没有这条被拒绝的更改" in answer.get_data(as_text=True)
    assert store.counts()["pending"] == 1


def test_held_changes_are_shown(envoy, store) -> None:
    store.note_held(
        [
            {
                "q": 7,
                "k": p.ATTENDANCE,
                "i": "a" * 36,
                "w": p.SESSION,
                "wi": "b" * 36,
                "t": "2026-11-20T01:00:00Z",
            }
        ],
        1,
    )
    page = envoy.get(PAGE).get_data(as_text=True)
    assert "等待培训场次 bbbbbbbb 到达服务器" in page


def test_sync_with_no_server_says_so(envoy, store, monkeypatch) -> None:
    store.set("server_url", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setattr(
        outbox, "PAGE_SYNC_OPTIONS", {"timeout": 2.0, "retries": 1, "backoff": 0.01}
    )
    new_farmer(store)
    answer = envoy.post(PAGE)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 502 and "无法同步" in page and "无法连接服务器" in page
    assert store.counts()["pending"] == 1


def test_sync_page_needs_the_pin(client, store) -> None:
    assert client.get(PAGE).location.startswith("/login")
    assert client.post(PAGE).location.startswith("/login")
    assert json.dumps(store.counts()) == "{}"


def test_sync_with_no_signal_from_htmx_says_nothing_was_lost(envoy, store, monkeypatch) -> None:
    """htmx swaps only 2xx answers: the failure comes back as a 200 fragment it shows."""
    store.set("server_url", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setattr(
        outbox, "PAGE_SYNC_OPTIONS", {"timeout": 2.0, "retries": 0, "backoff": 0.01}
    )
    new_farmer(store)
    new_session(store)
    answer = envoy.post(PAGE, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and 'id="sync-progress"' in answer.get_data(as_text=True)
    page = finished(envoy)
    assert 'id="sync-failed"' in page
    assert "没有丢失任何数据" in page and "2 条更改仍保存在本机" in page
    assert "农民: 1" in page and "有信号" in page
    assert store.counts()["pending"] == 2
    envoy.set_cookie("lang", "en")
    envoy.post(PAGE, headers={"HX-Request": "true"})
    assert "Nothing was lost" in finished(envoy)


def finished(envoy, seconds: float = 20) -> str:
    """Poll the sync's progress as the page does until it ends; its last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = envoy.get(f"{PAGE}progress")
        assert answer.status_code == 200
        page = answer.get_data(as_text=True)
        if 'id="sync-progress"' not in page:
            return page
        time.sleep(0.05)
    raise AssertionError("the sync did not end")
