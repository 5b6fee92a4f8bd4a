"""The tianjian-server command line, driven through click's CliRunner on a database in tmp_path."""

from __future__ import annotations

import csv
import gc
import io
import json
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import pytest
import zxingcpp
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from PIL import Image

from server.cli import cli
from server.store.db import init_db
from server.sync import apply_push, devices
from shared import protocol as p
from shared.gc_tuning import GEN0_THRESHOLD
from shared.ids import new_id
from shared.indicators import INDICATOR_KEYS
from tests.helpers import DATA, VILLAGE_EAST, results_of

PROTOCOL = {p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)}
CODE = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$")


def run(db_path: str, *args: str) -> Result:
    # A database on PostgreSQL has no folder beside it for photos: name one.
    media = {"TIANJIAN_MEDIA_DIR": tempfile.mkdtemp()} if "://" in db_path else {}
    return CliRunner(env=media).invoke(cli, ["--db", db_path, *args])


def ok(db_path: str, *args: str) -> Result:
    result = run(db_path, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def loaded(db_path: str) -> str:
    """A database with the test reference data, loaded through the commands themselves."""
    ok(db_path, "init")
    ok(db_path, "units", "load", str(DATA / "units.csv"))
    ok(db_path, "catalog", "load", str(DATA / "catalog.csv"))
    ok(db_path, "envoys", "load", str(DATA / "envoys.csv"))
    ok(db_path, "targets", "load", str(DATA / "targets.yaml"))
    return db_path


def assert_one_line_error(result: Result, *needles: str) -> None:
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(("错误 / Error: ", "错误："))
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]


def count(db_path: str, sql: str, params: list[Any] | None = None) -> Any:
    db = init_db(db_path)
    try:
        return db.execute(sql, params or []).fetchone()[0]
    finally:
        db.close()


