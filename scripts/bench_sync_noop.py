"""scripts/bench sync --mode noop-pulls: many devices asking for news at once when there is none.

Two `tianjian-server run` processes (waitress) share one database, PostgreSQL unless --engine
says sqlite. --noop-devices field clients are enrolled, half on each process, make a few records
and sync them, then sync until each has everything. Then, in --noop-rounds rounds started on the
clock (--noop-period seconds apart), every device pulls at the same moment, with nothing new to
pull: the request its own last no-op sync sent (same cursor, headers and device report), on its
own kept-alive connection, the device time header brought up to date. The devices run as threads
spread over --noop-client-procs processes, so the clients' interpreter locks do not queue the
requests; the time of each pull is measured round the HTTP exchange only.

Run as a script, this module is the device-side worker: `build SPEC` and `pulls SPEC`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).parent)]

import requests
from bench_sync_procs import ROOT, children_of, cpu_seconds, log, server_process, vm_hwm_mb

from shared import protocol as p

# Envoys of one township: each device's pull brings the others' records.
ENVOYS = ("张三", "李梅")
GOAL_P99_MS = 200
PULL_PATH = "/api/v1/sync/pull"
# PostgreSQL's count of every statement each backend ran, loaded into the bench's cluster.
STATEMENTS = "pg_stat_statements"
_COUNTED = (
    f"SELECT coalesce(sum(calls), 0) FROM {STATEMENTS} WHERE dbid = (SELECT oid FROM "
    f"pg_database WHERE datname = current_database()) AND query NOT LIKE '%{STATEMENTS}%'"
)
_BUSIEST = (
    f"SELECT calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) FROM {STATEMENTS} "
    f"WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query "
    f"NOT LIKE '%{STATEMENTS}%' ORDER BY calls DESC LIMIT 6"
)


class TimingSession(requests.Session):
    """A device's session remembering its last pull request, to send it again as it was."""

    def __init__(self) -> None:
        super().__init__()
        self.last_pull: dict[str, Any] | None = None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if method == "GET" and url.endswith(PULL_PATH):
            self.last_pull = {
                "url": url,
                "params": dict(kwargs.get("params") or {}),
                "headers": dict(kwargs.get("headers") or {}),
            }
        return super().request(method, url, *args, **kwargs)


@dataclass
class Device:
    """One enrolled device of a worker: its store's file, server and what its pulls took."""

    db: str
    url: str
    code: str
    seed: int
    times_ms: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _sync(db: str, session: TimingSession) -> dict[str, Any]:
    from field_client.store import FieldStore
    from field_client.sync import SyncClient

    store = FieldStore(db)
    try:
        return (
            SyncClient(store, session=session, timeout=120, retries=3, backoff=0.5).sync().as_dict()
        )
    finally:
        store.close()


def _build(device: Device, args: dict[str, Any]) -> None:
    from bench_sync_device import make_records

    from field_client.store import FieldStore
    from field_client.sync import enrol

    try:
        store = FieldStore(device.db)
        enrol(store, device.url, device.code, f"bench device {device.seed}")
        make_records(
            store,
            random.Random(device.seed),
            args["farmers"],
            args["sessions"],
            args["attendances"],
        )
        store.close()
        _sync(device.db, TimingSession())
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops the bench
        device.errors.append(f"build: {exc!r}"[:300])


def _pulls(
    device: Device, ready: threading.Event, start: threading.Event, at: list[float], rounds: int,
    period: float,
) -> None:  # fmt: skip
    """Catch up, learn the no-op request, then send it once a round, on the clock."""
    session = TimingSession()
    request = None
    try:
        _sync(device.db, session)  # everything the others pushed
        if _sync(device.db, session).get("pulled"):
            device.errors.append("a second sync still pulled records")
        request = session.last_pull
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops the bench
        device.errors.append(f"catch-up: {exc!r}"[:300])
    finally:
        ready.set()
    start.wait()
    if request is None:
        return
    for n in range(rounds):
        due = at[0] + n * period
        time.sleep(max(0.0, due - time.time()))
        device.lag_ms.append((time.time() - due) * 1000)
        headers = {**request["headers"], p.HEADER_DEVICE_TIME: str(int(time.time() * 1000))}
        began = time.perf_counter()
        try:
            answer = session.get(
                request["url"], params=request["params"], headers=headers, timeout=60
            )
            page = answer.json()
            device.times_ms.append((time.perf_counter() - began) * 1000)
            if answer.status_code != 200 or page["records"] or page["more"]:
                device.errors.append(f"{answer.status_code}: {str(page)[:200]}")
        except (requests.RequestException, ValueError, KeyError) as exc:
            device.errors.append(str(exc)[:200])


