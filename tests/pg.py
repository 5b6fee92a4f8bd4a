"""A throwaway PostgreSQL cluster for tests on both engines: a temp dir, a Unix socket, no TCP.

`TIANJIAN_TEST_DB=postgresql` makes the fixtures that create a server database
(tests/conftest.py `db_path`) hand out a fresh PostgreSQL database per test, copied from a
template migrated once per session, instead of a SQLite file. initdb refuses to run as root, so
as root the cluster runs as `nobody` in a directory that user owns.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

import psycopg

from server.store.database import dispose_engine
from server.store.db import init_db

ENGINE_VARIABLE = "TIANJIAN_TEST_DB"
TEMPLATE = "tianjian_template"


def wanted() -> bool:
    """Whether this test run puts server databases on PostgreSQL."""
    return os.environ.get(ENGINE_VARIABLE, "sqlite").lower() in {"postgresql", "postgres", "pg"}


def _bin_dir() -> str:
    found = os.environ.get("TIANJIAN_PG_BIN") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), ""
    )
    if not found or not os.path.isfile(os.path.join(found, "initdb")):
        raise RuntimeError(
            "PostgreSQL is not installed: apt-get install postgresql (scripts/test does), "
            "or point TIANJIAN_PG_BIN at its bin directory"
        )
    return found


@dataclass
class Cluster:
    """One running cluster; `database()` makes a fresh migrated database and gives its URL."""

    dir: str
    bin: str
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, name: str) -> str:
        return f"postgresql://tianjian@/{name}?host={self.dir}"

    def _run(self, *args: str) -> None:
        as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_user, *args], check=True, capture_output=True, cwd=self.dir)

    def start(self) -> Cluster:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "nobody")
        data = os.path.join(self.dir, "data")
        self._run(
            f"{self.bin}/initdb", "-D", data, "-A", "trust", "-U", "tianjian", "--no-sync",
            "-E", "UTF8", "--locale", "C.UTF-8",
        )  # fmt: skip
        options = (
            f"-k {self.dir} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB"
        )
        self._run(
            f"{self.bin}/pg_ctl", "-D", data, "-l", os.path.join(self.dir, "log"), "-w",
            "-o", options, "start",
        )  # fmt: skip
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        init_db(self.url(TEMPLATE)).close()
        dispose_engine(self.url(TEMPLATE))  # a template copied from must have no connections
        return self

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def database(self) -> str:
        """A fresh database with every migration applied (a copy of the session's template)."""
        name = f"t{os.getpid()}_{next(self._numbers)}"
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def drop(self, url: str) -> None:
        dispose_engine(url)
        name = url.split("/")[3].split("?")[0]
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._run(
                f"{self.bin}/pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "fast", "stop"
            )
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def start_cluster(parent: str | None = None) -> Cluster:
    """A running cluster in a new directory under `parent` (the temp dir when None)."""
    return Cluster(tempfile.mkdtemp(prefix="tianjian-pg-", dir=parent), _bin_dir()).start()
