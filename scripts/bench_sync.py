"""scripts/bench sync: sync speed, bytes and memory against a floor measured in the same run."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import requests  # noqa: E402
from netshape import Proxy, Shape  # noqa: E402

from shared import protocol as p  # noqa: E402

DATA = ROOT / "tests" / "data"
ENVOY = "张三"
VILLAGES = ("530102001001", "530102001002")
METHODS = ("roster", "qr_self", "card_scan")
KINDS = (p.FARMER, p.SESSION, p.ATTENDANCE)
MB = 1024 * 1024

# Goals from issue 3, "Measured".
GOAL_RATIO = 1 / 3
GOAL_BYTES_PER_ATTENDANCE = 40
GOAL_NOOP_REQUESTS = 1
GOAL_NOOP_BYTES = 1024
GOAL_PEAK_MB = 150

# The shaped link: 30 kbit/s each way, 600 ms round trip, 5% of exchanges cut.
SHAPED_RATE = 30_000 / 8
SHAPED_RTT = 0.6
SHAPED_DROP = 0.05


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {seconds}s")


def vm_hwm_mb(pid: int | str = "self") -> float:
    """Peak resident memory of a live process, from the kernel's own high-water mark."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


@contextmanager
def server_process(
    db_path: str, workdir: str, root: Path = ROOT, wait: float = 30
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The real server (waitress) on a real SQLite file, in its own process (from `root`'s code)."""
    port = free_port()
    logfile = open(os.path.join(workdir, f"server-{port}.log"), "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "run", "--port", str(port)],
        env={**os.environ, "TIANJIAN_DB": db_path},
        cwd=root,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/openapi.json", process, wait)
        yield process, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        logfile.close()


def run_worker(args: list[str], timeout: float) -> dict[str, Any]:
    """Run one of this script's worker commands in a fresh process; its last stdout line is JSON."""
    process = subprocess.Popen(
        [sys.executable, __file__, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=None
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"killed": True}
    if process.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed with {process.returncode}")
    return json.loads(out.decode().strip().splitlines()[-1])


# ---------------------------------------------------------------- server side setup


def fresh_server_db(path: str) -> str:
    """A new server database with the demo reference data; returns an enrolment code."""
    from server.plan.target_files import load_targets_file
    from server.reference import load as reference
    from server.store.db import init_db
    from server.sync import devices

    db = init_db(path)
    reference.load_units(db, str(DATA / "units.csv"))
    reference.load_catalogue(db, str(DATA / "catalog.csv"))
    reference.load_envoys(db, str(DATA / "envoys.csv"))
    load_targets_file(db, str(DATA / "targets.yaml"))
    envoy = devices.envoy_by_name(db, ENVOY)
    code = devices.new_enrolment_code(db, envoy["id"], 120)
    db.conn.commit()
    db.close()
    return code


def copy_sqlite(source: str, target: str) -> None:
    """A consistent copy, WAL included, via SQLite's own backup."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


def verify(server_db: str, client_db: str) -> dict[str, Any]:
    """Every record the device made is on the server exactly once; nothing else is."""
    client = sqlite3.connect(client_db)
    server = sqlite3.connect(server_db)
    per_kind: dict[str, dict[str, int]] = {}
    lost = duplicated = 0
    for kind in KINDS:
        expected = {
            row[0] for row in client.execute("SELECT id FROM records WHERE kind = ?", [kind])
        }
        rows = [row[0] for row in server.execute(f"SELECT id FROM [{p.TABLES[kind]}]")]
        present = expected & set(rows)
        kind_lost = len(expected) - len(present)
        kind_dup = len(rows) - len(present)
        per_kind[kind] = {
            "expected": len(expected),
            "present": len(rows),
            "lost": kind_lost,
            "duplicated": kind_dup,
        }
        lost += kind_lost
        duplicated += kind_dup
    held = server.execute("SELECT count(*) FROM held_changes").fetchone()[0]
    outbox = dict(client.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
    client.close()
    server.close()
    return {
        "lost": lost,
        "duplicated": duplicated,
        "held": held,
        "outbox_pending": outbox.get("pending", 0),
        "rejected": outbox.get("rejected", 0),
        "per_kind": per_kind,
    }


# ---------------------------------------------------------------- worker: build


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def cmd_build(args: argparse.Namespace) -> dict[str, Any]:
    """Enrol a fresh device and make its records through FieldStore: real outbox entries."""
    from field_client.store import FieldStore
    from field_client.sync import enrol
    from server.reference.load import catalogue_id

    rng = random.Random(args.seed)
    store = FieldStore(args.db)
    enrol(store, args.url, args.code, "bench device")
    _device, envoy_id = store.identity()
    techs = [
        catalogue_id(p.TECHNOLOGY, "马铃薯脱毒种薯技术"),
        catalogue_id(p.TECHNOLOGY, "玉米高产栽培"),
    ]
    started = time.perf_counter()
    farmer_ids = []
    mobiles = rng.sample(range(10**8), args.farmers)
    for n in range(args.farmers):
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
    for n in range(args.sessions):
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
    per_session, extra = divmod(args.attendances, args.sessions)
    made = 0
    for n, session_id in enumerate(session_ids):
        want = per_session + (1 if n < extra else 0)
        base = session_starts[n][:14]
        for farmer_id in rng.sample(farmer_ids, want):
            at = f"{base}{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"
            _id, new = store.checkin(session_id, farmer_id, rng.choice(METHODS), at)
            made += new
    seconds = time.perf_counter() - started
    store.close()
    return {
        "seconds": round(seconds, 2),
        "records": args.farmers + args.sessions + made,
        "attendances": made,
    }


# ---------------------------------------------------------------- worker: client sync


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


# ---------------------------------------------------------------- worker: floor app


def floor_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Only what cannot be avoided: read the body, gunzip it, parse the JSON, say how many."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size)
    if environ.get("HTTP_CONTENT_ENCODING") == "gzip":
        body = gzip.decompress(body)
    changes = json.loads(body)["changes"] if body else []
    answer = json.dumps({"n": len(changes)}).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
    )
    return [answer]


def cmd_floor_app(args: argparse.Namespace) -> None:
    import waitress

    from shared.gc_tuning import tune_for_long_run

    # Tuned as `server run` tunes the real server, so the ratio compares like with like.
    tune_for_long_run()
    waitress.serve(floor_app, host="127.0.0.1", port=args.port, threads=4, ident="floor")


# ---------------------------------------------------------------- floor


def outbox_entries(client_db: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(client_db)
    conn.row_factory = sqlite3.Row
    entries = [dict(row) for row in conn.execute("SELECT * FROM outbox ORDER BY seq")]
    conn.close()
    return entries


def push_bodies(entries: list[dict[str, Any]]) -> list[bytes]:
    """The gzip'd JSON batches the client sends, cut by count and size the same way it cuts them."""
    from field_client.push_body import encode as _encode

    bodies: list[bytes] = []

    def fit(part: list[dict[str, Any]]) -> None:
        body = _encode(part)
        if len(body) > p.DEFAULT_BATCH_BYTES and len(part) > 1:
            half = len(part) // 2
            fit(part[:half])
            fit(part[half:])
        else:
            bodies.append(body)

    for start in range(0, len(entries), p.DEFAULT_BATCH_CHANGES):
        fit(entries[start : start + p.DEFAULT_BATCH_CHANGES])
    return bodies


def plain_rows(entries: list[dict[str, Any]]) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """The same records as plain rows: an id plus each sent field, lists as JSON text."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_kind.setdefault(entry["kind"], []).append(
            {"id": entry["id"], **json.loads(entry["fields"])}
        )
    tables = {}
    for kind, records in by_kind.items():
        columns = list(dict.fromkeys(name for record in records for name in record))
        rows = [
            tuple(
                json.dumps(v) if isinstance(v, list | dict) else v
                for v in (record.get(c) for c in columns)
            )
            for record in records
        ]
        tables[kind] = (columns, rows)
    return tables


def floor_sqlite(tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]], path: str) -> float:
    """(a) executemany into plain tables in a fresh file, with the server's pragmas."""
    if os.path.exists(path):
        os.remove(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for kind, (columns, _rows) in tables.items():
        names = ", ".join(f"[{c}]" for c in columns if c != "id")
        conn.execute(f"CREATE TABLE [{kind}] (id TEXT PRIMARY KEY, {names})")
    started = time.perf_counter()
    conn.execute("BEGIN")
    for kind, (columns, rows) in tables.items():
        marks = ", ".join("?" * len(columns))
        conn.executemany(f"INSERT INTO [{kind}] ({', '.join(columns)}) VALUES ({marks})", rows)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def floor_post(bodies: list[bytes], url: str) -> float:
    """(b) POST the same gzip'd batches, one after another, to a handler that only parses them."""
    http = requests.Session()
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    started = time.perf_counter()
    for body in bodies:
        response = http.post(url, data=body, headers=headers, timeout=60)
        response.raise_for_status()
        response.json()
    seconds = time.perf_counter() - started
    http.close()
    return seconds


def measure_floor(
    client_db: str, workdir: str, repeat: int, between: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """The floor, `repeat` times; `between(n)` runs after the n-th, so whatever it measures
    sees the same moods of a shared machine as the floor does."""
    entries = outbox_entries(client_db)
    tables = plain_rows(entries)
    bodies = push_bodies(entries)
    port = free_port()
    app = subprocess.Popen([sys.executable, __file__, "_floor-app", "--port", str(port)], cwd=ROOT)
    proxy = Proxy(port).start_in_thread()
    try:
        wait_http(f"http://127.0.0.1:{port}/", app)
        url = f"http://127.0.0.1:{proxy.port}/push"
        sqlite_s, post_s = [], []
        for n in range(repeat):
            sqlite_s.append(floor_sqlite(tables, os.path.join(workdir, f"floor-{n}.db")))
            post_s.append(floor_post(bodies, url))
            if between is not None:
                between(n)
    finally:
        proxy.stop()
        app.terminate()
        app.wait(10)
    a, b = statistics.median(sqlite_s), statistics.median(post_s)
    return {
        "records": len(entries),
        "batches": len(bodies),
        "body_bytes": sum(len(body) for body in bodies),
        "sqlite_s": round(a, 3),
        "post_s": round(b, 3),
        "sqlite_runs": [round(s, 3) for s in sqlite_s],
        "post_runs": [round(s, 3) for s in post_s],
        "floor_records_per_s": round(len(entries) / (a + b)),
    }


# ---------------------------------------------------------------- modes


def build_client(
    workdir: str, farmers: int, sessions: int, attendances: int, seed: int, cap: float
) -> tuple[str, str, dict[str, Any]]:
    """A fresh server database and an enrolled device holding the records, both not yet synced."""
    workdir = tempfile.mkdtemp(dir=workdir)
    server_db = os.path.join(workdir, "server-seed.db")
    client_db = os.path.join(workdir, "client-seed.db")
    code = fresh_server_db(server_db)
    with server_process(server_db, workdir) as (_process, port):
        built = run_worker(
            [
                "_build",
                "--db",
                client_db,
                "--url",
                f"http://127.0.0.1:{port}",
                "--code",
                code,
                "--farmers",
                str(farmers),
                "--sessions",
                str(sessions),
                "--attendances",
                str(attendances),
                "--seed",
                str(seed),
            ],
            timeout=cap,
        )
    if built.get("killed"):
        raise RuntimeError("building the client database passed the time cap")
    return server_db, client_db, built


def sync_through(
    proxy_shape: Shape | None,
    server_db: str,
    client_db: str,
    workdir: str,
    client_args: list[str],
    cap: float,
    noop: bool,
) -> dict[str, Any]:
    """Start the server on the given file, sync the device through a proxy, verify the totals."""
    with server_process(server_db, workdir) as (process, port):
        proxy = Proxy(port, proxy_shape).start_in_thread()
        url = f"http://127.0.0.1:{proxy.port}"
        try:
            before = proxy.counters.snapshot()
            synced = run_worker(
                ["_client", "--db", client_db, "--url", url, "--cap", str(cap), *client_args],
                timeout=cap + 120,
            )
            after = proxy.counters.snapshot()
            result: dict[str, Any] = {
                "sync": synced,
                "wire": _delta(before, after),
                "cut_log": list(proxy.counters.cut_log),
            }
            if noop and not synced.get("killed"):
                again = run_worker(
                    ["_client", "--db", client_db, "--url", url, "--cap", "60", *client_args],
                    timeout=180,
                )
                result["noop"] = again
                result["noop_wire"] = _delta(after, proxy.counters.snapshot())
        finally:
            proxy.stop()
        result["server_peak_mb"] = vm_hwm_mb(process.pid)
    result["verify"] = verify(server_db, client_db)
    return result


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in after}


def goal(
    value: float, target: float, at_least: bool = False, below: bool = False
) -> dict[str, Any]:
    if at_least:
        return {"value": value, "goal": f">= {target:g}", "met": value >= target}
    if below:
        return {"value": value, "goal": f"< {target:g}", "met": value < target}
    return {"value": value, "goal": f"<= {target:g}", "met": value <= target}


def mode_full(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    log(
        f"full: building {args.attendances} attendances, {args.farmers} farmers, "
        f"{args.sessions} sessions"
    )
    server_db, client_db, built = build_client(
        workdir, args.farmers, args.sessions, args.attendances, args.seed, args.cap
    )
    log(f"full: built {built['records']} records in {built['seconds']}s; floor and sync in turn")
    runs: list[dict[str, Any]] = []

    def sync_once(n: int) -> None:
        # Fresh copies each time: every run is a fresh device pushing to a fresh server.
        server_copy, client_copy = (os.path.join(workdir, f"full-{n}-{x}.db") for x in "sc")
        copy_sqlite(server_db, server_copy)
        copy_sqlite(client_db, client_copy)
        # Written out now, so the kernel is not still writing the copies during the sync.
        os.sync()
        runs.append(
            sync_through(
                None,
                server_copy,
                client_copy,
                workdir,
                ["--timeout", "300", "--retries", "2", "--backoff", "0.5"],
                args.cap,
                noop=True,
            )
        )
        log(f"full: run {n + 1}: {runs[-1]['sync'].get('seconds')} s")

    floor = measure_floor(client_db, workdir, args.repeat, between=sync_once)
    log(f"full: floor {floor['floor_records_per_s']} records/s")
    if any(r["sync"].get("killed") for r in runs):
        return {"mode": "full", "capped": True, "cap_s": args.cap, "build": built, "floor": floor}
    # The run whose time is the median speaks for the others; their times are listed too.
    runs.sort(key=lambda r: r["sync"]["seconds"])
    run = runs[len(runs) // 2]
    sync = run["sync"]
    records = built["records"]
    seconds = sync["seconds"]
    records_per_s = round(records / seconds)
    ratio = round(records_per_s / floor["floor_records_per_s"], 3)
    wire = run["wire"]
    bytes_per_attendance = round((wire["up"] + wire["down"]) / built["attendances"], 1)
    noop_wire = run["noop_wire"]
    noop_bytes = noop_wire["up"] + noop_wire["down"]
    noop_requests = run["noop"]["attempts"]
    client_peak = max(max(r["sync"]["peak_mb"], r["noop"]["peak_mb"]) for r in runs)
    server_peak = max(r["server_peak_mb"] for r in runs)
    # Every run must have lost and doubled nothing, not only the one reported.
    checks = {
        key: max(r["verify"][key] for r in runs)
        for key in ("lost", "duplicated", "held", "rejected", "outbox_pending")
    }
    return {
        "mode": "full",
        "records": records,
        "attendances": built["attendances"],
        "build_seconds": built["seconds"],
        "seconds": seconds,
        "sync_runs": sorted(r["sync"]["seconds"] for r in runs),
        "records_per_s": records_per_s,
        "floor_records_per_s": floor["floor_records_per_s"],
        "ratio": ratio,
        "bytes_up": wire["up"],
        "bytes_down": wire["down"],
        "bytes_per_attendance": bytes_per_attendance,
        "requests": sync["attempts"],
        "retries": sync["failures"],
        "noop_requests": noop_requests,
        "noop_bytes": noop_bytes,
        "noop_seconds": run["noop"]["seconds"],
        "client_peak_mb": client_peak,
        "server_peak_mb": server_peak,
        "lost": checks["lost"],
        "duplicated": checks["duplicated"],
        "held": checks["held"],
        "rejected": checks["rejected"],
        "outbox_pending": checks["outbox_pending"],
        "statuses": sync["report"].get("statuses", {}),
        "pulled": sync["report"].get("pulled", 0),
        "floor": floor,
        "goals": {
            "ratio": goal(ratio, round(GOAL_RATIO, 2), at_least=True),
            "bytes_per_attendance": goal(bytes_per_attendance, GOAL_BYTES_PER_ATTENDANCE),
            "noop_requests": goal(noop_requests, GOAL_NOOP_REQUESTS),
            "noop_bytes": goal(noop_bytes, GOAL_NOOP_BYTES, below=True),
            "client_peak_mb": goal(client_peak, GOAL_PEAK_MB),
            "server_peak_mb": goal(server_peak, GOAL_PEAK_MB),
            "lost": goal(checks["lost"], 0),
            "duplicated": goal(checks["duplicated"], 0),
        },
    }


def mode_shaped(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    attendances = args.shaped_changes - args.shaped_farmers - args.shaped_sessions
    deadline = time.monotonic() + args.shaped_cap
    log(f"shaped: building {args.shaped_changes} changes")
    server_db, client_db, built = build_client(
        workdir, args.shaped_farmers, args.shaped_sessions, attendances, args.seed, args.cap
    )
    client_args = ["--timeout", "120", "--retries", "6", "--backoff", "1.0"]
    # The same sync unshaped, on copies of the same files: the bytes and round trips it needs.
    clean_server, clean_client = (os.path.join(workdir, f"clean-{n}.db") for n in ("s", "c"))
    copy_sqlite(server_db, clean_server)
    copy_sqlite(client_db, clean_client)
    clean = sync_through(None, clean_server, clean_client, workdir, client_args, 600, noop=False)
    needed = clean["wire"]["up"] + clean["wire"]["down"]
    round_trips = clean["sync"]["attempts"]
    bytes_bound = needed / SHAPED_RATE
    bound = bytes_bound + round_trips * SHAPED_RTT
    log(f"shaped: clean sync needs {needed} bytes in {round_trips} requests: bound {bound:.1f}s")
    runs = []
    capped = False
    for n in range(args.repeat):
        left = deadline - time.monotonic()
        if left < bound * 1.2:
            capped = True
            log(f"shaped: time cap reached after {n} runs")
            break
        shaped_server, shaped_client = (os.path.join(workdir, f"shaped-{n}-{x}.db") for x in "sc")
        copy_sqlite(server_db, shaped_server)
        copy_sqlite(client_db, shaped_client)
        shape = Shape(SHAPED_RATE, SHAPED_RTT, args.shaped_drop, seed=args.seed + n)
        log(f"shaped: run {n + 1}/{args.repeat} (link seed {args.seed + n}, {left:.0f}s left)")
        run = sync_through(
            shape, shaped_server, shaped_client, workdir, client_args, left, noop=False
        )
        sync = run["sync"]
        if sync.get("killed") or sync.get("capped"):
            capped = True
        entry = {
            "seconds": sync.get("seconds"),
            "requests": sync.get("attempts"),
            "retries": sync.get("failures"),
            "sync_runs": sync.get("runs"),
            "connections": run["wire"]["connections"],
            "exchanges": run["wire"]["exchanges"],
            "cuts": run["wire"]["cuts"],
            "cut_log": run["cut_log"],
            "bytes": run["wire"]["up"] + run["wire"]["down"],
            "lost": run["verify"]["lost"],
            "duplicated": run["verify"]["duplicated"],
            "held": run["verify"]["held"],
            "outbox_pending": run["verify"]["outbox_pending"],
            "killed": bool(sync.get("killed")),
        }
        log(f"shaped: run {n + 1}: {entry}")
        runs.append(entry)
        if capped:
            break
    done = [r for r in runs if r["seconds"] is not None and not r["killed"]]
    seconds = round(statistics.median(r["seconds"] for r in done), 1) if done else None
    return {
        "mode": "shaped",
        "changes": built["records"],
        "link": {
            "kbit_s": SHAPED_RATE * 8 / 1000,
            "rtt_ms": SHAPED_RTT * 1000,
            "cut_share": args.shaped_drop,
        },
        "seconds": seconds,
        "bound_s": round(bound, 1),
        "bytes_bound_s": round(bytes_bound, 1),
        "bound_bytes": needed,
        "bound_round_trips": round_trips,
        "ratio": round(seconds / bound, 2) if seconds else None,
        "requests": statistics.median(r["requests"] for r in done) if done else None,
        "retries": sum(r["retries"] for r in runs),
        "cuts": sum(r["cuts"] for r in runs),
        "lost": sum(r["lost"] for r in runs),
        "duplicated": sum(r["duplicated"] for r in runs),
        "capped": capped,
        "cap_s": args.shaped_cap,
        "runs": runs,
        "clean": {
            "seconds": clean["sync"]["seconds"],
            "lost": clean["verify"]["lost"],
            "duplicated": clean["verify"]["duplicated"],
        },
    }


# ---------------------------------------------------------------- output


def mode_paired(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    """A push of --paired-checkins check-ins with summaries kept and without, in turns."""
    from bench_push_ratio import paired

    seed = os.path.join(tempfile.mkdtemp(dir=workdir), "paired-seed.db")
    log(f"paired: {args.paired_checkins} check-ins, summaries on and off, {args.repeat} runs each")
    return paired(workdir, fresh_server_db(seed), seed, args.paired_checkins, args.repeat)


def print_human(result: dict[str, Any]) -> None:
    if result["mode"] == "paired":
        print(
            f"== paired push of {result['checkins']} check-ins: {result['with_summaries_s']} s "
            f"with summaries, {result['without_summaries_s']} s without, ratio "
            f"{result['push_10k_ratio']} (goal <= 1.3); the push path alone in process "
            f"{result['server_push_ratio']} =="
        )
        return
    if result["mode"] == "full":
        goals = result.get("goals", {})
        print(
            f"== sync, full: {result.get('records')} records "
            f"({result.get('attendances')} attendances) =="
        )
        if result.get("capped"):
            print(f"  stopped at the time cap ({result['cap_s']}s)")
            return
        rows = [
            ("build (not counted)", f"{result['build_seconds']} s", None),
            ("push+pull (median)", f"{result['seconds']} s", None),
            ("records per second", result["records_per_s"], None),
            ("floor records per second", result["floor_records_per_s"], None),
            ("ratio to floor", result["ratio"], goals["ratio"]),
            ("bytes per attendance", result["bytes_per_attendance"], goals["bytes_per_attendance"]),
            ("requests", result["requests"], None),
            ("no-op requests", result["noop_requests"], goals["noop_requests"]),
            ("no-op bytes", result["noop_bytes"], goals["noop_bytes"]),
            ("client peak MB", result["client_peak_mb"], goals["client_peak_mb"]),
            ("server peak MB", result["server_peak_mb"], goals["server_peak_mb"]),
            ("lost", result["lost"], goals["lost"]),
            ("duplicated", result["duplicated"], goals["duplicated"]),
        ]
        for name, value, target in rows:
            tail = (
                f"   goal {target['goal']}: {'met' if target['met'] else 'MISSED'}"
                if target
                else ""
            )
            print(f"  {name:<26}{value!s:>12}{tail}")
        floor = result["floor"]
        print(
            f"  floor: sqlite {floor['sqlite_s']} s + post {floor['post_s']} s "
            f"({floor['batches']} batches, {floor['body_bytes']} bytes), medians of "
            f"{len(floor['sqlite_runs'])}, each followed by a sync "
            f"({', '.join(f'{s} s' for s in result['sync_runs'])})"
        )
    else:
        print(
            f"== sync, shaped: {result['changes']} changes at {result['link']['kbit_s']:g} kbit/s, "
            f"{result['link']['rtt_ms']:g} ms RTT, {result['link']['cut_share']:.0%} cut =="
        )
        print(f"  time (median)             {result['seconds']} s")
        print(
            f"  bound                     {result['bound_s']} s  ({result['bound_bytes']} bytes "
            f"÷ bandwidth = {result['bytes_bound_s']} s, + {result['bound_round_trips']} RTTs)"
        )
        print(f"  ratio to bound            {result['ratio']}")
        print(f"  requests (median)         {result['requests']}")
        print(f"  retries, cuts (all runs)  {result['retries']}, {result['cuts']}")
        print(f"  lost, duplicated          {result['lost']}, {result['duplicated']}")
        if result["capped"]:
            print(f"  stopped at the time cap ({result['cap_s']} s)")


# ---------------------------------------------------------------- entry


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    bench = sub.add_parser("sync", help="Benchmark sync against the floor and on a shaped link.")
    bench.add_argument("--json", action="store_true", help="One JSON object per mode, per line.")
    bench.add_argument(
        "--mode", choices=("full", "shaped", "paired"), default=None, help="Default: all three."
    )
    bench.add_argument("--paired-checkins", type=int, default=10_000)
    bench.add_argument("--seed", type=int, default=20260301)
    bench.add_argument(
        "--repeat", type=int, default=3, help="Floor+sync and shaped runs (medians)."
    )
    bench.add_argument("--attendances", type=int, default=100_000)
    bench.add_argument("--farmers", type=int, default=3_000)
    bench.add_argument("--sessions", type=int, default=100)
    bench.add_argument("--shaped-changes", type=int, default=5_000)
    bench.add_argument("--shaped-farmers", type=int, default=150)
    bench.add_argument("--shaped-sessions", type=int, default=50)
    bench.add_argument("--cap", type=float, default=1800, help="Seconds allowed per full step.")
    bench.add_argument("--shaped-drop", type=float, default=SHAPED_DROP, help="Share cut.")
    bench.add_argument("--shaped-cap", type=float, default=900, help="Seconds for shaped mode.")
    bench.add_argument("--keep", action="store_true", help="Keep the working directory.")

    build = sub.add_parser("_build")
    for name in ("--db", "--url", "--code"):
        build.add_argument(name, required=True)
    for name in ("--farmers", "--sessions", "--attendances", "--seed"):
        build.add_argument(name, type=int, required=True)

    client = sub.add_parser("_client")
    client.add_argument("--db", required=True)
    client.add_argument("--url", required=True)
    client.add_argument("--timeout", type=float, default=60)
    client.add_argument("--retries", type=int, default=4)
    client.add_argument("--backoff", type=float, default=0.5)
    client.add_argument("--cap", type=float, default=900)

    app = sub.add_parser("_floor-app")
    app.add_argument("--port", type=int, required=True)

    args = parser.parse_args(argv)
    if args.command == "_build":
        print(json.dumps(cmd_build(args)))
        return 0
    if args.command == "_client":
        print(json.dumps(cmd_client(args)))
        return 0
    if args.command == "_floor-app":
        cmd_floor_app(args)
        return 0

    shaped_attendances = args.shaped_changes - args.shaped_farmers - args.shaped_sessions
    for sessions, farmers, attendances in (
        (args.sessions, args.farmers, args.attendances),
        (args.shaped_sessions, args.shaped_farmers, shaped_attendances),
    ):
        if attendances < 0 or -(-attendances // sessions) > farmers:
            parser.error(
                f"{attendances} attendances do not fit {sessions} sessions x {farmers} farmers"
            )

    workdir = tempfile.mkdtemp(prefix="tianjian-bench-")
    try:
        modes = {"full": mode_full, "shaped": mode_shaped, "paired": mode_paired}
        for mode in [args.mode] if args.mode else list(modes):
            result = modes[mode](args, workdir)
            if args.json:
                print(json.dumps(result, ensure_ascii=False), flush=True)
            else:
                print_human(result)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
