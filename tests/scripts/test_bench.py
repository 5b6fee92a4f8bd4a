"""Every benchmark of scripts/bench runs at a tiny size and prints the JSON it promises.

Only completion and the shape of the output are asserted (speed goals are the benches' own
business): a bench that no longer runs, as `scripts/bench report` once stopped on a column a
later migration added, fails here instead of on the day someone next measures. Nothing is read
from a cache made earlier: the report bench's province is generated into this test's folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def bench(script: str, args: list[str], tmp_path: Path, ok: tuple[int, ...] = (0,)) -> str:
    """Run scripts/<script> as scripts/bench does, with caches and temp files in tmp_path."""
    # Temp files in a short folder of their own: Chromium's singleton socket path must fit in
    # 107 bytes, which tmp_path's own name does not leave room for once pytest counts past 999.
    temp = tempfile.mkdtemp(prefix="tjb-")
    env = {
        **os.environ,
        "TIANJIAN_BENCH_CACHE": str(tmp_path / "cache"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "TMPDIR": temp,
    }
    try:
        done = subprocess.run(
            [sys.executable, str(SCRIPTS / script), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert done.returncode in ok, f"{script} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


def objects(stdout: str) -> list[dict[str, Any]]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, "the bench printed nothing"
    return [json.loads(line) for line in lines]


def test_scripts_bench_names_each_bench_it_runs() -> None:
    runner = (SCRIPTS / "bench").read_text()
    for script in (
        "bench_sync.py",
        "bench_report.py",
        "bench_checkin.py",
        "bench_photos.py",
        "bench_app.py",
    ):
        assert f"scripts/{script}" in runner


def test_report_bench_generates_its_province_and_times_it(tmp_path: Path) -> None:
    out = bench(
        "bench_report.py",
        ["--size", "tiny", "--json", "--runs", "2", "--province-runs", "1"],
        tmp_path,
    )
    [result] = objects(out)
    timed = (
        "county",
        "province",
        "page",
        "breakdown",
        "breakdown_county",
        "export",
        "performance",
        "reconciliation_county",
    )
    for name in timed:
        # A figure, not None: None would mean the server had no such address for the units.
        assert isinstance(result[f"{name}_p50_ms"], float), name
        assert isinstance(result[f"{name}_p95_ms"], float), name
    for key in ("server_peak_mb", "server_start_s", "load_avg", "rebuild_s", "rebuild_cpu_s"):
        assert isinstance(result[key], int | float), key
    assert result["before"] is None
    # Made here, not found in a cache.
    assert result["generate_s"] is not None
    assert list((tmp_path / "cache").glob("report-*.db"))


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_report_bench_runs_on_each_engine_with_the_national_figure(
    tmp_path: Path, engine: str
) -> None:
    """`--engine`: the same requests on SQLite or a throwaway PostgreSQL loaded by `copy --to`,
    the national figure, and the disk each engine takes per million check-ins."""
    out = bench(
        "bench_report.py",
        [
            "--size",
            "tiny",
            "--json",
            "--engine",
            engine,
            "--only",
            "national,county,province",
            "--runs",
            "2",
            "--province-runs",
            "1",
            "--national-runs",
            "1",
        ],
        tmp_path,
    )
    [result] = objects(out)
    assert result["engine"] == engine
    for name in ("national", "county", "province"):
        assert isinstance(result[f"{name}_p50_ms"], float), name
    assert result["page_p50_ms"] is None  # not asked for
    assert (result["checkins"], result["counties"]) == (1500, 2)
    assert result["disk_mb"] > 0
    assert result["disk_mb_per_million_checkins"] == pytest.approx(
        result["disk_mb"] / 0.0015, rel=0.01
    )
    # Loaded by `copy --to` on PostgreSQL; the SQLite copy is served as it is.
    assert (result["load_s"] is None) == (engine == "sqlite")


def test_report_bench_times_only_the_rebuild_when_asked(tmp_path: Path) -> None:
    """`--only rebuild`: the rebuild's seconds and processor seconds, no server started."""
    out = bench("bench_report.py", ["--size", "tiny", "--json", "--only", "rebuild"], tmp_path)
    [result] = objects(out)
    assert isinstance(result["rebuild_s"], float) and isinstance(result["rebuild_cpu_s"], float)
    assert result["rebuild_cpu_s"] > 0
    assert result["server_start_s"] is None and result["county_p50_ms"] is None


