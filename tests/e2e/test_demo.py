"""scripts/demo_county.py builds a county whose report is non-trivial and adds up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from field_client.store import FieldStore
from server.db import init_db
from server.report import build_report

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "demo_county.py"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "demo"
    subprocess.run(
        [sys.executable, str(SCRIPT), "build", "--dir", str(folder), "--quiet"],
        cwd=ROOT,
        check=True,
        timeout=180,
    )
    return folder


@pytest.fixture(scope="module")
def summary(demo: Path) -> dict[str, Any]:
    return json.loads((demo / "demo.json").read_text())


@pytest.fixture(scope="module")
def lines(demo: Path, summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    db = init_db(str(demo / "server.db"))
    try:
        report = build_report(db, summary["year"])
    finally:
        db.close()
    assert report["unit"]["code"] == "530326000000"
    return {line["key"]: line for line in report["indicators"]}


def test_person_times_count_every_attendance_and_people_once(lines: dict[str, Any]) -> None:
    attendances = lines["trainee_attendances"]
    assert attendances["actual"] == attendances["verified"]
    assert attendances["verified"] >= lines["unique_trainees"]["actual"] > 0
    # Some farmers came to several sessions, so people are fewer than person-times.
    assert attendances["verified"] > lines["unique_trainees"]["actual"]


def test_verified_and_reported_are_both_present_and_kept_apart(lines: dict[str, Any]) -> None:
    attendances = lines["trainee_attendances"]
    assert attendances["verified"] > 0
    assert attendances["reported"] > 0
    assert lines["tv_lectures"]["actual"] >= 1
    # A TV audience estimate is never counted as trainees.
    assert lines["tv_lectures"]["audience_estimate"] > attendances["reported"]


def test_leaflets_handed_out_never_exceed_those_received(lines: dict[str, Any]) -> None:
    leaflets = lines["leaflets_distributed"]
    assert 0 < leaflets["actual"] <= leaflets["received"]


def test_sessions_plots_and_catalogue_figures(lines: dict[str, Any]) -> None:
    assert lines["village_trainings"]["actual"] >= 8
    assert lines["large_trainings"]["actual"] >= 1
    assert lines["technologies_promoted"]["actual"] >= 20
    assert lines["varieties_introduced"]["actual"] >= 10
    assert lines["demo_plots"]["actual"] > 0
    assert lines["demo_area_mu"]["actual"] > 0


def test_every_target_is_judged(lines: dict[str, Any]) -> None:
    targeted = [line for line in lines.values() if line["target"] is not None]
    assert {line["key"] for line in targeted} >= {
        "trainee_attendances",
        "leaflets_distributed",
        "village_trainings",
        "large_trainings",
        "tv_lectures",
        "technologies_promoted",
        "varieties_introduced",
    }
    for line in targeted:
        assert line["met"] in (True, False), line["key"]
    assert lines["trainee_attendances"]["comparator"] == ">"
    assert lines["trainee_attendances"]["target"] == 3000


def test_units_carry_proper_statistical_codes(demo: Path) -> None:
    db = init_db(str(demo / "server.db"))
    try:
        units = {row["code"]: row for row in db.query("SELECT * FROM units")}
    finally:
        db.close()
    levels = [unit["level"] for unit in units.values()]
    assert levels.count("county") == 1
    assert 15 <= levels.count("township") <= 25
    assert 180 <= levels.count("village") <= 400
    for code, unit in units.items():
        assert len(code) == 12 and code.startswith("530326")
        if unit["level"] == "village":
            assert unit["parent_code"] == code[:9] + "000"
            assert units[unit["parent_code"]]["level"] == "township"


def test_same_farmer_on_two_devices_is_merged_or_offered(demo: Path) -> None:
    db = init_db(str(demo / "server.db"))
    try:
        aliased = db.execute("SELECT count(*) FROM farmer_aliases").fetchone()[0]
        pairs = db.execute(
            "SELECT a.id, b.id, a.mobile FROM farmers a JOIN farmers b ON a.name = b.name "
            "AND a.village_code = b.village_code AND a.birth_year = b.birth_year "
            "AND a.id < b.id AND a.device_id != b.device_id"
        ).fetchall()
        linked = {
            frozenset(row)
            for row in db.execute("SELECT id, canonical_id FROM farmer_aliases").fetchall()
            + db.execute("SELECT farmer_a, farmer_b FROM merge_candidates").fetchall()
        }
    finally:
        db.close()
    assert aliased > 0
    assert pairs
    for first, second, _mobile in pairs:
        assert frozenset((first, second)) in linked


def test_every_device_sent_everything(demo: Path, summary: dict[str, Any]) -> None:
    assert len(summary["field_dbs"]) >= 2
    for name in summary["field_dbs"]:
        store = FieldStore(str(demo / name))
        try:
            assert store.counts() == {}
            assert store.records("farmer")
        finally:
            store.close()


def test_rebuilding_starts_fresh(demo: Path, tmp_path: Path) -> None:
    stray = demo / "left-over.txt"
    stray.write_text("from an earlier run")
    subprocess.run(
        [sys.executable, str(SCRIPT), "build", "--dir", str(demo), "--quiet"],
        cwd=ROOT,
        check=True,
        timeout=180,
    )
    assert not stray.exists()
    elsewhere = tmp_path / "not-a-demo"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep me")
    refused = subprocess.run(
        [sys.executable, str(SCRIPT), "build", "--dir", str(elsewhere), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert (elsewhere / "precious.txt").exists()


def test_demo_has_accounts_to_sign_in_with(demo: Path) -> None:
    from server import users

    # Read afresh: another test rebuilt the demo, and every build makes new passwords.
    summary = json.loads((demo / "demo.json").read_text())
    accounts = {account["name"]: account for account in summary["users"]}
    assert accounts["admin"]["role"] == users.ADMIN
    db = init_db(str(demo / "server.db"))
    try:
        for account in accounts.values():
            user = users.sign_in(db, account["name"], account["password"], "test")
            assert user.role == account["role"]
        assert users.user_by_name(db, "lijianhua").envoy_id is not None
    finally:
        db.close()


def test_demo_script_prints_the_admin_and_the_address() -> None:
    script = (ROOT / "scripts" / "demo").read_text()
    assert "$ADMIN_PASSWORD" in script and "open in a browser:  $URL/" in script
