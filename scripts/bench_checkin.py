"""scripts/bench checkin: farmers checking themselves in from their phones against a real serve.

200 farmers (by default) arriving over 60 seconds, on 20 phones at once on loopback, each doing
the whole flow a phone does: open the check-in page from the poster's QR address, register with
the form, see the answer. Each farmer's phone has its own loopback address (127.0.x.y, the
client socket bound to it), as phones on a hotspot do, so the device's per-address limits see
separate phones; the limits stay on, the device-wide one on new registrations per minute set
(as the envoy may) to the bench's arrival rate, which is above a real crowd's. `--seconds 0` sends them all at once (the server saturated: latency
is then queueing, 20 clients over the requests the machine can serve per second).
Prints latency (p50/p99 over every request), errors, check-ins stored against expected, the
farmer page's weight with everything it loads, and the serving process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import requests  # noqa: E402
from bench_sync_procs import free_port, vm_hwm_mb, wait_http  # noqa: E402

from field_client import checkin_limits, pin, qr_checkin  # noqa: E402
from field_client.store import FieldStore  # noqa: E402
from shared import protocol as p  # noqa: E402
from tests.e2e.field_serve import phone_at  # noqa: E402

DEVICE = "b0b0b0b0-0000-4000-8000-000000000001"
ENVOY = "e0e0e0e0-0000-4000-8000-00000000b001"
VILLAGES = [(f"53010200100{i}", f"{name}村") for i, name in enumerate("东西南北中", 1)]
PIN = "24681357"

# Goals from issue 12, "Measured".
GOAL_P99_MS = 100
GOAL_PAGE_BYTES = 50 * 1024

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# What a page loads besides itself: none on the farmer pages, but counted if ever there.
LOADS = re.compile(r'<(?:link[^>]+href|script[^>]+src|img[^>]+src)="([^"]+)"')


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def phone_address(number: int) -> str:
    """Farmer `number`'s phone on loopback: 127.0.1.1, 127.0.1.2, ... (250 to a block)."""
    return f"127.0.{1 + number // 250}.{1 + number % 250}"


def new_per_minute(farmers: int, seconds: float) -> int:
    """The device's limit on new registrations a minute that lets the bench's arrivals in."""
    return max(
        checkin_limits.NEW_PER_MINUTE, farmers if seconds < 60 else int(farmers * 60 / seconds) + 1
    )


def build_store(path: str, per_minute: int) -> tuple[str, str]:
    """An enrolled device with its villages and one session open now; returns the QR path."""
    store = FieldStore(path)
    store.save_enrolment(
        "http://bureau.invalid",
        {"device_id": DEVICE, "token": "bench", "envoy": {"id": ENVOY, "name": "张三"}},
        0,
    )
    units = [
        {"code": code, "name": name, "parent_code": "530102001", "level": "village"}
        for code, name in VILLAGES
    ]
    store.apply_pull([{"k": p.UNIT, "r": unit} for unit in units], 1)
    pin.set_pin(store, PIN)
    checkin_limits.set_new_per_minute(store, per_minute)
    session_id = store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "马铃薯晚疫病防治培训",
            "unit_code": VILLAGES[0][0],
            "place": "东村村委会",
            "starts_at": store.best_now_iso(),
            "lead_envoy_id": ENVOY,
        },
    )
    from field_client import local

    local.prepare(store)
    ticket = qr_checkin.poster(store, session_id)
    store.close()
    return session_id, f"/c/{ticket.code}/{ticket.token}"


class Flows:
    """Farmers' phones: each a fresh session (cookies), timed request by request."""

    def __init__(self, base: str, path: str) -> None:
        self.base, self.path = base, path
        self.latencies: list[float] = []
        self.flows: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def _timed(self, call: Any, *args: Any, **kwargs: Any) -> requests.Response:
        started = time.perf_counter()
        response = call(*args, timeout=30, **kwargs)
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies.append(elapsed)
        return response

    def farmer(self, number: int, due: float) -> None:
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        started = time.perf_counter()
        phone = phone_at(phone_address(number))
        try:
            page = self._timed(phone.get, self.base + self.path)
            if page.status_code != 200:
                raise RuntimeError(f"page {page.status_code}")
            token = CSRF.search(page.text)
            if token is None:
                raise RuntimeError("no form on the page")
            code, _name = VILLAGES[number % len(VILLAGES)]
            answer = self._timed(
                phone.post,
                self.base + self.path,
                data={
                    "csrf_token": token.group(1),
                    "action": "new",
                    "name": f"农民{number:03d}",
                    "mobile": f"139{number:08d}",
                    "village_code": code,
                    "gender": "female" if number % 2 else "male",
                    "birth_year": str(1950 + number % 50),
                    "consent": "1",
                },
            )
            if answer.status_code != 200 or 'data-answer="green"' not in answer.text:
                raise RuntimeError(f"answer {answer.status_code}: {answer.text[-200:]}")
        except Exception as exc:  # every failure is counted, none stops the run
            with self.lock:
                self.errors.append(f"farmer {number}: {exc}")
        finally:
            phone.close()
        with self.lock:
            self.flows.append((time.perf_counter() - started) * 1000)


