"""A county on SQLite never imports the PostgreSQL drivers (psycopg, SQLAlchemy: about 22 MB of
every server process): not in its CLI commands, its app answering requests, nor `server run`.

Each check runs in a fresh process, since this test process may have imported them itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from shared import protocol as p

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data"
PROTOCOL = {p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)}


def test_a_county_day_on_sqlite_imports_no_postgresql_driver(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tests.server.store.sqlite_only_probe", str(tmp_path / "c.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    answers = json.loads(out.strip().splitlines()[-1])
    assert answers.pop("loaded") == []
    # ... after every step really ran, error paths of the CLI and of the app among them.
    pull_status, pulled = answers.pop("pull")
    assert pull_status == 200 and pulled >= 1
    assert answers == {
        "init": 0,
        "units": 0,
        "envoys": 0,
        "enroll": 0,
        "cli_error": [1, True],
        "page": 200,
        "missing_page": 404,
        "unauthorised_pull": 401,
        "enrol": 201,
        "push": [200, [[1, 1]]],
    }


def _cli(db: Path, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "server", "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


@pytest.fixture
def server_on_sqlite(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """`python -m server run` on a SQLite file (tests.helpers.LiveServer refuses a file in a run
    on PostgreSQL; this test is about SQLite whatever the run)."""
    db = tmp_path / "county.db"
    _cli(db, "units", "load", str(DATA / "units.csv"))
    _cli(db, "envoys", "load", str(DATA / "envoys.csv"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "run", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "TIANJIAN_DB": str(db)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the server exited"
            try:
                requests.get(f"{url}/api/openapi.json", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        yield process, url, db
    finally:
        process.terminate()
        process.wait(15)


def test_server_run_on_sqlite_maps_no_postgresql_driver(
    server_on_sqlite: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    """The running server's own memory map: psycopg's compiled modules and libpq are shared
    libraries, mapped once psycopg is imported (SQLAlchemy comes only with it, in
    server/store/database.py)."""
    process, url, db = server_on_sqlite
    assert requests.get(f"{url}/signin", timeout=10).status_code == 200
    assert requests.get(f"{url}/no-such-page", timeout=10).status_code == 404
    code = _cli(db, "enroll", "--envoy", "张三").strip().splitlines()[0]
    enrolled = requests.post(
        f"{url}/api/v1/enrolments",
        json={"code": code, "device_name": "测试手机"},
        headers=PROTOCOL,
        timeout=10,
    )
    assert enrolled.status_code == 201
    auth = {**PROTOCOL, "Authorization": f"Bearer {enrolled.json()['token']}"}
    pulled = requests.get(f"{url}/api/v1/sync/pull", headers=auth, timeout=10)
    assert pulled.status_code == 200 and pulled.json()["records"]

    mapped = Path(f"/proc/{process.pid}/maps").read_text()
    assert "_sqlite3" in mapped  # the check sees an extension module that is loaded
    assert [line for line in mapped.splitlines() if "psycopg" in line or "libpq" in line] == []
