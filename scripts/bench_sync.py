"""scripts/bench sync: sync speed, bytes and memory against a floor measured in the same run;
on PostgreSQL, a push against SQLite's and many devices' no-op pulls (bench_sync_pg.py).

The jobs live beside this file: bench_sync_procs (the server and worker processes),
bench_sync_device (the field client's side), bench_sync_floor (the floor), bench_sync_pg and
bench_sync_noop (the modes on either engine), bench_sync_output (the report for people).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from bench_sync_device import cmd_build, cmd_client  # noqa: E402
from bench_sync_floor import cmd_floor_app, measure_floor  # noqa: E402
from bench_sync_output import print_human  # noqa: E402
from bench_sync_procs import log, run_worker, server_process, vm_hwm_mb  # noqa: E402
from netshape import Proxy, Shape  # noqa: E402

from shared import protocol as p  # noqa: E402

# server_process is imported from here by bench_push_ratio.py.
__all__ = ["fresh_server_db", "main", "server_process"]

DATA = ROOT / "tests" / "data"
ENVOY = "张三"
KINDS = (p.FARMER, p.SESSION, p.ATTENDANCE)

# Goals from issue 3, "Measured".
GOAL_RATIO = 1 / 3
GOAL_BYTES_PER_ATTENDANCE = 40
GOAL_NOOP_REQUESTS = 1
GOAL_NOOP_BYTES = 1024
GOAL_PEAK_MB = 150

# The share of the shaped link's exchanges cut (bench_sync_shaped.py has the link).
SHAPED_DROP = 0.05


# ---------------------------------------------------------------- server side setup


def fresh_server_db(path: str) -> str:
    """A new server database with the demo reference data; returns an enrolment code."""
    load_reference(path)
    return enrolment_codes(path, [ENVOY])[0]


def load_reference(target: str) -> None:
    """The demo units, catalogue, envoys and targets, into a new server database (a SQLite file
    or a PostgreSQL URL)."""
    from server.plan.target_files import load_targets_file
    from server.reference import load as reference
    from server.store.db import init_db

    db = init_db(target)
    reference.load_units(db, str(DATA / "units.csv"))
    reference.load_catalogue(db, str(DATA / "catalog.csv"))
    reference.load_envoys(db, str(DATA / "envoys.csv"))
    load_targets_file(db, str(DATA / "targets.yaml"))
    db.conn.commit()
    db.close()


def enrolment_codes(target: str, envoys: list[str]) -> list[str]:
    """One enrolment code for each envoy named (a name may come more than once)."""
    from server.store.db import init_db
    from server.sync import devices

    db = init_db(target)
    ids = {name: devices.envoy_by_name(db, name)["id"] for name in set(envoys)}
    codes = [devices.new_enrolment_code(db, ids[name], 120) for name in envoys]
    db.conn.commit()
    db.close()
    return codes


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
    """A sync of --shaped-changes changes over the shaped link, --repeat times (medians)."""
    from bench_sync_shaped import shaped

    return shaped(args, workdir)


def mode_paired(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    """A push of --paired-checkins check-ins with summaries kept and without, in turns."""
    from bench_push_ratio import paired

    seed = os.path.join(tempfile.mkdtemp(dir=workdir), "paired-seed.db")
    log(f"paired: {args.paired_checkins} check-ins, summaries on and off, {args.repeat} runs each")
    return paired(workdir, fresh_server_db(seed), seed, args.paired_checkins, args.repeat)


def mode_push(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    """A push of --push-checkins check-ins on --engine (both: each in turn, and their ratio)."""
    from bench_sync_pg import mode_push as push

    seed = os.path.join(tempfile.mkdtemp(dir=workdir), "push-seed.db")
    return push(args, workdir, fresh_server_db(seed), seed)


def mode_noop_pulls(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    """--noop-devices devices pulling at once, with nothing new, through two server processes."""
    from bench_sync_noop import mode_noop_pulls as noop_pulls

    return noop_pulls(args, workdir)


MODES = {
    "full": mode_full,
    "shaped": mode_shaped,
    "paired": mode_paired,
    "push": mode_push,
    "noop-pulls": mode_noop_pulls,
}
# Without --mode: the county default's own figures, all on SQLite.
DEFAULT_MODES = ("full", "shaped", "paired")
# The modes that run on either engine.
ENGINE_MODES = ("push", "noop-pulls")


# ---------------------------------------------------------------- entry


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    bench = sub.add_parser("sync", help="Benchmark sync against the floor and on a shaped link.")
    bench.add_argument("--json", action="store_true", help="One JSON object per mode, per line.")
    bench.add_argument(
        "--mode", choices=list(MODES), default=None, help="Default: full, shaped and paired."
    )
    bench.add_argument(
        "--engine",
        choices=("sqlite", "postgresql", "both"),
        default=None,
        help="push: sqlite (default), postgresql, or both in turns with their ratio; "
        "noop-pulls: postgresql (default) or sqlite. The other modes run on SQLite.",
    )
    bench.add_argument("--push-checkins", type=int, default=10_000)
    bench.add_argument("--noop-devices", type=int, default=50)
    bench.add_argument("--noop-rounds", type=int, default=20, help="Rounds of no-op pulls.")
    bench.add_argument("--noop-period", type=float, default=2.0, help="Seconds between rounds.")
    bench.add_argument("--noop-client-procs", type=int, default=5, help="Processes of devices.")
    bench.add_argument("--noop-farmers", type=int, default=10, help="Farmers per device.")
    bench.add_argument("--noop-sessions", type=int, default=2, help="Sessions per device.")
    bench.add_argument("--noop-attendances", type=int, default=20, help="Check-ins per device.")
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

    if args.engine and args.mode not in ENGINE_MODES:
        parser.error(f"--engine is for --mode {' or '.join(ENGINE_MODES)}")
    if args.engine == "both" and args.mode != "push":
        parser.error("--engine both is for --mode push")
    shaped_attendances = args.shaped_changes - args.shaped_farmers - args.shaped_sessions
    for sessions, farmers, attendances in (
        (args.sessions, args.farmers, args.attendances),
        (args.shaped_sessions, args.shaped_farmers, shaped_attendances),
        (args.noop_sessions, args.noop_farmers, args.noop_attendances),
    ):
        if attendances < 0 or -(-attendances // sessions) > farmers:
            parser.error(
                f"{attendances} attendances do not fit {sessions} sessions x {farmers} farmers"
            )

    workdir = tempfile.mkdtemp(prefix="tianjian-bench-")
    try:
        for mode in [args.mode] if args.mode else DEFAULT_MODES:
            result = MODES[mode](args, workdir)
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