def page_weight(base: str, path: str) -> int:
    """The farmer page with everything it loads, as a phone would fetch it."""
    page = requests.get(base + path, timeout=30)
    total = len(page.content)
    for url in LOADS.findall(page.text):
        total += len(requests.get(base + url, timeout=30).content)
    return total


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def stored_counts(db_path: str, session_id: str) -> dict[str, int]:
    store = FieldStore(db_path)
    try:
        attendances = qr_checkin.session_attendances(store, session_id)
        farmers = [f for f in store.records(p.FARMER) if f["name"].startswith("农民")]
        outbox = store.db.execute(
            "SELECT count(*), count(DISTINCT id) FROM outbox WHERE kind = ?", [p.ATTENDANCE]
        ).fetchone()
    finally:
        store.close()
    return {
        "stored": len(attendances),
        "farmers_stored": len(farmers),
        "distinct_farmers": len({f["mobile"] for f in farmers}),
        "outbox_checkins": outbox[0],
        "outbox_distinct": outbox[1],
    }


def run(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    db_path = os.path.join(workdir, "field.db")
    per_minute = new_per_minute(args.farmers, args.seconds)
    session_id, path = build_store(db_path, per_minute)
    port = free_port()
    logfile = open(os.path.join(workdir, "serve.log"), "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "field_client",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--threads",
            str(args.threads),
        ],
        env={**os.environ, "TIANJIAN_FIELD_DB": db_path},
        cwd=ROOT,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/c", process)
        weight = page_weight(base, path)
        flows = Flows(base, path)
        log(
            f"{args.farmers} farmers over {args.seconds} s, {args.clients} at most at once, "
            f"against {base}{path}"
        )
        started = time.perf_counter()
        # Farmer i arrives at i/n of the window; a phone free then takes them.
        gap = args.seconds / args.farmers
        with ThreadPoolExecutor(args.clients) as pool:
            list(
                pool.map(
                    flows.farmer,
                    range(args.farmers),
                    [started + i * gap for i in range(args.farmers)],
                )
            )
        seconds = time.perf_counter() - started
        peak = vm_hwm_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
        logfile.close()
    counts = stored_counts(db_path, session_id)
    return {
        "bench": "checkin",
        "farmers": args.farmers,
        "clients": args.clients,
        "arrival_seconds": args.seconds,
        "phone_addresses": len({phone_address(n) for n in range(args.farmers)}),
        "new_per_address_per_hour": checkin_limits.NEW_PER_ADDRESS_PER_HOUR,
        "new_per_minute": per_minute,
        "requests": len(flows.latencies),
        "seconds": round(seconds, 2),
        "p50_ms": round(statistics.median(flows.latencies), 1) if flows.latencies else None,
        "p99_ms": round(percentile(flows.latencies, 0.99), 1),
        "max_ms": round(max(flows.latencies), 1) if flows.latencies else None,
        "flow_p50_ms": round(statistics.median(flows.flows), 1) if flows.flows else None,
        "flow_p99_ms": round(percentile(flows.flows, 0.99), 1),
        "errors": len(flows.errors),
        "first_errors": flows.errors[:3],
        "expected": args.farmers,
        **counts,
        "page_bytes": weight,
        "server_peak_mb": peak,
        "goals": {
            "p99_ms": GOAL_P99_MS,
            "page_bytes": GOAL_PAGE_BYTES,
            "met": bool(
                percentile(flows.latencies, 0.99) < GOAL_P99_MS
                and not flows.errors
                and counts["stored"] == args.farmers == counts["outbox_distinct"]
                and counts["outbox_checkins"] == args.farmers
                and weight < GOAL_PAGE_BYTES
            ),
        },
    }


def print_human(result: dict[str, Any]) -> None:
    print("check-in from farmers' phones (scripts/bench checkin)")
    print(
        f"  farmers, phones, arriving  {result['farmers']}, {result['clients']} at once,"
        f" over {result['arrival_seconds']} s"
    )
    print(f"  requests, wall time        {result['requests']}, {result['seconds']} s")
    print(
        f"  latency p50 / p99 / max    {result['p50_ms']} / {result['p99_ms']} / {result['max_ms']} ms"
        f"   (goal p99 < {GOAL_P99_MS} ms)"
    )
    print(f"  whole flow p50 / p99       {result['flow_p50_ms']} / {result['flow_p99_ms']} ms")
    print(f"  errors                     {result['errors']}")
    for error in result["first_errors"]:
        print(f"    {error}")
    print(
        f"  check-ins stored/expected  {result['stored']} / {result['expected']}"
        f"   (outbox {result['outbox_checkins']}, farmers {result['farmers_stored']})"
    )
    print(f"  farmer page, all it loads  {result['page_bytes']} bytes   (goal < {GOAL_PAGE_BYTES})")
    print(f"  serve peak memory          {result['server_peak_mb']} MB")
    print(f"  goals met                  {result['goals']['met']}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench checkin", description=__doc__)
    parser.add_argument("--json", action="store_true", help="One JSON object.")
    parser.add_argument("--farmers", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20, help="Phones at once.")
    parser.add_argument(
        "--seconds", type=float, default=60, help="Window the farmers arrive in (0: all at once)."
    )
    parser.add_argument("--threads", type=int, default=8, help="serve's waitress threads.")
    parser.add_argument("--keep", action="store_true", help="Keep the working directory.")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="tianjian-bench-checkin-")
    try:
        result = run(args, workdir)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(result, ensure_ascii=False), flush=True)
    else:
        print_human(result)
    return 0 if result["goals"]["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
