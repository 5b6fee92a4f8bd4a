"""scripts/bench sync --mode shaped: a device's sync over a slow, lossy link against the time the
bytes and round trips it needs could take on that link."""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from bench_sync import build_client, copy_sqlite, sync_through
from bench_sync_procs import log
from netshape import Shape

# The shaped link: 30 kbit/s each way, 600 ms round trip (and bench_sync's SHAPED_DROP cut).
SHAPED_RATE = 30_000 / 8
SHAPED_RTT = 0.6


def shaped(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
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