def test_sync_bench_runs_both_modes(tmp_path: Path) -> None:
    out = bench(
        "bench_sync.py",
        [
            "sync",
            "--json",
            "--attendances",
            "200",
            "--farmers",
            "25",
            "--sessions",
            "8",
            "--repeat",
            "1",
            "--shaped-changes",
            "50",
            "--shaped-farmers",
            "10",
            "--shaped-sessions",
            "5",
            "--paired-checkins",
            "300",
        ],
        tmp_path,
    )
    full, shaped, paired = objects(out)
    assert full["mode"] == "full"
    for key in (
        "records",
        "seconds",
        "records_per_s",
        "floor_records_per_s",
        "ratio",
        "bytes_per_attendance",
        "noop_requests",
        "noop_bytes",
        "client_peak_mb",
        "server_peak_mb",
        "goals",
    ):
        assert full[key] is not None, key
    assert full["attendances"] == 200
    assert full["lost"] == full["duplicated"] == 0
    assert shaped["mode"] == "shaped"
    for key in ("seconds", "bound_s", "ratio", "requests", "runs", "clean"):
        assert shaped[key] is not None, key
    assert shaped["changes"] == 50
    assert shaped["lost"] == shaped["duplicated"] == 0
    assert paired["mode"] == "paired" and paired["checkins"] == 300
    assert paired["push_10k_ratio"] > 0 and len(paired["runs"]["on"]) == 1
    assert paired["server_push_cpu_ratio"] > 0 and len(paired["runs"]["cpu_off"]) == 1


def test_sync_bench_pushes_on_both_engines_in_one_sitting(tmp_path: Path) -> None:
    """`--mode push --engine both`: the same check-ins pushed to a real server on SQLite and on
    a throwaway PostgreSQL, each run checked to have stored every one."""
    out = bench(
        "bench_sync.py",
        ["sync", "--json", "--mode", "push", "--engine", "both", "--push-checkins", "150",
         "--repeat", "2"],
        tmp_path,
    )  # fmt: skip
    [push] = objects(out)
    assert push["mode"] == "push" and push["checkins"] == 150
    assert push["engines"] == ["sqlite", "postgresql"]
    for engine in ("sqlite", "postgresql"):
        assert len(push["runs"][engine]) == 2
        assert push["push_10k_s"][engine] > 0
    expected = push["push_10k_s"]["postgresql"] / push["push_10k_s"]["sqlite"]
    assert abs(push["push_10k_pg_vs_sqlite"] - expected) < 0.01


def test_sync_bench_push_on_one_engine_has_no_ratio(tmp_path: Path) -> None:
    out = bench(
        "bench_sync.py",
        ["sync", "--json", "--mode", "push", "--push-checkins", "50", "--repeat", "1"],
        tmp_path,
    )
    [push] = objects(out)
    assert push["engines"] == ["sqlite"] and push["push_10k_pg_vs_sqlite"] is None


