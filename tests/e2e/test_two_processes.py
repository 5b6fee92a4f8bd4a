"""Two `tianjian-server run` processes on one database, eight devices syncing through both at
once over links that drop and repeat requests: nothing lost, nothing doubled, every replica
converged. On PostgreSQL (TIANJIAN_TEST_DB=postgresql) this is the province's set-up, several app
processes whose writers the database serialises (docs/sync.md, "Commit order"); on SQLite the
same holds for two processes sharing one file."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from field_client.store import FieldStore
from field_client.sync import SyncFailed
from tests.e2e.conftest import count_rows
from tests.e2e.faults import CUT_AFTER_SERVER, CUT_MID_RESPONSE, PASS, REPEAT, FaultProxy
from tests.e2e.test_sync_faults import assert_converged, record_work
from tests.helpers import LiveServer, enrolled_store, fast_client, load_demo_reference

DEVICES = 8
ENVOYS = ["张三", "李梅"]
FARMERS, SESSIONS = 6, 2


def flaky(method: str, path: str, n: int) -> str:
    """Every few requests through a proxy, a push whose answer is lost or that arrives twice,
    or a pull cut mid-answer: the faults that could double or lose a change."""
    if method == "POST" and "/sync/push" in path:
        return CUT_AFTER_SERVER if n % 5 == 2 else REPEAT if n % 7 == 3 else PASS
    if method == "GET" and "/sync/pull" in path and n % 6 == 4:
        return CUT_MID_RESPONSE
    return PASS


@pytest.fixture
def two_servers(db_path: str) -> Iterator[list[LiveServer]]:
    load_demo_reference(db_path)
    servers = [LiveServer(db_path).start(), LiveServer(db_path).start()]
    yield servers
    for server in servers:
        server.stop()


def sync_until_done(store: FieldStore, url: str) -> None:
    """Sync through `url`; a dropped request ends a run early, so run again, as a device does."""
    store.set("server_url", url)
    for _attempt in range(6):
        try:
            fast_client(store, batch_changes=5, retries=0).sync()
            return
        except SyncFailed:
            continue
    raise AssertionError("a device could not finish its sync in six runs")


def test_eight_devices_through_two_processes_lose_and_double_nothing(
    two_servers: list[LiveServer], tmp_path: Path
) -> None:
    proxies = [FaultProxy(server.port, flaky) for server in two_servers]
    try:
        stores = [
            enrolled_store(two_servers[n % 2], str(tmp_path / f"d{n}.db"), ENVOYS[n % 2])
            for n in range(DEVICES)
        ]
        for store in stores:
            record_work(store, farmers=FARMERS, sessions=SESSIONS)

        # Every device syncs at once, half through each process; then each through the other.
        for turn in range(2):
            urls = [proxies[(n + turn) % 2].url for n in range(DEVICES)]
            with ThreadPoolExecutor(DEVICES) as pool:
                list(pool.map(sync_until_done, stores, urls))

        db_path = two_servers[0].db_path
        assert count_rows(db_path, "attendances") == DEVICES * FARMERS * SESSIONS
        assert count_rows(db_path, "farmers") == DEVICES * FARMERS
        assert count_rows(db_path, "sessions") == DEVICES * SESSIONS
        # A last quiet run brings every device what the others sent after its last pull.
        for n, store in enumerate(stores):
            sync_until_done(store, two_servers[n % 2].url)
        assert_converged(two_servers[0], *stores)
    finally:
        for proxy in proxies:
            proxy.close()
