"""`scripts/bench sync`'s paired mode: a push of N check-ins with summaries kept (setting
SUMMARIES) and without, on copies of one database, in turns, in the same sitting.

`push_10k_ratio` times the push as a device makes it: gzip'd JSON posted to the real server
(waitress, its own process) on a real SQLite file. `server_push_ratio` times only the push
path in process (server.sync.apply_push), where the summaries' share is largest: HTTP and JSON
cost the same either way; `server_push_cpu_ratio` the same in processor time, which a busy
machine changes less than the wall clock (the collector tuned for it as `server run` tunes it). The check-ins go to sessions already counted (the steady state:
their county is not waiting to be recomputed), in pushes of at most MAX_BATCH_CHANGES.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import requests

from server import settings
from server.store.db import init_db
from server.summaries import maintain
from server.sync import apply_push, devices
from shared import protocol as p
from shared.clock import wall_ms
from shared.gc_tuning import fewer_collections
from shared.ids import new_id

SESSIONS = 100
VILLAGE = "530102001001"


class _Device:
    """An enrolled device numbering and stamping its changes."""

    def __init__(self, db_path: str, code: str) -> None:
        db = init_db(db_path)
        self.token = devices.enrol_device(db, code, "bench")["token"]
        db.close()
        self.seq = 0

    def change(self, kind: str, fields: dict[str, Any], record_id: str | None) -> dict[str, Any]:
        self.seq += 1
        change: dict[str, Any] = {
            "q": self.seq,
            "k": kind,
            "h": f"{wall_ms():013d}.{self.seq % 100_000:05d}",
            "f": fields,
        }
        if record_id:
            change["i"] = record_id
        return change


def _push(db_path: str, token: str, changes: list[dict[str, Any]]) -> tuple[float, float]:
    """Seconds the push took, by the wall clock and in processor time."""
    db = init_db(db_path)
    device = devices.authenticate(db, token)
    batch = int(settings.default("MAX_BATCH_CHANGES"))
    with fewer_collections():
        started, used = time.perf_counter(), time.process_time()
        for start in range(0, len(changes), batch):
            apply_push(db, device, changes[start : start + batch])
        seconds, cpu = time.perf_counter() - started, time.process_time() - used
    db.close()
    return seconds, cpu


def _push_http(db_path: str, token: str, changes: list[dict[str, Any]], workdir: str) -> float:
    from bench_sync import server_process

    batch = int(settings.default("MAX_BATCH_CHANGES"))
    bodies = [
        gzip.compress(json.dumps({"changes": changes[start : start + batch]}).encode())
        for start in range(0, len(changes), batch)
    ]
    headers = {
        p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION),
        "Authorization": f"Bearer {token}",
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    with server_process(db_path, workdir) as (_process, port), requests.Session() as session:
        url = f"http://127.0.0.1:{port}/api/v1/sync/push"
        started = time.perf_counter()
        for body in bodies:
            answer = session.post(url, data=body, headers=headers, timeout=600)
            answer.raise_for_status()
        return time.perf_counter() - started


def prepared(
    workdir: str, code: str, seed_db: str, checkins: int
) -> tuple[str, list[dict[str, Any]]]:
    """The seed database with sessions and farmers pushed and counted; the check-ins to time."""
    device = _Device(seed_db, code)
    farmers = max(1, -(-checkins // SESSIONS))
    sessions = [new_id() for _ in range(min(SESSIONS, checkins))]
    people = [new_id() for _ in range(farmers)]
    setup = [
        device.change(
            p.SESSION,
            {
                "kind": "village_training",
                "title": "基准培训",
                "unit_code": VILLAGE,
                "starts_at": f"2026-{1 + n % 12:02d}-10T02:00:00Z",
                "lead_envoy_id": _envoy_id(seed_db),
                "technology_ids": [],
            },
            session,
        )
        for n, session in enumerate(sessions)
    ]
    setup += [
        device.change(p.FARMER, {"name": f"农户{n}", "village_code": VILLAGE}, farmer)
        for n, farmer in enumerate(people)
    ]
    _push(seed_db, device.token, setup)
    db = init_db(seed_db)
    maintain.refresh(db)  # the sessions' county counted, as after any read
    db.close()
    timed = [
        device.change(
            p.ATTENDANCE,
            {
                "session_id": sessions[n % len(sessions)],
                "farmer_id": people[n // len(sessions)],
                "checked_in_at": "2026-05-10T02:15:00Z",
                "method": "qr_self",
            },
            None,
        )
        for n in range(checkins)
    ]
    return device.token, timed


def _envoy_id(db_path: str) -> str:
    db = init_db(db_path)
    envoy = devices.envoy_by_name(db, "张三")["id"]
    db.close()
    return str(envoy)


def paired(workdir: str, code: str, seed_db: str, checkins: int, repeat: int) -> dict[str, Any]:
    """Time the push with summaries on and off in turns; the ratio of the medians."""
    token, changes = prepared(workdir, code, seed_db, checkins)
    env = settings.BY_NAME["SUMMARIES"].env
    times: dict[str, list[float]] = {
        name: [] for name in ("on", "off", "server_on", "server_off", "cpu_on", "cpu_off")
    }
    saved = os.environ.get(env)
    try:
        for run in range(repeat):
            for side in ("on", "off") if run % 2 == 0 else ("off", "on"):
                os.environ[env] = "1" if side == "on" else "0"
                # A fresh copy each time (a used one keeps its write-ahead log beside it).
                copy = str(Path(workdir) / f"paired-{run}-{side}-http.db")
                shutil.copyfile(seed_db, copy)
                times[side].append(round(_push_http(copy, token, changes, workdir), 3))
                copy = str(Path(workdir) / f"paired-{run}-{side}-server.db")
                shutil.copyfile(seed_db, copy)
                seconds, cpu = _push(copy, token, changes)
                times[f"server_{side}"].append(round(seconds, 3))
                times[f"cpu_{side}"].append(round(cpu, 3))
    finally:
        if saved is None:
            os.environ.pop(env, None)
        else:
            os.environ[env] = saved
    median = {side: statistics.median(values) for side, values in times.items()}
    ratio = round(median["on"] / median["off"], 3)
    return {
        "mode": "paired",
        "checkins": checkins,
        "with_summaries_s": median["on"],
        "without_summaries_s": median["off"],
        "runs": times,
        "push_10k_ratio": ratio,
        "server_push_ratio": round(median["server_on"] / median["server_off"], 3),
        "server_push_cpu_ratio": round(median["cpu_on"] / median["cpu_off"], 3),
        "goal": {"value": ratio, "goal": "<= 1.3", "met": ratio <= 1.3},
    }