def test_sync_bench_times_noop_pulls_through_two_processes_on_postgresql(
    tmp_path: Path,
) -> None:
    out = bench(
        "bench_sync.py",
        ["sync", "--json", "--mode", "noop-pulls", "--noop-devices", "4", "--noop-rounds", "3",
         "--noop-period", "0.3", "--noop-client-procs", "2", "--noop-farmers", "2",
         "--noop-sessions", "1", "--noop-attendances", "2"],
        tmp_path,
    )  # fmt: skip
    [pulls] = objects(out)
    assert pulls["mode"] == "noop-pulls" and pulls["engine"] == "postgresql"
    assert pulls["processes"] == 2 and len(pulls["server_peak_mb"]) == 2
    # Every device's every round answered, with nothing in it.
    assert pulls["pulls"] == 4 * 3 and pulls["errors"] == 0
    assert 0 < pulls["noop_pull_p50_ms"] <= pulls["noop_pull_p99_ms"] <= pulls["noop_pull_max_ms"]
    assert "met" in pulls["goal"]
    assert set(pulls["cpu_ms_per_pull"]) == {"servers", "database", "clients"}
    assert pulls["cpu_ms_per_pull"]["servers"] > 0
    # What load bends less than wall-clock: processor time and statements per pull.
    assert pulls["noop_pull_cpu_ms"] == pulls["cpu_ms_per_pull"]["servers"]
    assert pulls["burst_cpu_floor_ms"] > 0
    # pg_stat_statements counted the servers' statements over the rounds, each pull at least
    # its token's lookup; the most run ones are named.
    assert pulls["noop_pull_statements"] >= 1
    assert any("d.revoked_at" in line for line in pulls["busiest_statements"])


def test_sync_bench_refuses_an_engine_for_the_sqlite_modes(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_sync.py"), "sync", "--mode", "full", "--engine",
         "postgresql"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "--engine is for --mode push or noop-pulls" in done.stderr


def test_checkin_bench_checks_farmers_in(tmp_path: Path) -> None:
    # Exit 1 says a speed goal was missed (this machine is shared): it still ran to the end.
    out = bench(
        "bench_checkin.py",
        ["--json", "--farmers", "6", "--clients", "2", "--seconds", "0"],
        tmp_path,
        ok=(0, 1),
    )
    [result] = objects(out)
    assert result["bench"] == "checkin"
    for key in ("requests", "p50_ms", "p99_ms", "flow_p50_ms", "page_bytes", "server_peak_mb"):
        assert result[key] is not None, key
    assert result["expected"] == 6
    assert result["stored"] == 6
    assert "met" in result["goals"]


def test_photos_bench_sends_photos_through_the_shaped_link(tmp_path: Path) -> None:
    out = bench(
        "bench_photos.py",
        ["--json", "--photos", "2", "--side", "640", "--rate", "400000", "--rtt", "0.01"],
        tmp_path,
    )
    [result] = objects(out)
    assert {"seconds", "bound_seconds", "resent_bytes", "photos_stored", "expected"} <= set(result)
    assert result["photos_stored"] == result["expected"] == 2
    assert result["goals"]["nothing_lost_or_doubled"]["met"]


def test_app_bench_measures_the_phone_app_in_throttled_chromium(tmp_path: Path) -> None:
    out = bench("bench_app.py", ["--size", "tiny", "--runs", "1", "--json"], tmp_path)
    [result] = objects(out)
    assert result["cpu_throttle"] == 4 and result["viewport"] == "360x740"
    keys = (
        "install_bytes_gzip",
        "cold_start_offline_ms",
        "card_to_green_ms",
        "roster_keystroke_ms",
        "heap_after_day_mb",
        "sync_300_2g_s",
    )
    for key in keys:
        # A figure, not None: None would mean that step measured nothing.
        assert isinstance(result[key], int | float) and result[key] > 0, key
    # The decoder is part of the install; every card held to the camera was answered green.
    assert result["install_bytes_gzip"] > 400_000
    assert result["card_samples"] >= 2
    assert result["checkins"] == 12
    # The day's check-ins, its session and the session's photo all went up, the bytes too.
    synced = result["sync_12_2g"]
    assert (synced["left"], synced["photos"]) == (0, 1)
    assert synced["photo_bytes"] > 0 and synced["up_bytes"] > synced["photo_bytes"]
    assert result["sync_2g_bound_s"] > 0
    assert set(result["goals"]) == {*keys[:-1], "sync_2g_ratio"}
