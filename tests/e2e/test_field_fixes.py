"""An envoy fixes mistakes with the real CLI against a real server: edits, deletions and undone
check-ins reach the server; a refused change makes sync fail loudly; held changes show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from field_client.cli import cli
from field_client.store import FieldStore
from server.store.db import init_db
from shared import protocol as p
from shared.merge import stamped_change
from tests.helpers import LiveServer, enrolment_code

UNKNOWN_TECH = "7ec07ec0-0000-4000-8000-00000000dead"
MISSING_SESSION = "5e5e5e5e-0000-4000-8000-00000000beef"


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args])


def ok(db: Path, *args: str) -> str:
    result = run(db, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output.strip()


def ok_json(db: Path, *args: str) -> Any:
    return json.loads(ok(db, *args, "--json"))


def server_row(db_path: str, table: str, record_id: str) -> dict[str, Any]:
    db = init_db(db_path)
    try:
        return next(db.query(f"SELECT * FROM [{table}] WHERE id = ?", [record_id]))
    finally:
        db.close()


def test_fixes_reach_the_server(live_server: LiveServer, tmp_path: Path) -> None:
    device = tmp_path / "field.db"
    ok(
        device,
        "enroll",
        live_server.url.removeprefix("http://"),
        enrolment_code(live_server.db_path, "张三"),
    )
    farmer = ok(
        device, "farmer", "add", "--name", "王芳", "--village", "东村", "--mobile", "13800001234"
    )
    kept = ok(
        device,
        "session",
        "new",
        "--title",
        "马铃薯培训",
        "--unit",
        "东村",
        "--start",
        "11月20日 9:00",
    )
    mistake = ok(device, "session", "new", "--title", "误建", "--unit", "西村")
    ok(device, "checkin", "--session", "马铃薯培训", "--farmer", "1234")
    ok(device, "checkin", "--session", mistake[:8], "--farmer", "王芳")
    ok(device, "farmer", "edit", "1234", "--name", "王芳芳", "--gender", "女")
    ok(device, "session", "edit", kept[:8], "--title", "马铃薯晚疫病防治培训", "--headcount", "30")
    ok(device, "session", "delete", "误建")
    ok(device, "checkin", "undo", "--session", kept, "--farmer", "王芳芳", "--reason", "点错了")
    assert ok_json(device, "sync")["rejected_now"] == 0

    db_path = live_server.db_path
    assert server_row(db_path, "farmers", farmer)["name"] == "王芳芳"
    assert server_row(db_path, "farmers", farmer)["gender"] == "female"
    assert server_row(db_path, "sessions", kept)["title"] == "马铃薯晚疫病防治培训"
    assert server_row(db_path, "sessions", mistake)["deleted"] == 1
    db = init_db(db_path)
    try:
        live = db.execute("SELECT count(*) FROM attendances WHERE deleted = 0").fetchone()[0]
        gone = db.execute("SELECT count(*) FROM attendances WHERE deleted = 1").fetchone()[0]
    finally:
        db.close()
    assert (live, gone) == (0, 2)


def test_sync_fails_loudly_on_refusals_and_status_shows_held_changes(
    live_server: LiveServer, tmp_path: Path
) -> None:
    device = tmp_path / "field.db"
    ok(device, "enroll", live_server.url, enrolment_code(live_server.db_path, "张三"))
    farmer = ok(device, "farmer", "add", "--name", "王芳", "--village", "东村")
    # A session this device knows but the server does not (as if pulled from a replica the
    # server has not heard from yet): a check-in into it is held, not refused.
    with FieldStore(str(device)) as store:
        _device_id, envoy = store.identity()
        state = stamped_change(
            {
                "kind": "village_training",
                "title": "别处的培训",
                "unit_code": "530102001001",
                "starts_at": "2026-11-20T01:00:00Z",
                "lead_envoy_id": envoy,
                "co_envoy_ids": [],
            },
            "1764000000000.00000.elsewhere",
        )
        state.update({"id": MISSING_SESSION, "envoy_id": envoy, "device_id": _device_id})
        store.apply_pull([{"k": p.SESSION, "r": state}], int(store.get("cursor") or 0))
    ok(device, "checkin", "--session", MISSING_SESSION, "--farmer", farmer)
    # The server knows no such technology: this session is refused.
    ok(device, "session", "new", "--title", "t", "--unit", "东村", "--tech", UNKNOWN_TECH)

    result = run(device, "sync")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "服务器拒绝了 1 条更改" in result.output and "refused 1 changes" in result.output

    status = ok_json(device, "status")
    assert len(status["rejected"]) == 1
    assert status["held_count"] == 1
    [held] = status["held"]
    assert (held["kind"], held["waiting_kind"], held["waiting_id"]) == (
        p.ATTENDANCE,
        p.SESSION,
        MISSING_SESSION,
    )
    text = ok(device, "status")
    assert "held by the server: 1" in text and MISSING_SESSION in text
