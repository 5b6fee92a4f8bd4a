"""Property: random work on three devices, synced in random orders with random drops, converges."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from field_client.store import FieldStore
from field_client.sync import SyncClient, SyncFailed, enrol
from server import create_app
from server.plan.report import build_report
from server.store.db import init_db
from shared import protocol as p
from tests import pg
from tests.e2e.conftest import device_records, server_records
from tests.e2e.wsgi_transport import AFTER, BEFORE, session_for
from tests.helpers import VILLAGE_EAST, enrolment_code, load_demo_reference

DEVICES = 3
ENVOYS = ["张三", "张三", "李梅"]  # two devices of one envoy, and a colleague in the same township

device = st.integers(0, DEVICES - 1)
index = st.integers(0, 50)
operation = st.one_of(
    st.tuples(st.just("farmer"), device),
    st.tuples(st.just("edit"), device, index, st.integers(1940, 2000)),
    st.tuples(st.just("delete"), device, index),
    st.tuples(st.just("session"), device),
    st.tuples(st.just("checkin"), device, index, index),
    st.tuples(st.just("uncheck"), device, index),
    st.tuples(st.just("sync"), device, st.sampled_from([None, BEFORE, AFTER]), st.integers(1, 4)),
)


class Replica:
    def __init__(self, app: Any, path: str, envoy: str, db_path: str) -> None:
        self.fault: tuple[str | None, int] = (None, 0)
        self.requests_seen = 0
        self.http = session_for(app, self._interrupt)
        self.store = FieldStore(path)
        enrol(self.store, "http://app", enrolment_code(db_path, envoy), "prop", session=self.http)

    def _interrupt(self, _request: requests.PreparedRequest) -> str | None:
        self.requests_seen += 1
        kind, nth = self.fault
        return kind if kind and self.requests_seen == nth else None

    def sync(self, fault: str | None = None, nth: int = 0) -> None:
        self.fault, self.requests_seen = (fault, nth), 0
        client = SyncClient(
            self.store, session=self.http, retries=0, backoff=0, batch_changes=3, page_size=4
        )
        try:
            client.sync()
        except SyncFailed:
            assert fault is not None  # only a dropped request may end a run early

    def pick(self, kind: str, n: int) -> str | None:
        records = self.store.records(kind)
        return records[n % len(records)]["id"] if records else None


def apply(replicas: list[Replica], op: tuple[Any, ...]) -> None:
    name, who = op[0], replicas[op[1]]
    store = who.store
    if name == "farmer":
        store.create(p.FARMER, {"name": "农户", "village_code": VILLAGE_EAST})
    elif name == "edit" and (farmer := who.pick(p.FARMER, op[2])):
        store.update(p.FARMER, farmer, {"birth_year": op[3]})
    elif name == "delete" and (farmer := who.pick(p.FARMER, op[2])):
        store.delete(p.FARMER, farmer)
    elif name == "session":
        store.create(
            p.SESSION,
            {
                "kind": "village_training",
                "title": "培训",
                "unit_code": VILLAGE_EAST,
                "starts_at": "2026-05-01T01:00:00Z",
                "lead_envoy_id": store.get("envoy_id"),
            },
        )
    elif name == "checkin":
        session, farmer = who.pick(p.SESSION, op[2]), who.pick(p.FARMER, op[3])
        if session and farmer:
            store.checkin(session, farmer, "qr_self", "2026-05-01T01:30:00Z")
    elif name == "uncheck" and (attendance := who.pick(p.ATTENDANCE, op[2])):
        store.delete(p.ATTENDANCE, attendance)
    elif name == "sync":
        who.sync(op[2], op[3])


def live_person_times(store: FieldStore) -> int:
    sessions = {s["id"] for s in store.records(p.SESSION)}
    farmers = {f["id"] for f in store.records(p.FARMER)}
    return sum(
        1
        for a in store.records(p.ATTENDANCE)
        if a["session_id"] in sessions and a["farmer_id"] in farmers
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=40))
def test_replicas_converge_whatever_the_order_and_drops(
    pg_cluster: pg.Cluster | None, ops: list[tuple[Any, ...]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        # A fresh server database per example: a file in the folder, or one on PostgreSQL.
        db_path = pg_cluster.database() if pg_cluster else str(Path(folder) / "server.db")
        try:
            check_example(ops, folder, db_path)
        finally:
            if pg_cluster:
                pg_cluster.drop(db_path)


def check_example(ops: list[tuple[Any, ...]], folder: str, db_path: str) -> None:
    """One example: three replicas on a fresh server database, synced to rest, agree."""
    load_demo_reference(db_path)
    app = create_app({"DATABASE": db_path, "TESTING": True, "MEDIA_DIR": f"{folder}/media"})
    replicas = [
        Replica(app, str(Path(folder) / f"device{n}.db"), ENVOYS[n], db_path)
        for n in range(DEVICES)
    ]
    for op in ops:
        apply(replicas, op)
    for _round in range(2):
        for replica in replicas:
            replica.sync()
    db = init_db(db_path)
    report = {line["key"]: line for line in build_report(db, 2026)["indicators"]}
    db.close()
    for replica in replicas:
        assert replica.store.counts().get("pending", 0) == 0
        expected = server_records(db_path, viewer=replica.store.get("envoy_id"))
        assert device_records(replica.store) == expected
        assert live_person_times(replica.store) == report["trainee_attendances"]["actual"]
