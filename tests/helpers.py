"""Test helpers: reference data, a real server process on a free loopback port, enrolled clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from field_client.store import FieldStore
from field_client.sync import SyncClient, enrol
from server.plan.target_files import load_targets_file
from server.reference import load as reference
from server.store.db import init_db
from server.sync import devices
from shared import protocol as p
from shared.ids import new_id
from tests import pg

DATA = Path(__file__).parent / "data"
VILLAGE_EAST = "530102001001"
VILLAGE_WEST = "530102001002"
VILLAGE_SOUTH = "530102002001"
TECH_POTATO = reference.catalogue_id("technology", "马铃薯脱毒种薯技术")
TECH_MAIZE = reference.catalogue_id("technology", "玉米高产栽培")
VARIETY_POTATO = reference.catalogue_id("variety", "云薯304")
LEAFLET_POTATO = reference.catalogue_id("leaflet_title", "马铃薯晚疫病防治")


def load_demo_reference(db_path: str) -> None:
    db = init_db(db_path)
    reference.load_units(db, str(DATA / "units.csv"))
    reference.load_catalogue(db, str(DATA / "catalog.csv"))
    reference.load_envoys(db, str(DATA / "envoys.csv"))
    load_targets_file(db, str(DATA / "targets.yaml"))
    db.close()


def enrolment_code(db_path: str, envoy_name: str) -> str:
    db = init_db(db_path)
    envoy = devices.envoy_by_name(db, envoy_name)
    code = devices.new_enrolment_code(db, envoy["id"], 60)
    db.conn.commit()
    db.close()
    return code


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The real server (waitress) in its own process, on a real SQLite file or, in a run on
    PostgreSQL, a PostgreSQL database (never a file then: the test would pass on SQLite)."""

    def __init__(self, db_path: str, port: int | None = None) -> None:
        self.db_path = db_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        # Where photos go when the database has no folder beside it (PostgreSQL).
        self.media_dir: str | None = None

    def start(self) -> LiveServer:
        if pg.wanted() and "://" not in self.db_path:
            raise RuntimeError(
                f"a run on PostgreSQL started a server on the file {self.db_path}: take the "
                "db_path, module_db_path or new_db_path fixture (tests/conftest.py)"
            )
        env = {**os.environ, "TIANJIAN_DB": self.db_path}
        if "://" in self.db_path and "TIANJIAN_MEDIA_DIR" not in env:
            # A database on PostgreSQL has no folder beside it for photos: name one, the same
            # one across restarts.
            self.media_dir = self.media_dir or tempfile.mkdtemp(prefix="tianjian-media-")
            env["TIANJIAN_MEDIA_DIR"] = self.media_dir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "run", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/api/openapi.json", timeout=1)
                return self
            except requests.ConnectionError as exc:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        self.process.stderr.read().decode() if self.process.stderr else ""
                    ) from exc
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


def enrolled_store(
    server: LiveServer,
    path: str,
    envoy_name: str,
    device_clock: Callable[[], int] | None = None,
) -> FieldStore:
    store = FieldStore(path, **({"device_clock": device_clock} if device_clock else {}))
    enrol(store, server.url, enrolment_code(server.db_path, envoy_name), "test device")
    SyncClient(store, retries=1, backoff=0.05).sync()
    return store


def fast_client(store: FieldStore, **options: object) -> SyncClient:
    settings = {"retries": 2, "backoff": 0.05, "timeout": 10.0, **options}
    return SyncClient(store, **settings)  # type: ignore[arg-type]


def results_of(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    """Every change's answer from server.sync.apply_push, applied ones included, in order."""
    applied = [{"q": seq, "s": p.APPLIED} for seq in outcome["applied"]]
    return sorted([*applied, *outcome["answers"]], key=lambda answer: answer["q"])


def report_token(db_path: str) -> dict[str, str]:
    """Headers carrying a report API token an admin issued (the report API is not public)."""
    from server.accounts import users

    db = init_db(db_path)
    try:
        admin = users.add_user(db, f"admin-{new_id()[:8]}", users.ADMIN, "admin-password")
        return {"Authorization": f"Bearer {users.issue_api_token(db, 'tests', admin)}"}
    finally:
        db.close()


def sign_in(client: Any, name: str, password: str) -> Any:
    """Sign a Flask test client in through the real form, CSRF token included."""
    import re

    page = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the sign-in form carries a CSRF token"
    return client.post(
        "/signin", data={"name": name, "password": password, "csrf_token": token.group(1)}
    )


def csrf_token(client: Any, path: str) -> str:
    """The CSRF token a page's forms carry."""
    import re

    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, f"{path} has a form with a CSRF token"
    return found.group(1)
