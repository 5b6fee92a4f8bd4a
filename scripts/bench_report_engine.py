"""scripts/bench report's engines and its nation: the database a timed server runs on, its disk,
and the national figure.

SQLite: a copy of the generated file. PostgreSQL: a throwaway cluster (tests/pg.py's, on a Unix
socket in a temp dir) and a database loaded from the SQLite copy by `tianjian-server copy --to`
(COPY, one transaction, summaries as they are, rebuilt first in the SQLite copy). The file is
generated once (Python-bound, the same work for either engine) and cached for both; at a tenth
of a province, copying it with its summaries took 20 s where `summaries rebuild` on
PostgreSQL alone took 58 s, so the summaries are not rebuilt there.

The national figure: the real request, over HTTP like the province's and counties': the
progress JSON (`/api/v1/reports/<year>`, monthly figures included) asking for no unit, with the
report token of an admin who has no area. Such a reader gets the smallest unit holding every
county (server/reference/lookups.py `home_unit`): at nation size the whole server, 全国, read
from the summaries' whole-server key (''); at one province's size the province, the same
records. A checkout whose answer holds fewer than every county (older code gave the first
county) has no national figure: timing it would time a county.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
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


# The progress JSON of whoever asks for no unit: the whole server for an admin with no area.
NATIONAL_PATH = "/api/v1/reports/{year}"


def whole_server(answer: dict[str, Any], counties: list[str]) -> bool:
    """Whether a progress JSON is about a unit holding every county of `counties` (the
    nation's code is '', a unit's its 12 digits padded with zeros)."""
    code = str((answer.get("unit") or {}).get("code") or "")
    prefix = code.rstrip("0")
    return all(county.startswith(prefix) for county in counties)


def national(
    session: Any,
    base: str,
    year: int,
    runs: int,
    counties: list[str],
    timed: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """p50 of the national progress JSON over HTTP (`timed` as the other requests are), with
    the unit it named and its check-ins; absent when the answer is not the whole server's."""
    url = base + NATIONAL_PATH.format(year=year)
    answer = session.get(url, timeout=600)
    answer.raise_for_status()
    found = answer.json()
    if not whole_server(found, counties):
        return {"absent": True, "unit": found.get("unit")}
    checkins = next(
        (line["actual"] for line in found["indicators"] if line["key"] == "trainee_attendances"),
        None,
    )
    return {**timed(session, url, runs), "unit": found["unit"]["name"], "checkins": checkins}
