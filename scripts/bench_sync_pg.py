"""scripts/bench sync --mode push: a push of N check-ins on SQLite and on PostgreSQL, in turns.

Both engines start from the same records: a SQLite seed is made as bench_push_ratio makes its
own (sessions and farmers pushed and counted, the check-ins still to send), and copied into
PostgreSQL with `tianjian-server copy`'s code, device token and cursors intact. Each run pushes
the check-ins as a device does, gzip'd JSON batches posted to the real server (waitress, its own
process) on a fresh copy of the seed: a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on
PostgreSQL. The PostgreSQL cluster is a throwaway one on a Unix socket (tests/pg.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from bench_sync_procs import log

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
ENGINES = (SQLITE, POSTGRESQL)


def pg_cluster(wanted: bool, preload: tuple[str, ...] = ()) -> AbstractContextManager[Any]:
    """A throwaway PostgreSQL cluster when `wanted` (else None), stopped and removed after,
    with the server libraries `preload` names where installed."""
    from tests.pg import cluster_if

    return cluster_if(wanted, preload)


def engines_of(choice: str) -> list[str]:
    return list(ENGINES) if choice == "both" else [choice]


def copy_pg(cluster: Any, template: str, name: str) -> str:
    """A new database on the cluster holding what the database at `template` holds."""
    from server.store.database import dispose_engine

    dispose_engine(template)  # a template copied from must have no connections
    source = template.split("/")[3].split("?")[0]
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {source}")
    return str(cluster.url(name))


def checkins_on(target: str) -> int:
    from server.store.db import init_db

    db = init_db(target)
    try:
        return int(db.execute("SELECT count(*) FROM attendances").fetchone()[0])
    finally:
        db.close()


def mode_push(args: argparse.Namespace, workdir: str, code: str, seed: str) -> dict[str, Any]:
    """Push --push-checkins check-ins, --repeat times on each engine asked for, in turns.

    `code` enrols a device on the fresh SQLite database `seed`."""
    from bench_push_ratio import _push_http, prepared

    from server.store.copy import copy_database
    from server.store.db import init_db

    engines = engines_of(args.engine or SQLITE)
    log(f"push: {args.push_checkins} check-ins on {' and '.join(engines)}, {args.repeat} runs")
    token, changes = prepared(workdir, code, seed, args.push_checkins)
    before = checkins_on(seed)
    times: dict[str, list[float]] = {engine: [] for engine in engines}
    load = [round(x, 2) for x in os.getloadavg()]
    with pg_cluster(POSTGRESQL in engines) as cluster:
        pg_seed = ""
        if cluster is not None:
            pg_seed = cluster.database()
            source = init_db(seed)
            try:
                copy_database(source, pg_seed)
            finally:
                source.close()
        for run in range(args.repeat):
            # In turns, the first engine changing each run, so both see the same moods of a
            # shared machine.
            for engine in engines if run % 2 == 0 else engines[::-1]:
                if engine == SQLITE:
                    target = os.path.join(tempfile.mkdtemp(dir=workdir), "push.db")
                    shutil.copyfile(seed, target)
                else:
                    target = copy_pg(cluster, pg_seed, f"push_{run}_{os.getpid()}")
                seconds = _push_http(target, token, changes, workdir)
                stored = checkins_on(target) - before
                if stored != len(changes):
                    raise RuntimeError(f"{engine}: {stored} of {len(changes)} check-ins stored")
                times[engine].append(round(seconds, 3))
                log(f"push: run {run + 1} on {engine}: {seconds:.2f} s")
                if engine == POSTGRESQL:
                    cluster.drop(target)
    median = {engine: statistics.median(values) for engine, values in times.items()}
    ratio = round(median[POSTGRESQL] / median[SQLITE], 3) if set(engines) == set(ENGINES) else None
    return {
        "mode": "push",
        "checkins": args.push_checkins,
        "engines": engines,
        "push_10k_s": median,
        "runs": times,
        "push_10k_pg_vs_sqlite": ratio,
        "load_avg": [load, [round(x, 2) for x in os.getloadavg()]],
    }