def push(db_path: str, envoy_name: str, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    db = init_db(db_path)
    try:
        envoy = devices.envoy_by_name(db, envoy_name)
        code = devices.new_enrolment_code(db, envoy["id"], 60)
        db.conn.commit()
        device = devices.authenticate(db, devices.enrol_device(db, code, "phone")["token"])
        stamp = int(time.time() * 1000)
        for number, change in enumerate(changes, start=1):
            change.setdefault("q", number)
            change.setdefault("h", f"{stamp:013d}.{number:05d}")
            if change["k"] == p.SESSION:
                change["f"].setdefault("lead_envoy_id", envoy["id"])
        return results_of(apply_push(db, device, changes))
    finally:
        db.close()


# ---------------------------------------------------------------- setting up


def test_init_creates_the_database(tmp_path: Path) -> None:
    db_path = str(tmp_path / "new.db")
    result = ok(db_path, "init")
    assert db_path in result.output
    assert count(db_path, "SELECT count(*) FROM sqlite_master WHERE name = 'sessions'") == 1
    # Running it again is harmless.
    ok(db_path, "init")


def test_units_load(db_path: str, tmp_path: Path) -> None:
    result = ok(db_path, "units", "load", str(DATA / "units.csv"))
    assert "loaded 6 units" in result.output
    assert count(db_path, "SELECT name FROM units WHERE code = '530102001000'") == "城关镇"


def test_bad_units_csv_is_one_clear_line_naming_the_line(db_path: str, tmp_path: Path) -> None:
    bad = tmp_path / "units.csv"
    bad.write_text(
        "code,name,parent_code,level\n530102,示范县,,county\n53O102001,城关镇,530102,township\n",
        encoding="utf-8",
    )
    result = run(db_path, "units", "load", str(bad))
    assert_one_line_error(result, "line 3", "code", "bad file")
    # Nothing from the file is half-loaded.
    assert count(db_path, "SELECT count(*) FROM units") == 0


def test_gbk_csv_from_excel_is_one_clear_line(db_path: str, tmp_path: Path) -> None:
    gbk = tmp_path / "units.csv"
    gbk.write_bytes("code,name,parent_code,level\n530102,示范县,,county\n".encode("gbk"))
    assert_one_line_error(run(db_path, "units", "load", str(gbk)), "line 2", "UTF-8")


def test_missing_file_is_one_clear_line(db_path: str, tmp_path: Path) -> None:
    result = run(db_path, "units", "load", str(tmp_path / "nowhere.csv"))
    assert_one_line_error(result, "file not found", "nowhere.csv")


def test_catalog_load(db_path: str, tmp_path: Path) -> None:
    result = ok(db_path, "catalog", "load", str(DATA / "catalog.csv"))
    assert result.output.splitlines() == ["technology: 2", "variety: 2", "leaflet_title: 2"]
    assert count(db_path, "SELECT crop FROM varieties WHERE name = '云薯304'") == "马铃薯"
    # Reloading updates in place: ids come from names.
    ok(db_path, "catalog", "load", str(DATA / "catalog.csv"))
    assert count(db_path, "SELECT count(*) FROM technologies") == 2


def test_bad_catalog_type_names_the_line(db_path: str, tmp_path: Path) -> None:
    bad = tmp_path / "catalog.csv"
    bad.write_text(
        "type,name,crop,category\ntechnology,滴灌,,\nfertiliser,尿素,,\n", encoding="utf-8"
    )
    assert_one_line_error(run(db_path, "catalog", "load", str(bad)), "line 3", "fertiliser")


def test_targets_load_yaml_and_json(db_path: str, tmp_path: Path) -> None:
    ok(db_path, "units", "load", str(DATA / "units.csv"))
    result = ok(db_path, "targets", "load", str(DATA / "targets.yaml"))
    assert "loaded 7 targets" in result.output
    plan = {
        "year": 2027,
        "unit_code": "530102",
        "targets": [
            {"indicator": "trainee_attendances", "comparator": ">", "value": 3500},
            {"indicator": "demo_area_mu", "comparator": ">=", "value": 5000},
        ],
    }
    path = tmp_path / "targets-2027.json"
    path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    assert "loaded 2 targets" in ok(db_path, "targets", "load", str(path)).output
    where = "FROM targets WHERE year = 2027 AND indicator = 'trainee_attendances'"
    assert count(db_path, f"SELECT comparator {where}") == ">"
    assert count(db_path, f"SELECT value {where}") == 3500.0
    assert count(db_path, "SELECT count(*) FROM targets WHERE year = 2026") == 7


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_targets_with_unknown_indicator_are_refused(
    db_path: str, tmp_path: Path, suffix: str
) -> None:
    ok(db_path, "units", "load", str(DATA / "units.csv"))
    plan = {
        "year": 2027,
        "unit_code": "530102",
        "targets": [
            {"indicator": "village_trainings", "comparator": ">=", "value": 8},
            {"indicator": "happy_farmers", "comparator": ">=", "value": 100},
        ],
    }
    path = tmp_path / f"targets.{suffix}"
    path.write_text(json.dumps(plan), encoding="utf-8")  # JSON is valid YAML too
    result = run(db_path, "targets", "load", str(path))
    assert_one_line_error(result, "indicator", "bad file")
    assert count(db_path, "SELECT count(*) FROM targets WHERE year = 2027") == 0


def test_targets_for_an_unloaded_unit_are_refused(db_path: str, tmp_path: Path) -> None:
    ok(db_path, "units", "load", str(DATA / "units.csv"))
    path = tmp_path / "targets.yaml"
    path.write_text(
        'year: 2026\nunit_code: "530199"\ntargets:\n'
        '  - {indicator: tv_lectures, comparator: ">=", value: 2}\n',
        encoding="utf-8",
    )
    assert_one_line_error(run(db_path, "targets", "load", str(path)), "530199")


# ---------------------------------------------------------------- enrolment


def test_enroll_prints_a_code_that_enrols_once(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    result = ok(db_path, "enroll", "--envoy", "张三", "--minutes", "30")
    code = result.stdout.strip()
    assert CODE.match(code), result.stdout
    assert "张三" in result.stderr and "30" in result.stderr
    db = init_db(db_path)
    try:
        enrolled = devices.enrol_device(db, code, "phone")
        assert enrolled["envoy"]["name"] == "张三"
        with pytest.raises(devices.BadEnrolmentCode):
            devices.enrol_device(db, code, "another phone")
    finally:
        db.close()


def test_enroll_qr_holds_the_code_but_no_phone_number(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    png = tmp_path / "code.png"
    result = ok(
        db_path,
        "enroll",
        "--envoy",
        "张三",
        "--qr",
        str(png),
        "--server-url",
        "http://10.0.0.5:8080",
    )
    code = result.stdout.strip()
    assert png.read_bytes().startswith(b"\x89PNG")
    [barcode] = zxingcpp.read_barcodes(Image.open(png))
    assert code in barcode.text
    assert "http://10.0.0.5:8080" in barcode.text
    assert "13800138000" not in barcode.text
    assert not re.search(r"1[3-9]\d{9}", barcode.text)
    assert "张三" not in barcode.text


def test_enroll_qr_is_readable_by_its_owner_only(db_path: str, tmp_path: Path) -> None:
    """The PNG enrols a device: 0600 like the databases, an existing wider file narrowed."""
    db_path = loaded(db_path)
    fresh, existing = tmp_path / "fresh.png", tmp_path / "existing.png"
    existing.write_bytes(b"old")
    existing.chmod(0o644)
    for png in (fresh, existing):
        ok(db_path, "enroll", "--envoy", "张三", "--qr", str(png), "--server-url", "http://h")
        assert stat.S_IMODE(png.stat().st_mode) == 0o600, png
        assert png.read_bytes().startswith(b"\x89PNG")


def test_enroll_unknown_envoy(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    assert_one_line_error(run(db_path, "enroll", "--envoy", "无名氏"), "no such envoy", "无名氏")
    # With townships the envoy is created on the spot.
    result = ok(db_path, "enroll", "--envoy", "无名氏", "--township", "530102002")
    assert CODE.match(result.stdout.strip())
    assert (
        count(db_path, "SELECT township_codes FROM envoys WHERE name = '无名氏'")
        == '["530102002000"]'
    )


# ---------------------------------------------------------------- report


def seed_records(db_path: str) -> None:
    session_id, farmer_id = new_id(), new_id()
    results = push(
        db_path,
        "张三",
        [
            {"k": p.FARMER, "i": farmer_id, "f": {"name": "赵大", "village_code": VILLAGE_EAST}},
            {
                "k": p.SESSION,
                "i": session_id,
                "f": {
                    "kind": "village_training",
                    "title": "培训",
                    "unit_code": VILLAGE_EAST,
                    "starts_at": "2026-05-10T02:00:00Z",
                },
            },
            {
                "k": p.SESSION,
                "i": new_id(),
                "f": {
                    "kind": "village_training",
                    "title": "只报数",
                    "unit_code": VILLAGE_EAST,
                    "starts_at": "2026-05-11T02:00:00Z",
                    "reported_headcount": 25,
                },
            },
            {
                "k": p.ATTENDANCE,
                "f": {
                    "session_id": session_id,
                    "farmer_id": farmer_id,
                    "checked_in_at": "2026-05-10T02:05:00Z",
                    "method": "qr_self",
                },
            },
        ],
    )
    assert {result["s"] for result in results} == {p.APPLIED}


def test_report_json_has_the_documented_shape(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    seed_records(db_path)
    data = json.loads(ok(db_path, "report", "--year", "2026", "--format", "json").stdout)
    assert {"year", "unit", "as_of", "indicators"} <= set(data)
    assert data["year"] == 2026
    assert data["unit"] == {"code": "530102000000", "name": "示范县"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["as_of"])
    assert [line["key"] for line in data["indicators"]] == list(INDICATOR_KEYS)
    for line in data["indicators"]:
        assert {
            "key",
            "label_zh",
            "label_en",
            "comparator",
            "target",
            "actual",
            "percent",
            "met",
        } <= set(line)
    lines = {line["key"]: line for line in data["indicators"]}
    person_times = lines["trainee_attendances"]
    assert (person_times["verified"], person_times["reported"], person_times["actual"]) == (
        1,
        25,
        1,
    )
    assert (person_times["comparator"], person_times["target"], person_times["met"]) == (
        ">",
        3000,
        False,
    )
    assert lines["village_trainings"]["actual"] == 2
    assert lines["village_trainings"]["percent"] == 25.0


def test_report_for_a_township_and_an_unknown_unit(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    seed_records(db_path)
    data = json.loads(
        ok(db_path, "report", "--year", "2026", "--unit", "530102002", "--format", "json").stdout
    )
    assert data["unit"]["name"] == "河口乡"
    assert all(line["actual"] == 0 for line in data["indicators"])
    assert_one_line_error(run(db_path, "report", "--unit", "530199"), "unknown unit", "530199")


def test_report_csv_starts_with_a_bom(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    seed_records(db_path)
    result = ok(db_path, "report", "--year", "2026", "--format", "csv")
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbf")
    text = result.stdout_bytes.decode("utf-8-sig")
    first, rest = text.split("\n", 1)
    assert "示范县" in first and "2026" in first and "北京时间" in first
    rows = list(csv.DictReader(io.StringIO(rest)))
    assert [row["指标代码"] for row in rows] == list(INDICATOR_KEYS)
    assert rows[0]["指标"] == "培训人次"
    assert (rows[0]["核实"], rows[0]["报数"], rows[0]["是否达标"]) == ("1", "25", "否")
    assert rows[0]["比较"] == "超过"
    assert "True" not in text and "False" not in text


def test_report_table(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    seed_records(db_path)
    output = ok(db_path, "report", "--year", "2026").stdout
    assert output.splitlines()[0].startswith("示范县 2026 年")
    assert "培训人次" in output and "核实 1 / 报数 25" in output
    assert "超过 3000" in output and "✗ 未达标" in output
    assert "北京时间" in output.splitlines()[0] and "Z" not in output.splitlines()[0]


# ---------------------------------------------------------------- devices and farmers


def test_devices_list_and_revoke(client: FlaskClient, db_path: str) -> None:
    code = ok(db_path, "enroll", "--envoy", "李梅").stdout.strip()
    enrolled = client.post(
        "/api/v1/enrolments", json={"code": code, "device_name": "李梅的平板"}, headers=PROTOCOL
    )
    assert enrolled.status_code == 201
    device_id = enrolled.get_json()["device_id"]
    headers = {**PROTOCOL, "Authorization": f"Bearer {enrolled.get_json()['token']}"}
    assert client.get("/api/v1/sync/pull", headers=headers).status_code == 200

    [listed] = ok(db_path, "devices", "list").stdout.splitlines()
    assert listed.startswith(device_id)
    assert "李梅" in listed and "李梅的平板" in listed and "active" in listed

    assert device_id in ok(db_path, "devices", "revoke", device_id).stdout
    assert "revoked" in ok(db_path, "devices", "list").stdout
    response = client.get("/api/v1/sync/pull", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {
        "code": 401,
        "status": "Unauthorized",
        "message": "设备令牌无效或已被撤销 / device token unknown or revoked",
        "errors": {},
    }
    assert_one_line_error(run(db_path, "devices", "revoke", device_id), "no active device")


def test_farmers_candidates_and_merge(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    first, second = new_id(), new_id()
    push(
        db_path,
        "张三",
        [
            {
                "k": p.FARMER,
                "i": first,
                "f": {"name": "孙梅", "mobile": "13612345678", "village_code": VILLAGE_EAST},
            },
            {
                "k": p.FARMER,
                "i": second,
                "f": {"name": "孙玫", "mobile": "13612345678", "village_code": VILLAGE_EAST},
            },
        ],
    )
    [candidate] = ok(db_path, "farmers", "candidates").stdout.splitlines()
    assert "手机号相同" in candidate and "same_mobile" not in candidate
    assert "孙梅" in candidate and "孙玫" in candidate
    assert first in candidate and second in candidate
    assert "136****5678" in candidate
    assert "13612345678" not in candidate

    result = ok(db_path, "farmers", "merge", second, first)
    assert "merged" in result.stdout
    assert count(db_path, "SELECT canonical_id FROM farmer_aliases WHERE id = ?", [second]) == first
    assert ok(db_path, "farmers", "candidates").stdout == ""
    assert_one_line_error(run(db_path, "farmers", "merge", second, first), "already merged")
    assert_one_line_error(run(db_path, "farmers", "merge", new_id(), first), "no such farmer")


def test_conflicts_and_purge_tombstones_run(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    assert ok(db_path, "conflicts").stdout == "没有编辑冲突 / no conflicting edits\n"
    assert "purged 0 tombstones" in ok(db_path, "purge-tombstones", "--days", "180").stdout


def test_run_serves_with_startup_objects_frozen(
    db_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import waitress

    served: list[dict[str, Any]] = []

    def serve(app: Any, **options: Any) -> None:
        served.append({**options, "frozen": gc.get_freeze_count(), "gen0": gc.get_threshold()[0]})

    before = gc.get_threshold()
    monkeypatch.setattr(waitress, "serve", serve)
    try:
        ok(loaded(db_path), "run", "--port", "8123")
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
    assert served[0]["port"] == 8123
    assert served[0]["frozen"] > 1000
    assert served[0]["gen0"] == GEN0_THRESHOLD


# ---------------------------------------------------------------- help


def walk(
    command: click.Command, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += walk(sub, (*path, name))
    return found


def test_every_command_has_help() -> None:
    commands = walk(cli)
    names = {" ".join(path) for path, _ in commands}
    assert {
        "init",
        "units load",
        "envoys load",
        "catalog load",
        "targets load",
        "enroll",
        "devices list",
        "devices revoke",
        "farmers candidates",
        "farmers merge",
        "conflicts",
        "purge-tombstones",
        "run",
        "report",
    } <= names
    for path, command in commands:
        assert (command.help or "").strip(), path
        assert command.get_short_help_str().strip(), path
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        # Click rewraps help to the terminal; the opening words are enough to recognise it.
        opening = " ".join(command.help.split()[:4])
        assert opening in " ".join(result.output.split()), path


def test_farmers_dismiss_keeps_two_people_apart(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    push(
        db_path,
        "张三",
        [
            {
                "k": p.FARMER,
                "i": new_id(),
                "f": {"name": "周强", "mobile": "13612345679", "village_code": VILLAGE_EAST},
            },
            {
                "k": p.FARMER,
                "i": new_id(),
                "f": {"name": "周丽", "mobile": "13612345679", "village_code": VILLAGE_EAST},
            },
        ],
    )
    [candidate] = ok(db_path, "farmers", "candidates").stdout.splitlines()
    number = candidate.split()[0].lstrip("#").rstrip(":")
    assert "different people" in ok(db_path, "farmers", "dismiss", number).stdout
    assert ok(db_path, "farmers", "candidates").stdout == ""
    assert count(db_path, "SELECT count(*) FROM farmer_aliases", []) == 0


def test_held_lists_check_ins_waiting_for_their_session(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    farmer, missing_session = new_id(), new_id()
    answers = push(
        db_path,
        "张三",
        [
            {"k": p.FARMER, "i": farmer, "f": {"name": "吴刚", "village_code": VILLAGE_EAST}},
            {
                "k": p.ATTENDANCE,
                "f": {
                    "session_id": missing_session,
                    "farmer_id": farmer,
                    "checked_in_at": "2026-05-01T01:30:00Z",
                    "method": "qr_self",
                },
            },
        ],
    )
    assert [a["s"] for a in answers] == [p.APPLIED, p.HELD]
    [line] = ok(db_path, "held").stdout.splitlines()
    assert "张三" in line and f"session {missing_session}" in line and "等待培训场次" in line


# ---------------------------------------------------------------- bad input: one line, nothing written


def test_report_without_a_database_creates_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIANJIAN_DB", raising=False)
    result = CliRunner().invoke(cli, ["report"])
    assert_one_line_error(result, "no database at tianjian.db", "init")
    assert list(tmp_path.iterdir()) == []
    for command in (["held"], ["conflicts"], ["devices", "list"], ["farmers", "candidates"]):
        assert_one_line_error(CliRunner().invoke(cli, command), "no database")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "db_name, needle",
    [("no-such-folder/t.db", "cannot open database"), ("not-a-db.txt", "file is not a database")],
)
def test_unopenable_database_is_one_clear_line(tmp_path: Path, db_name: str, needle: str) -> None:
    (tmp_path / "not-a-db.txt").write_text("hello", encoding="utf-8")
    db_path = str(tmp_path / db_name)
    for args in (["init"], ["units", "load", str(DATA / "units.csv")]):
        assert_one_line_error(run(db_path, *args), needle, db_path)
    if db_name == "not-a-db.txt":
        assert_one_line_error(run(db_path, "report"), needle, db_path)


def test_report_year_out_of_range_names_the_year(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    assert_one_line_error(run(db_path, "report", "--year", "20266"), "20266", "year")


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--minutes", "-5"], ("minutes", "-5")),
        (["--minutes", "0"], ("minutes",)),
        (["--township", "999"], ("township_codes", "999")),
        (["--qr", "q.png", "--server-url", "10.0.0.5:8080"], ("http://", "10.0.0.5:8080")),
        (["--qr", "q.png"], ("--server-url",)),
    ],
)
def test_enroll_bad_options_issue_no_code(
    db_path: str, tmp_path: Path, args: list[str], needles: tuple[str, ...]
) -> None:
    db_path = loaded(db_path)
    envoy = "无名氏" if "--township" in args else "张三"
    args = [str(tmp_path / a) if a == "q.png" else a for a in args]
    assert_one_line_error(run(db_path, "enroll", "--envoy", envoy, *args), *needles)
    assert count(db_path, "SELECT count(*) FROM enrolment_codes") == 0
    assert count(db_path, "SELECT count(*) FROM envoys WHERE name = '无名氏'") == 0
    assert not (tmp_path / "q.png").exists()


def test_farmers_dismiss_of_no_such_pair_is_refused(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    assert_one_line_error(run(db_path, "farmers", "dismiss", "99"), "#99", "no open candidate")
    assert count(db_path, "SELECT count(*) FROM merge_candidates") == 0


def test_farmers_dismiss_twice_is_refused(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    push(
        db_path,
        "张三",
        [
            {
                "k": p.FARMER,
                "i": new_id(),
                "f": {"name": "周强", "mobile": "13612345679", "village_code": VILLAGE_EAST},
            },
            {
                "k": p.FARMER,
                "i": new_id(),
                "f": {"name": "周丽", "mobile": "13612345679", "village_code": VILLAGE_EAST},
            },
        ],
    )
    ok(db_path, "farmers", "dismiss", "1")
    assert_one_line_error(run(db_path, "farmers", "dismiss", "1"), "#1")


def test_unwritable_qr_path_is_one_clear_line(db_path: str, tmp_path: Path) -> None:
    db_path = loaded(db_path)
    png = tmp_path / "no-such-folder" / "q.png"
    result = run(
        db_path, "enroll", "--envoy", "张三", "--qr", str(png), "--server-url", "http://10.0.0.5"
    )
    assert_one_line_error(result, "file not found", str(png))


def test_every_command_answers_tianjian_errors_in_one_line(
    db_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The friendly-error map sits on the root group: no command can forget it."""
    from shared.errors import TianjianError

    class Refused(TianjianError):
        message = "不行 / refused"

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise Refused()

    db_path = loaded(db_path)
    # Every command opens the database first: make that refuse, and each must say so in one line.
    monkeypatch.setattr("server.cli.init_db", refuse)
    for path, command in walk(cli):
        if isinstance(command, click.Group) and not command.invoke_without_command:
            continue
        args = [] if isinstance(command, click.Group) else _sample_arguments(command)
        result = CliRunner(env={"TIANJIAN_PASSWORD": "long-enough-secret"}).invoke(
            cli, ["--db", db_path, *path, *args]
        )
        assert_one_line_error(result, "refused")


def _sample_arguments(command: click.Command) -> list[str]:
    """Required arguments and options filled with something parseable."""
    args: list[str] = []
    for param in command.params:
        if not param.required and not isinstance(param, click.Argument):
            continue
        if isinstance(param.type, click.Choice):
            value = str(param.type.choices[0])
        elif isinstance(param.type, click.types.IntParamType):
            value = "1"
        else:
            value = "x"
        args += [param.opts[0], value] if isinstance(param, click.Option) else [value]
    return args


def test_load_commands_refuse_files_built_to_take_the_server_down(
    db_path: str, tmp_path: Path
) -> None:
    """Issue 18.8/18.11: the `load` commands read through the same limits as the pages."""
    from tests.server.files.test_file_limits import TARGETS_YAML, alias_bomb, empty_rows, workbook

    files = {
        "bomb.yaml": (alias_bomb().encode(), "alias"),
        "deep.json": (b"[" * 100_000 + b"]" * 100_000, "nested"),
        "utf16.yaml": (TARGETS_YAML.encode("utf-16"), "UTF-16"),
        "rows.xlsx": (workbook(empty_rows(8_000_000)), "20,000"),
    }
    for name, (data, named) in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = run(db_path, "targets", "load", str(path), "--year", "2026")
        assert result.exit_code == 1, (name, result.output)
        assert named in result.output and "Traceback" not in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    units = tmp_path / "units.csv"
    units.write_bytes("code,name,parent_code,level\n53,云南,,county\n".encode("gbk"))
    result = run(db_path, "units", "load", str(units))
    assert result.exit_code == 1 and "GBK" in result.output
