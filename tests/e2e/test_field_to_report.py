"""The first slice end to end: an envoy records offline with the real CLI, syncs, the bureau reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import count_rows
from tests.helpers import LiveServer, enrolment_code, load_demo_reference


def field(db: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "field_client", "--db", str(db), *args],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def report(db_path: str) -> dict[str, dict]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "--db",
            db_path,
            "report",
            "--year",
            "2026",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout)
    return {line["key"]: line for line in data["indicators"]}


def test_records_made_offline_reach_the_report_exactly(db_path: str, tmp_path: Path) -> None:
    load_demo_reference(db_path)
    server = LiveServer(db_path).start()
    device = tmp_path / "field.db"
    try:
        field(device, "enroll", server.url, enrolment_code(db_path, "张三"), "--name", "laptop")
    finally:
        server.stop()

    # Everything below happens with the server unreachable.
    farmers = [
        field(device, "farmer", "add", "--name", name, "--village", "东村", "--mobile", mobile)
        for name, mobile in [("李四", "138 0013 8001"), ("赵六", "+86-139-0013-9002")]
    ]
    sessions = [
        field(
            device,
            "session",
            "new",
            "--title",
            f"马铃薯种植培训 {n}",
            "--unit",
            "东村",
            "--start",
            f"2026-0{n}-10T09:00:00",
            "--tech",
            "马铃薯脱毒种薯技术",
        )
        for n in (3, 4, 5)
    ]
    for session_id in sessions:
        field(device, "checkin", "--session", session_id, "--farmer", farmers[0])
    again = field(device, "--json", "checkin", "--session", sessions[0], "--farmer", farmers[0])
    assert json.loads(again)["new"] is False
    field(
        device, "checkin", "--session", sessions[0], "--farmer", farmers[1], "--method", "qr_self"
    )
    headcount_only = field(
        device,
        "session",
        "new",
        "--title",
        "玉米培训",
        "--unit",
        "530102001002",
        "--start",
        "2026-06-01T09:00:00",
        "--headcount",
        "40",
        "--tech",
        "玉米高产栽培",
    )
    field(device, "session", "close", headcount_only, "--end", "2026-06-01T11:00:00")
    field(
        device,
        "leaflets",
        "receive",
        "--title",
        "马铃薯晚疫病防治",
        "--copies",
        "200",
        "--on",
        "2026-03-01",
    )
    field(
        device,
        "leaflets",
        "give",
        "--title",
        "马铃薯晚疫病防治",
        "--copies",
        "120",
        "--session",
        sessions[0],
        "--at",
        "2026-03-10T10:00:00",
    )
    plot = field(
        device,
        "plot",
        "new",
        "--village",
        "东村",
        "--host",
        "李四",
        "--crop",
        "马铃薯",
        "--variety",
        "云薯304",
        "--area",
        "12.5",
        "--established",
        "2026-03-20",
        "--tech",
        "马铃薯脱毒种薯技术",
        "--target-yield",
        "2000",
    )
    field(
        device,
        "plot",
        "observe",
        plot,
        "--stage",
        "seedling",
        "--on",
        "2026-04-20",
        "--survival",
        "96",
    )
    status = json.loads(field(device, "--json", "status"))
    assert status["pending"] == 15 and status["rejected"] == []
    failed = subprocess.run(
        [sys.executable, "-m", "field_client", "--db", str(device), "sync"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert json.loads(field(device, "--json", "status"))["pending"] == 15

    server.start()
    try:
        summary = json.loads(field(device, "--json", "sync"))
    finally:
        server.stop()
    assert summary["pending"] == 0 and summary["rejected"] == 0

    figures = report(db_path)
    person_times = figures["trainee_attendances"]
    assert person_times["actual"] == 4  # 李四 at three sessions + 赵六 once
    assert person_times["verified"] == 4
    assert person_times["reported"] == 40  # typed headcount kept apart
    assert figures["unique_trainees"]["actual"] == 2
    assert figures["village_trainings"]["actual"] == 4
    assert figures["leaflets_distributed"]["actual"] == 120
    assert figures["leaflets_distributed"]["received"] == 200
    assert figures["technologies_promoted"]["actual"] == 2
    assert figures["varieties_introduced"]["actual"] == 1
    assert figures["demo_plots"]["actual"] == 1
    assert figures["demo_area_mu"]["actual"] == 12.5
    assert person_times["met"] is False and person_times["comparator"] == ">"
    assert count_rows(db_path, "attendances") == 4
    assert count_rows(db_path, "plot_observations") == 1
