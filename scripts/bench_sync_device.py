"""scripts/bench sync's device side: a field client making its records, and syncing them."""

from __future__ import annotations

import argparse
import random
import time
import uuid
from typing import TYPE_CHECKING, Any

import requests
from bench_sync_procs import vm_hwm_mb

from shared import protocol as p

if TYPE_CHECKING:
    from field_client.store import FieldStore

VILLAGES = ("530102001001", "530102001002")
METHODS = ("roster", "qr_self", "card_scan")


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def cmd_build(args: argparse.Namespace) -> dict[str, Any]:
    """Enrol a fresh device and make its records through FieldStore: real outbox entries."""
    from field_client.store import FieldStore
    from field_client.sync import enrol

    store = FieldStore(args.db)
    enrol(store, args.url, args.code, "bench device")
    started = time.perf_counter()
    made = make_records(
        store, random.Random(args.seed), args.farmers, args.sessions, args.attendances
    )
    seconds = time.perf_counter() - started
    store.close()
    return {
        "seconds": round(seconds, 2),
        "records": args.farmers + args.sessions + made,
        "attendances": made,
    }


def make_records(
    store: FieldStore, rng: random.Random, farmers: int, sessions: int, attendances: int
) -> int:
    """Farmers, sessions led by the device's envoy, and check-ins spread over the sessions, as
    the envoy would make them; how many check-ins were new."""
    from server.reference.load import catalogue_id

    _device, envoy_id = store.identity()
    techs = [
        catalogue_id(p.TECHNOLOGY, "马铃薯脱毒种薯技术"),
        catalogue_id(p.TECHNOLOGY, "玉米高产栽培"),
    ]
    farmer_ids = []
    mobiles = rng.sample(range(10**8), farmers)
    for n in range(farmers):
        values = {
            "name": f"农户{n:05d}",
            "village_code": rng.choice(VILLAGES),
            "mobile": f"139{mobiles[n]:08d}",
            "gender": rng.choice(("female", "male")),
            "birth_year": rng.randint(1950, 2005),
        }
        farmer_ids.append(store.create(p.FARMER, values, seeded_uuid(rng)))
    session_starts = []
    session_ids = []
    for n in range(sessions):
        day, hour = divmod(n, 3)
        starts_at = f"2026-{3 + day // 28:02d}-{1 + day % 28:02d}T{1 + hour * 2:02d}:00:00Z"
        values = {
            "kind": "village_training",
            "title": f"马铃薯种植技术培训 第{n + 1}期",
            "unit_code": rng.choice(VILLAGES),
            "place": "村委会",
            "starts_at": starts_at,
            "lead_envoy_id": envoy_id,
            "technology_ids": [rng.choice(techs)],
        }
        session_ids.append(store.create(p.SESSION, values, seeded_uuid(rng)))
        session_starts.append(starts_at)
    per_session, extra = divmod(attendances, sessions)
    made = 0
    for n, session_id in enumerate(session_ids):
        want = per_session + (1 if n < extra else 0)
        base = session_starts[n][:14]
        for farmer_id in rng.sample(farmer_ids, want):
            at = f"{base}{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"
            _id, new = store.checkin(session_id, farmer_id, rng.choice(METHODS), at)
            made += new
    return made


class CountingSession(requests.Session):
    """The client's own session, counting attempts and failures so retries can be reported."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0
        self.failures = 0

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.attempts += 1
        try:
            response = super().request(*args, **kwargs)
        except requests.RequestException:
            self.failures += 1
            raise
        if response.status_code >= 500:
            self.failures += 1
        return response


def cmd_client(args: argparse.Namespace) -> dict[str, Any]:
    """Sync until done (a failed run is run again, as an envoy would) or the time cap passes."""
    from field_client.store import FieldStore
    from field_client.sync import SyncClient, SyncFailed

    store = FieldStore(args.db)
    store.set("server_url", args.url)
    store.db.conn.commit()
    http = CountingSession()
    started = time.perf_counter()
    runs = 0
    capped = False
    errors: list[str] = []
    totals: dict[str, Any] = {}
    while True:
        runs += 1
        client = SyncClient(
            store, session=http, timeout=args.timeout, retries=args.retries, backoff=args.backoff
        )
        try:
            report = client.sync()
        except SyncFailed as exc:
            errors.append(str(exc)[:200])
            report = client.report
            _add(totals, report.as_dict())
            if time.perf_counter() - started > args.cap:
                capped = True
                break
            continue
        _add(totals, report.as_dict())
        break
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "report": totals,
        "runs": runs,
        "attempts": http.attempts,
        "failures": http.failures,
        "capped": capped,
        "errors": errors[-3:],
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child started by a
        # big parent would report the parent's size.
        "peak_mb": vm_hwm_mb(),
    }


def _add(totals: dict[str, Any], report: dict[str, Any]) -> None:
    for key, value in report.items():
        if isinstance(value, dict):
            inner = totals.setdefault(key, {})
            for name, count in value.items():
                inner[name] = inner.get(name, 0) + count
        elif isinstance(value, bool):
            totals[key] = totals.get(key, False) or value
        else:
            totals[key] = totals.get(key, 0) + value
