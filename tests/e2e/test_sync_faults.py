"""Sync over a line that drops: cut before and after the server commits, mid-page, repeated."""

from __future__ import annotations

import gzip
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from field_client.store import FieldStore
from field_client.sync import FIRST_BATCH_CHANGES, SyncFailed
from shared import protocol as p
from tests.e2e.conftest import count_rows, device_records, server_records
from tests.e2e.faults import (
    CUT_AFTER_SERVER,
    CUT_BEFORE_SERVER,
    CUT_IN_HEAD,
    CUT_MID_RESPONSE,
    REPEAT,
    FaultProxy,
    fail_once,
)
from tests.helpers import TECH_POTATO, VILLAGE_EAST, LiveServer, enrolled_store, fast_client


def record_work(store: FieldStore, farmers: int = 12, sessions: int = 3) -> None:
    farmer_ids = [
        store.create(
            p.FARMER,
            {"name": f"农户{n}", "village_code": VILLAGE_EAST, "mobile": f"1380000{n:04d}"},
        )
        for n in range(farmers)
    ]
    for s in range(sessions):
        session_id = store.create(
            p.SESSION,
            {
                "kind": "village_training",
                "title": f"培训{s}",
                "unit_code": VILLAGE_EAST,
                "starts_at": f"2026-05-{s + 1:02d}T01:00:00Z",
                "lead_envoy_id": store.get("envoy_id"),
                "technology_ids": [TECH_POTATO],
            },
        )
        for farmer_id in farmer_ids:
            store.checkin(session_id, farmer_id, "qr_self", f"2026-05-{s + 1:02d}T01:30:00Z")


def assert_converged(server: LiveServer, *stores: FieldStore) -> None:
    for store in stores:
        assert store.counts().get("pending", 0) == 0
        expected = server_records(server.db_path, viewer=store.get("envoy_id"))
        assert device_records(store) == expected


@pytest.mark.parametrize(
    ("action", "method", "path"),
    [
        (CUT_BEFORE_SERVER, "POST", "/sync/push"),
        (CUT_AFTER_SERVER, "POST", "/sync/push"),
        (CUT_MID_RESPONSE, "POST", "/sync/push"),
        (REPEAT, "POST", "/sync/push"),
        (CUT_AFTER_SERVER, "GET", "/sync/pull"),
        (CUT_MID_RESPONSE, "GET", "/sync/pull"),
        (REPEAT, "GET", "/sync/pull"),
        (CUT_IN_HEAD, "POST", "/sync/push"),
        (CUT_IN_HEAD, "GET", "/sync/pull"),
    ],
)
def test_a_broken_request_is_healed_within_the_run(
    live_server: LiveServer, tmp_path: Path, action: str, method: str, path: str
) -> None:
    store = enrolled_store(live_server, str(tmp_path / "a.db"), "张三")
    other = enrolled_store(live_server, str(tmp_path / "b.db"), "李梅")
    record_work(store)
    proxy = FaultProxy(live_server.port, fail_once(action, method, path, nth=2))
    for replica in (store, other):
        replica.set("server_url", proxy.url)
        replica.db.conn.commit()
    fast_client(store, batch_changes=10).sync()
    fast_client(other, page_size=7).sync()
    assert any(entry[2] == action for entry in proxy.log)
    assert count_rows(live_server.db_path, "attendances") == 36
    assert count_rows(live_server.db_path, "farmers") == 12
    assert_converged(live_server, store, other)


def test_an_interrupted_run_is_healed_by_the_next_run(
    live_server: LiveServer, tmp_path: Path
) -> None:
    store = enrolled_store(live_server, str(tmp_path / "a.db"), "张三")
    record_work(store)
    # Every push after the first is answered into the void: the run gives up part way.
    proxy = FaultProxy(
        live_server.port,
        lambda m, path, n: CUT_AFTER_SERVER if "push" in path and n > 1 else "pass",
    )
    store.set("server_url", proxy.url)
    store.db.conn.commit()
    with pytest.raises(SyncFailed):
        fast_client(store, batch_changes=10, retries=1).sync()
    assert store.counts().get("pending", 0) > 0
    proxy.decide = lambda m, path, n: "pass"
    report = fast_client(store, batch_changes=10).sync()
    assert report.statuses.get(p.DUPLICATE, 0) > 0
    assert count_rows(live_server.db_path, "attendances") == 36
    assert_converged(live_server, store)


