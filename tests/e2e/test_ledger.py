"""A real field client with a refused record, a duplicate farmer and unsynced records syncs
against a real server process; the ledger served over HTTP explains every difference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from field_client.store import FieldStore
from field_client.sync import SyncFailed
from shared import protocol as p
from tests.e2e.faults import CUT_BEFORE_SERVER, FaultProxy, fail_once
from tests.e2e.test_sync_devices import add_farmer, add_session
from tests.helpers import LiveServer, enrolled_store, fast_client, report_token


def own_live(store: FieldStore, kind: str) -> int:
    envoy = store.get("envoy_id")
    return sum(1 for record in store.records(kind) if record["envoy_id"] == envoy)


def ledger_of(server: LiveServer, envoy_id: str) -> dict[str, Any]:
    response = requests.get(
        f"{server.url}/api/v1/reconciliation/2026/ledger/{envoy_id}",
        headers=report_token(server.db_path),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def kind_of(device: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(entry for entry in device["kinds"] if entry["kind"] == kind)


def line(counts: dict[str, Any], key: str) -> dict[str, Any]:
    return next(entry for entry in counts["lines"] if entry["key"] == key)


def test_the_ledger_explains_a_real_devices_differences(
    live_server: LiveServer, tmp_path: Path
) -> None:
    store = enrolled_store(live_server, str(tmp_path / "field.db"), "张三")
    envoy_id = store.get("envoy_id") or ""
    farmers = [add_farmer(store, f"农户{n}") for n in range(3)]
    add_farmer(store, "李四", "13800138000")
    add_farmer(store, "李四", "13800138000")  # the same person again: merged on arrival
    bad = store.create(p.FARMER, {"name": "外村人", "village_code": "999999999999"})
    session = add_session(store, "马铃薯培训")
    for farmer in farmers[:2]:
        store.checkin(session, farmer, "roster", "2026-06-01T01:20:00Z")
    report = fast_client(store).sync()
    assert report.statuses.get(p.REJECTED) == 1

    # Back in the village: more work, and a sync whose link drops after the first batch.
    newcomers = [add_farmer(store, f"新农户{n}") for n in range(3)]
    store.delete(p.FARMER, farmers[2])
    store.checkin(session, newcomers[0], "roster", "2026-06-01T01:30:00Z")
    proxy = FaultProxy(live_server.port, fail_once(CUT_BEFORE_SERVER, "POST", "/sync/push", 2))
    try:
        store.set("server_url", proxy.url)
        store.db.conn.commit()
        with pytest.raises(SyncFailed):
            fast_client(store, retries=0, batch_changes=1).sync()
    finally:
        proxy.close()
    assert store.counts()["pending"] == 4  # of five changes, the first went

    found = ledger_of(live_server, envoy_id)
    [device] = found["devices"]
    assert device["reported"] and device["waiting"] == 4
    farmers_line = kind_of(device, p.FARMER)
    # The device holds its live farmers and the refused one; the server counts people.
    assert farmers_line["live"] == own_live(store, p.FARMER) == 7
    assert farmers_line["refused_kept"] == 1
    assert (farmers_line["device"], farmers_line["server"]) == (8, 5)
    assert line(farmers_line, "waiting")["count"] == 1  # two new unsent, one deletion unsent
    assert line(farmers_line, "merged")["count"] == 1
    refused = line(farmers_line, "refused")
    assert refused["count"] == 1
    [record] = refused["records"]
    assert record["record_id"] == bad and "village_code" in record["detail"]
    assert farmers_line["balanced"] and farmers_line["unexplained"] == 0
    checkins = kind_of(device, p.ATTENDANCE)
    assert (checkins["device"], checkins["server"]) == (3, 2)
    assert line(checkins, "waiting")["count"] == 1
    assert found["balanced"], [
        (k["kind"], k["unexplained"]) for k in device["kinds"] if not k["balanced"]
    ]

    # Synced in full: nothing waits, and the ledger still balances.
    store.set("server_url", live_server.url)
    store.db.conn.commit()
    fast_client(store).sync()
    found = ledger_of(live_server, envoy_id)
    [device] = found["devices"]
    assert device["waiting"] == 0 and found["balanced"]
    farmers_line = kind_of(device, p.FARMER)
    assert (farmers_line["device"], farmers_line["server"]) == (8, 6)
    assert line(farmers_line, "waiting")["count"] == 0
