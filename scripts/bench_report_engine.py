"""scripts/bench report's engines and its nation: the database a timed server runs on, its disk,
and the national figure.

SQLite: a copy of the generated file. PostgreSQL: a throwaway cluster (tests/pg.py's, on a Unix
socket in a temp dir) and a database loaded from the SQLite copy by `tianjian-server copy --to`
(COPY, one transaction, summaries as they are, rebuilt first in the SQLite copy). The file is
generated once (Python-bound, the same work for either engine) and cached for both; at a tenth
of a province, copying it with its summaries took 20 s where `summaries rebuild` on
PostgreSQL alone took 58 s, so the summaries are not rebuilt there.

The national figure: no request of the report API names the whole nation (a user with no area
asking for no unit gets the first county, server/api/scope.py; summaries hold provinces down to
villages, server/summaries/read.py `answers`), so it is timed in the server's own process as a
nation-level request would have to compute it: `figures_of(Scope(year, ""), monthly=True)`, the
figures the progress JSON is made of, over every unit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ENGINES = ("sqlite", "postgresql")


@dataclass
class Served:
    """The database a timed server runs on: its TIANJIAN_DB and the seconds loading it took."""

    engine: str
    db: str
    load_s: float | None = None


def cluster_for(engine: str) -> AbstractContextManager[Any]:
    """A running throwaway PostgreSQL cluster for the run (None on SQLite), stopped after."""
    from tests.pg import cluster_if

    return cluster_if(engine == "postgresql")


def served(engine: str, copy: str, label: str, cluster: Any, root: Path) -> Served:
    """The database to time on `engine`: the SQLite `copy` itself, or a fresh PostgreSQL
    database it is copied into by `root`'s `copy --to` (timed)."""
    if engine == "sqlite":
        return Served(engine, copy)
    import psycopg

    name = f"bench_{label}".replace("-", "_")
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = cluster.url(name)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "server", "--db", copy, "copy", "--to", url],
        cwd=root,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    load_s = round(time.perf_counter() - started, 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # what autovacuum would soon do: plans see the sizes
    return Served(engine, url, load_s)


def disk_mb(target: Served) -> float:
    """Megabytes the database takes: the SQLite file with its WAL, or pg_database_size."""
    if target.engine == "sqlite":
        total = sum(
            os.path.getsize(path)
            for path in (target.db, f"{target.db}-wal")
            if os.path.exists(path)
        )
    else:
        import psycopg

        with psycopg.connect(target.db) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            total = int(row[0]) if row else 0
    return round(total / 1e6, 1)


def checkins_in(db: str) -> int:
    """The check-ins the timed database holds (deleted ones too: they take disk)."""
    from server.store.db import open_db

    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as conn:
            row = conn.execute("SELECT count(*) FROM attendances").fetchone()
            return int(row[0]) if row else 0
    opened = open_db(db)
    try:
        return int(opened.execute("SELECT count(*) FROM attendances").fetchone()[0])
    finally:
        opened.close()


# Run by the checkout being timed: `runs` national figures after one warm-up, as JSON.
_NATIONAL = """
import json, statistics, sys, time
from server.figures.counted import Scope
from server.plan.progress import figures_of
from server.store.db import init_db
db = init_db(sys.argv[1])
year, runs = int(sys.argv[2]), int(sys.argv[3])
figures_of(db, Scope(year, ""), monthly=True)
times = []
for _ in range(runs):
    started = time.perf_counter()
    found = figures_of(db, Scope(year, ""), monthly=True)
    times.append((time.perf_counter() - started) * 1000)
print(json.dumps({"p50_ms": round(statistics.median(times), 1), "p95_ms": round(max(times), 1),
                  "runs": runs, "checkins": found.total().get("trainee_attendances")}))
"""


def national(db: str, year: int, runs: int, root: Path) -> dict[str, Any]:
    """p50 of the national figures (every unit), computed in the server's code (see module)."""
    done = subprocess.run(
        [sys.executable, "-c", _NATIONAL, db, str(year), str(runs)],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