def worker(job: str, spec_path: str) -> dict[str, Any]:
    """Run `job` (build or pulls) for every device of the spec, each on its own thread."""
    spec = json.loads(Path(spec_path).read_text())
    devices = [Device(**d) for d in spec["devices"]]
    if job == "build":
        threads = [threading.Thread(target=_build, args=(d, spec)) for d in devices]
        for thread in threads:
            thread.start()
    else:
        readies = [threading.Event() for _ in devices]
        start = threading.Event()
        at = [0.0]
        threads = [
            threading.Thread(
                target=_pulls, args=(d, ready, start, at, spec["rounds"], spec["period"])
            )
            for d, ready in zip(devices, readies, strict=True)
        ]
        for thread in threads:
            thread.start()
        for ready in readies:
            ready.wait()
        # Every device caught up: the parent answers with the first round's time once all
        # workers are ready, so that every device's first pull falls at the same moment.
        print("ready", flush=True)
        at[0] = float(sys.stdin.readline())
        start.set()
    cpu = time.process_time()
    for thread in threads:
        thread.join()
    return {
        "cpu_s": time.process_time() - cpu,
        "times_ms": [t for d in devices for t in d.times_ms],
        "lag_ms": [t for d in devices for t in d.lag_ms],
        "errors": [e for d in devices for e in d.errors],
    }


# ---------------------------------------------------------------- the mode, in the parent


def _spec(path: str, devices: list[dict[str, Any]], **rest: Any) -> str:
    Path(path).write_text(json.dumps({"devices": devices, **rest}))
    return path


def _run_workers(
    job: str, specs: list[str], timeout: float, on_ready: Callable[[], None] | None = None
) -> list[dict[str, Any]]:
    """Start one worker per spec; for pulls, wait until all are ready (then `on_ready`), then
    set the clock."""
    script = str(Path(__file__).resolve())
    procs = [
        subprocess.Popen(
            [sys.executable, script, job, spec],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for spec in specs
    ]
    try:
        if job == "pulls":
            for proc, spec in zip(procs, specs, strict=True):
                assert proc.stdout is not None
                if proc.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"a pulls worker stopped before it was ready ({spec})")
            if on_ready is not None:
                on_ready()
            first = time.time() + 1.0
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(f"{first}\n")
                proc.stdin.flush()
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"a {job} worker failed with {proc.returncode}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _per(seconds: float, pulls: list[float]) -> float | None:
    return round(seconds * 1000 / len(pulls), 2) if pulls else None