def test_a_pull_cut_mid_page_then_server_restart(live_server: LiveServer, tmp_path: Path) -> None:
    writer = enrolled_store(live_server, str(tmp_path / "a.db"), "张三")
    reader = enrolled_store(live_server, str(tmp_path / "b.db"), "李梅")
    record_work(writer)
    fast_client(writer).sync()
    proxy = FaultProxy(
        live_server.port, lambda m, path, n: CUT_MID_RESPONSE if "pull" in path else "pass"
    )
    reader.set("server_url", proxy.url)
    reader.db.conn.commit()
    with pytest.raises(SyncFailed):
        fast_client(reader, page_size=5, retries=1).sync()
    cursor_before = int(reader.get("cursor") or 0)
    live_server.restart()
    proxy.decide = lambda m, path, n: "pass"
    fast_client(reader, page_size=5).sync()
    assert int(reader.get("cursor") or 0) > cursor_before
    assert_converged(live_server, writer, reader)


def test_a_killed_client_loses_nothing(live_server: LiveServer, tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    store = enrolled_store(live_server, path, "张三")
    record_work(store, farmers=5, sessions=2)
    # The process dies without closing anything: reopening the file finds every change queued.
    reopened = FieldStore(path)
    assert reopened.counts()["pending"] == 5 + 2 + 10
    fast_client(reopened).sync()
    assert count_rows(live_server.db_path, "attendances") == 10
    assert_converged(live_server, reopened)


def test_after_a_drop_the_rest_of_the_run_sends_smaller_batches(
    live_server: LiveServer, tmp_path: Path
) -> None:
    store = enrolled_store(live_server, str(tmp_path / "a.db"), "张三")
    record_work(store, farmers=40, sessions=5)
    proxy = FaultProxy(live_server.port, fail_once(CUT_AFTER_SERVER, "POST", "/sync/push"))
    store.set("server_url", proxy.url)
    store.db.conn.commit()
    client = fast_client(store, batch_bytes=64 * 1024)
    client.sync()
    assert client.batch_bytes == 32 * 1024
    assert count_rows(live_server.db_path, "attendances") == 200
    assert_converged(live_server, store)


def test_devices_syncing_at_the_same_moment(live_server: LiveServer, tmp_path: Path) -> None:
    """Waitress serves each device on its own thread; pushes must queue, not collide."""
    from concurrent.futures import ThreadPoolExecutor

    stores = [
        enrolled_store(live_server, str(tmp_path / f"d{n}.db"), name)
        for n, name in enumerate(["张三", "张三", "李梅", "李梅"])
    ]
    for store in stores:
        record_work(store, farmers=15, sessions=2)
    with ThreadPoolExecutor(len(stores)) as pool:
        list(pool.map(lambda s: fast_client(s, batch_changes=7).sync(), stores))
    assert count_rows(live_server.db_path, "attendances") == 4 * 30
    for store in stores:
        fast_client(store).sync()
    assert_converged(live_server, *stores)


class InFlight:
    """Wraps a requests session: the most push requests that were on their way at once, and
    how many changes each push carried."""

    def __init__(self, session: requests.Session) -> None:
        self.session = session
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.sizes: list[int] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if not url.endswith("/sync/push"):
            return self.session.request(method, url, **kwargs)
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.sizes.append(len(json.loads(gzip.decompress(kwargs["data"]))["changes"]))
        try:
            # Long enough that a second batch, were it sent before this answer, would be seen.
            time.sleep(0.05)
            return self.session.request(method, url, **kwargs)
        finally:
            with self.lock:
                self.now -= 1


def test_the_first_batch_is_small_and_the_next_are_full(
    live_server: LiveServer, tmp_path: Path
) -> None:
    store = enrolled_store(live_server, str(tmp_path / "a.db"), "张三")
    record_work(store, farmers=400, sessions=4)
    watched = InFlight(requests.Session())
    fast_client(store, session=watched).sync()  # type: ignore[arg-type]
    # One batch on its way at a time, so a device's changes arrive in the order it made them.
    assert watched.most == 1
    assert watched.sizes[0] == FIRST_BATCH_CHANGES
    assert sum(watched.sizes) == 400 + 4 + 1600
    assert max(watched.sizes[1:]) > FIRST_BATCH_CHANGES
