"""Run as `python -m tests.server.store.sqlite_only_probe DB`: a county's day on a SQLite file in
one fresh process (CLI commands, the app answering pages, errors and a sync), then print as JSON
what each step answered and which PostgreSQL driver modules the process imported.

Only server code is imported here (not tests.helpers, which imports tests.pg and so psycopg)."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from click.testing import CliRunner

from server import create_app
from server.cli import cli
from shared import protocol as p
from shared.clock import wall_ms
from shared.ids import new_id

DATA = Path(__file__).resolve().parents[2] / "data"
DRIVERS = ("psycopg", "sqlalchemy")


def main(db_path: str) -> None:
    answers: dict[str, object] = {}
    runner = CliRunner()
    for name, args in {
        "init": ["init"],
        "units": ["units", "load", str(DATA / "units.csv")],
        "envoys": ["envoys", "load", str(DATA / "envoys.csv")],
        "enroll": ["enroll", "--envoy", "张三"],
    }.items():
        result = runner.invoke(cli, ["--db", db_path, *args])
        answers[name] = result.exit_code
    code = result.stdout.strip().splitlines()[0]
    # An error path of the CLI: a command on a database that does not exist.
    missing = runner.invoke(cli, ["--db", db_path + ".missing", "devices", "list"])
    answers["cli_error"] = [missing.exit_code, "数据库不存在" in missing.output]

    client = create_app({"DATABASE": db_path, "TESTING": True}).test_client()
    protocol = {p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)}
    answers["page"] = client.get("/signin").status_code
    answers["missing_page"] = client.get("/no-such-page").status_code
    answers["unauthorised_pull"] = client.get("/api/v1/sync/pull", headers=protocol).status_code
    enrolled = client.post(
        "/api/v1/enrolments", json={"code": code, "device_name": "测试手机"}, headers=protocol
    )
    answers["enrol"] = enrolled.status_code
    auth = {**protocol, "Authorization": f"Bearer {enrolled.get_json()['token']}"}
    change = {
        "q": 1,
        "k": "farmer",
        "i": new_id(),
        "h": f"{wall_ms():013d}.00001",
        "b": None,
        "f": {"name": "赵大", "village_code": "530102001001"},
    }
    pushed = client.post(
        "/api/v1/sync/push",
        data=gzip.compress(json.dumps({"changes": [change]}).encode()),
        headers={**auth, "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    answers["push"] = [pushed.status_code, pushed.get_json().get("applied")]
    pulled = client.get("/api/v1/sync/pull", query_string={"include_own": "true"}, headers=auth)
    answers["pull"] = [pulled.status_code, len(pulled.get_json()["records"])]
    answers["loaded"] = sorted(m for m in sys.modules if m.split(".")[0] in DRIVERS)
    print(json.dumps(answers, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