class StatementCount:
    """Statements the database ran (pg_stat_statements, every backend, utility statements
    such as BEGIN included) between `start()` and `read()`; None where it cannot be counted
    (SQLite, or the extension is not installed)."""

    def __init__(self, cluster: Any, target: str) -> None:
        self.url = target if cluster is not None and cluster.has_library(STATEMENTS) else None
        if self.url is not None:
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {STATEMENTS}")

    def _run(self, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        assert self.url is not None
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    def start(self) -> None:
        if self.url is not None:
            self._run(f"SELECT {STATEMENTS}_reset()")

    def read(self, pulls: int) -> tuple[float | None, list[str]]:
        """Statements per pull, and the most run ones (calls per pull, their text)."""
        if self.url is None or not pulls:
            return None, []
        total = int(self._run(_COUNTED)[0][0])
        busiest = [f"{calls / pulls:.2f} {text}" for calls, text in self._run(_BUSIEST)]
        return round(total / pulls, 2), busiest


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def mode_noop_pulls(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    from bench_sync import enrolment_codes, load_reference
    from bench_sync_pg import POSTGRESQL, pg_cluster

    engine = args.engine or POSTGRESQL
    count, procs = args.noop_devices, max(1, min(args.noop_client_procs, args.noop_devices))
    log(f"noop-pulls: {count} devices, 2 server processes on {engine}, {args.noop_rounds} rounds")
    load = [round(x, 2) for x in os.getloadavg()]
    with pg_cluster(engine == POSTGRESQL, (STATEMENTS,)) as cluster, ExitStack() as servers:
        target = cluster.database() if cluster else os.path.join(workdir, "noop-server.db")
        load_reference(target)
        statements = StatementCount(cluster, target)
        codes = enrolment_codes(target, [ENVOYS[n % len(ENVOYS)] for n in range(count)])
        processes = [servers.enter_context(server_process(target, workdir)) for _ in range(2)]
        urls = [f"http://127.0.0.1:{port}" for _process, port in processes]
        devices = [
            {
                "db": os.path.join(workdir, f"noop-device-{n}.db"),
                "url": urls[n % len(urls)],
                "code": codes[n],
                "seed": args.seed + n,
            }
            for n in range(count)
        ]
        shares = [devices[k::procs] for k in range(procs)]
        made = {
            "farmers": args.noop_farmers,
            "sessions": args.noop_sessions,
            "attendances": args.noop_attendances,
        }
        started = time.perf_counter()
        built = _run_workers(
            "build",
            [
                _spec(os.path.join(workdir, f"build-{k}.json"), s, **made)
                for k, s in enumerate(shares)
            ],
            timeout=args.cap,
        )
        failed = [e for r in built for e in r["errors"]]
        if failed:
            raise RuntimeError(f"noop-pulls: {len(failed)} devices failed to build: {failed[:3]}")
        log(f"noop-pulls: devices built and synced in {time.perf_counter() - started:.1f} s")
        timing = {"rounds": args.noop_rounds, "period": args.noop_period}
        # Processor time of the app processes (and PostgreSQL's backends) over the rounds.
        watched = [process.pid for process, _port in processes]
        postmaster = (
            int(Path(cluster.dir, "data", "postmaster.pid").read_text().split()[0])
            if cluster is not None
            else None
        )

        def database_pids() -> list[int]:
            return children_of(postmaster) if postmaster else []

        cpu: dict[str, float] = {}

        def used() -> dict[str, float]:
            return {
                "server": sum(cpu_seconds(pid) for pid in watched),
                "database": sum(cpu_seconds(pid) for pid in database_pids()),
            }

        def ready() -> None:
            cpu.update(used())
            statements.start()

        results = _run_workers(
            "pulls",
            [
                _spec(os.path.join(workdir, f"pulls-{k}.json"), s, **timing)
                for k, s in enumerate(shares)
            ],
            timeout=args.cap,
            on_ready=ready,
        )
        after = used()
        pulled = sum(len(r["times_ms"]) for r in results)
        per_pull, busiest = statements.read(pulled)
        peaks = [vm_hwm_mb(process.pid) for process, _port in processes]
    times = [t for r in results for t in r["times_ms"]]
    errors = [e for r in results for e in r["errors"]]
    p99 = percentile(times, 0.99) if times else None
    server_ms = _per(after["server"] - cpu["server"], times)
    database_ms = _per(after["database"] - cpu["database"], times)
    cores = os.cpu_count() or 1
    result = {
        "mode": "noop-pulls",
        "engine": engine,
        "processes": len(processes),
        "devices": count,
        "client_procs": procs,
        "rounds": args.noop_rounds,
        "pulls": len(times),
        "noop_pull_p50_ms": round(statistics.median(times), 1) if times else None,
        "noop_pull_p99_ms": p99,
        "noop_pull_max_ms": round(max(times), 1) if times else None,
        # What load bends less than wall-clock times: the app processes' processor time per
        # pull (both processes, /proc), PostgreSQL's, and the statements each pull ran.
        "noop_pull_cpu_ms": server_ms,
        "noop_pull_db_cpu_ms": database_ms,
        "noop_pull_statements": per_pull,
        "busiest_statements": busiest,
        # The server side's processor time for one burst (every device pulling once) spread over
        # this machine's cores: the wall-clock floor of a burst's slowest pull on quiet cores
        # with the devices elsewhere.
        "burst_cpu_floor_ms": (
            round(count * (server_ms + (database_ms or 0)) / cores, 1)
            if server_ms is not None
            else None
        ),
        "start_lag_p99_ms": percentile([t for r in results for t in r["lag_ms"]], 0.99),
        "errors": len(errors),
        "error_samples": errors[:3],
        "server_peak_mb": peaks,
        # Processor milliseconds per pull: what a burst of them asks of the machine's cores.
        "cpu_ms_per_pull": {
            "servers": server_ms,
            "database": database_ms,
            "clients": _per(sum(r["cpu_s"] for r in results), times),
        },
        "load_avg": [load, [round(x, 2) for x in os.getloadavg()]],
        "goal": {
            "value": p99,
            "goal": f"< {GOAL_P99_MS}",
            "met": p99 is not None and p99 < GOAL_P99_MS,
        },
    }
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="noop-pulls device worker")
    parser.add_argument("job", choices=("build", "pulls"))
    parser.add_argument("spec")
    cli = parser.parse_args()
    print(json.dumps(worker(cli.job, cli.spec)), flush=True)
