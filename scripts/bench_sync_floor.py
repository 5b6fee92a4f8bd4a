"""scripts/bench sync's floor: the same records written plainly to SQLite and posted to a handler
that only parses them, the least any sync of them could cost on this machine."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import requests
from bench_sync_procs import ROOT, SCRIPT, free_port, wait_http
from netshape import Proxy

from shared import protocol as p


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
    app = subprocess.Popen(
        [sys.executable, str(SCRIPT), "_floor-app", "--port", str(port)], cwd=ROOT
    )
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
