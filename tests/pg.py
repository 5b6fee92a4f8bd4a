"""A throwaway PostgreSQL cluster for tests on both engines: a temp dir, a Unix socket, no TCP.

`TIANJIAN_TEST_DB=postgresql` makes the fixtures that create a server database
(tests/conftest.py `db_path`) hand out a fresh PostgreSQL database per test, copied from a
template migrated once per session, instead of a SQLite file. initdb refuses to run as root, so
as root the cluster runs as `nobody` in a directory that user owns.

Copying the template (CREATE DATABASE) costs a few hundred milliseconds even on an idle machine,
which was half a short test's time. So a database given back whose schema is still the
template's is emptied to the template's rows and sequence positions (tens of milliseconds) and
handed out again under a new URL, the connections the test left ended as DROP's FORCE would;
one whose schema a test changed is dropped.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

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


# Everything of a database's schema a test could change (tables, columns, indexes, constraints,
# triggers, functions, sequences, its settings), as one digest: equal to the template's means a
# database emptied of rows is as good as a fresh copy.
SCHEMA_DIGEST = """
SELECT md5(concat_ws('|',
  (SELECT string_agg(concat_ws(':', c.oid, c.relname, c.relkind), ',' ORDER BY c.oid)
     FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace),
  (SELECT string_agg(concat_ws(':', a.attrelid, a.attnum, a.attname, a.atttypid, a.attnotnull,
                               a.attisdropped, a.atthasdef, a.attidentity), ','
                     ORDER BY a.attrelid, a.attnum)
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'public'::regnamespace),
  (SELECT string_agg(concat_ws(':', oid, conname), ',' ORDER BY oid) FROM pg_constraint
     WHERE connamespace = 'public'::regnamespace),
  (SELECT string_agg(concat_ws(':', t.oid, t.tgname, t.tgenabled), ',' ORDER BY t.oid)
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = 'public'::regnamespace),
  (SELECT string_agg(concat_ws(':', oid, proname), ',' ORDER BY oid) FROM pg_proc
     WHERE pronamespace = 'public'::regnamespace),
  (SELECT string_agg(setconfig::text, ',') FROM pg_db_role_setting
     WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()))
))
"""


@dataclass
class Template:
    """What a database emptied for reuse must hold again: the template's schema digest, its
    rows (COPY text of the few tables the migrations fill) and its sequences' positions."""

    digest: str
    tables: list[str]
    rows: dict[str, bytes]
    sequences: list[tuple[str, int, int | None]]  # (name, start value, last value or None)

    @classmethod
    def read(cls, conn: psycopg.Connection[tuple[Any, ...]]) -> Template:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        rows = {}
        for table in tables:
            copied = bytearray()
            with conn.cursor().copy(f'COPY "{table}" TO STDOUT') as copy:
                for chunk in copy:
                    copied += chunk
            if copied:
                rows[table] = bytes(copied)
        sequences = conn.execute(
            "SELECT quote_ident(sequencename), start_value, last_value FROM pg_sequences "
            "WHERE schemaname = 'public'"
        ).fetchall()
        return cls(_digest(conn), tables, rows, sequences)

    def restore(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        """Every table emptied (its triggers and foreign keys left asleep while it is) and the
        template's rows and sequence positions put back, in one transaction."""
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("".join(f'DELETE FROM "{table}";' for table in self.tables))
            for table, data in self.rows.items():
                with conn.cursor().copy(f'COPY "{table}" FROM STDIN') as copy:
                    copy.write(data)
            for name, start, last in self.sequences:
                conn.execute(
                    "SELECT setval(%s, %s, %s)",
                    [name, start if last is None else last, last is not None],
                )


def _digest(conn: psycopg.Connection[tuple[Any, ...]]) -> str:
    row = conn.execute(SCHEMA_DIGEST).fetchone()
    return str(row[0]) if row else ""


@dataclass
class Cluster:
    """One running cluster; `database()` gives a migrated database holding only what the
    migrations put there, `drop(url)` gives it back."""

    dir: str
    bin: str
    # Server libraries to load at start (a bench's pg_stat_statements), when installed.
    preload: tuple[str, ...] = ()
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _spare: list[str] = field(default_factory=list)  # emptied, ready to hand out again
    _template: Template | None = None

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
        libraries = [name for name in self.preload if self.has_library(name)]
        if libraries:
            options += f" -c shared_preload_libraries={','.join(libraries)}"
        self._run(
            f"{self.bin}/pg_ctl", "-D", data, "-l", os.path.join(self.dir, "log"), "-w",
            "-o", options, "start",
        )  # fmt: skip
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        init_db(self.url(TEMPLATE)).close()
        dispose_engine(self.url(TEMPLATE))  # a template copied from must have no connections
        with psycopg.connect(self.url(TEMPLATE), autocommit=True) as conn:
            self._template = Template.read(conn)
        return self

    def has_library(self, name: str) -> bool:
        """Whether the server's library `name` (an extension's) is installed beside initdb."""
        return os.path.isfile(os.path.join(os.path.dirname(self.bin), "lib", f"{name}.so"))

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def database(self) -> str:
        """A database with every migration applied and nothing else: one given back and
        emptied, or a new copy of the session's template."""
        # Each hand-out its own URL (application_name tells them apart), so no connection a
        # server thread keeps for a URL outlives the test it was made in.
        handed = f"&application_name=test{next(self._numbers)}"
        if self._spare:
            return self.url(self._spare.pop()) + handed
        name = f"t{os.getpid()}_{next(self._numbers)}"
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name) + handed

    def drop(self, url: str) -> None:
        """Give a database back: emptied for reuse when its schema is the template's (and the
        connections the test left can be ended), else dropped."""
        dispose_engine(url)
        name = url.split("/")[3].split("?")[0]
        if self._emptied(url, name):
            self._spare.append(name)
            return
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _emptied(self, url: str, name: str) -> bool:
        if self._template is None or name == TEMPLATE:
            return False
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                # What the test left connected (a server thread's connection), as DROP's FORCE
                # would: the next test has another URL, so nothing reuses those connections.
                for _ in range(100):
                    others = conn.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    ).fetchone()
                    if not (others and others[0]):
                        break
                    time.sleep(0.01)
                else:
                    return False
                if _digest(conn) != self._template.digest:
                    return False
                self._template.restore(conn)
                return True
        except psycopg.Error:  # gone already, or a test left it unusable: drop it
            return False

    def stop(self) -> None:
        try:
            self._run(
                f"{self.bin}/pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "fast", "stop"
            )
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def start_cluster(parent: str | None = None, preload: tuple[str, ...] = ()) -> Cluster:
    """A running cluster in a new directory under `parent` (the temp dir when None), with the
    server libraries `preload` names that are installed."""
    folder = tempfile.mkdtemp(prefix="tianjian-pg-", dir=parent)
    return Cluster(folder, _bin_dir(), preload).start()


@contextmanager
def cluster_if(wanted: bool, preload: tuple[str, ...] = ()) -> Iterator[Cluster | None]:
    """A running cluster for a bench when `wanted` (else None), stopped and removed after. As
    root it runs as `nobody`, who must reach its folder: under /tmp, not a TMPDIR only root may
    enter (pytest's tmp_path, where scripts/bench's tests put their files)."""
    if not wanted:
        yield None
        return
    cluster = start_cluster("/tmp" if os.geteuid() == 0 else None, preload)
    try:
        yield cluster
    finally:
        cluster.stop()
