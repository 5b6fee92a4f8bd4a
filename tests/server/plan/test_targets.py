"""Targets: set one from a page, load CSV/XLSX with Chinese headers, growth on last year, the
monthly profile, envoy targets; each judged on crafted data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlite_utils import Database

from server.files.file_limits import UnreadableFile
from server.plan import profiles, target_files, targets
from server.plan.breakdowns import breakdown
from server.plan.report import build_report
from server.plan.target_files import load_targets_file
from server.plan.targets import InvalidTarget
from shared.clock import CHINA
from tests.server.fieldwork import MID_2026, Envoy, report_db

TOWNSHIP = "530102001"


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


@pytest.fixture
def zhang(db: Database) -> Envoy:
    return Envoy(db, "张三")


def line(db: Database, key: str, unit: str | None = None, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("now", MID_2026)
    report = build_report(db, 2026, unit, **kwargs)
    [found] = [item for item in report["indicators"] if item["key"] == key]
    return found


def trainings(zhang: Envoy, count: int, year: int = 2026, unit: str = "530102001001") -> None:
    for n in range(count):
        zhang.session(unit_code=unit, starts_at=f"{year}-0{1 + n % 9}-10T02:00:00Z")


# ---------------------------------------------------------------- one target from a page


def test_a_township_target_set_from_a_page_is_judged_strictly(db: Database, zhang: Envoy) -> None:
    stored = targets.set_target(
        db,
        {
            "year": "2026",
            "indicator": "进村培训次数",  # the page may send the Chinese label
            "comparator": "超过",
            "value": "3",
            "unit_code": TOWNSHIP,
        },
    )
    assert (stored.indicator, stored.comparator, stored.value) == ("village_trainings", ">", 3)
    trainings(zhang, 3)
    at_three = line(db, "village_trainings", TOWNSHIP)
    assert (at_three["target"], at_three["actual"], at_three["met"]) == (3, 3, False)
    targets.set_target(
        db,
        {
            "year": 2026,
            "indicator": "village_trainings",
            "comparator": ">=",
            "value": 3,
            "unit_code": TOWNSHIP,
        },
    )
    assert line(db, "village_trainings", TOWNSHIP)["met"] is True
    assert line(db, "village_trainings", TOWNSHIP)["status_zh"] == "已达标"
    # The county's own target (seed 000: 8 village trainings) is untouched.
    assert line(db, "village_trainings")["target"] == 8


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"indicator": "rainfall", "value": 3}, "indicator", ("未知的指标", "unknown indicator")),
        ({"indicator": "tv_lectures", "value": -1}, "value", ("非负数", "0 or more")),
        ({"indicator": "tv_lectures", "value": "很多"}, "value", ("数字", "number")),
        (
            {"indicator": "tv_lectures", "comparator": "<", "value": 2},
            "comparator",
            ("比较", "> or >="),
        ),
        ({"indicator": "tv_lectures"}, "value", ("目标值", "value")),
        (
            {"indicator": "tv_lectures", "value": 2, "envoy_id": None, "unit_code": None},
            "unit_code",
            ("单位代码", "unit code"),
        ),
        (
            {"indicator": "tv_lectures", "value": 2, "unit_code": "530199"},
            "unit_code",
            ("没有这个单位", "no such unit"),
        ),
        ({"indicator": "tv_lectures", "value": 2, "year": 1999}, "year", ("年度", "year")),
    ],
)
def test_a_bad_target_names_its_field_in_chinese_and_english(
    db: Database, data: dict[str, Any], field: str, words: tuple[str, str]
) -> None:
    form = {"year": 2026, "unit_code": TOWNSHIP, **data}
    before = db.execute("SELECT count(*) FROM targets").fetchone()[0]
    with pytest.raises(InvalidTarget) as caught:
        targets.set_target(db, form)
    assert caught.value.status == 422
    reason = str(caught.value.errors[field])
    assert words[0] in reason and words[1] in reason, reason
    assert db.execute("SELECT count(*) FROM targets").fetchone()[0] == before


def test_an_envoys_target_and_progress(db: Database, zhang: Envoy) -> None:
    wang = Envoy(db, "王五")
    targets.set_target(
        db, {"year": 2026, "indicator": "village_trainings", "value": 2, "envoy_id": zhang.envoy_id}
    )
    trainings(zhang, 2)
    wang.session(unit_code="530102002001")
    mine = build_report(db, 2026, envoy_id=zhang.envoy_id, now=MID_2026)
    assert mine["unit"]["name"] == "张三"
    [village] = [i for i in mine["indicators"] if i["key"] == "village_trainings"]
    assert (village["actual"], village["target"], village["met"]) == (2, 2, True)
    theirs = build_report(db, 2026, envoy_id=wang.envoy_id, now=MID_2026)
    [other] = [i for i in theirs["indicators"] if i["key"] == "village_trainings"]
    assert (other["actual"], other["target"]) == (1, None)
    rows = {r["key"]: r for r in breakdown(db, 2026, "envoy", now=MID_2026)["rows"]}
    assert rows[zhang.envoy_id]["targets"]["village_trainings"]["met"] is True
    assert rows[wang.envoy_id]["targets"] == {}


# ---------------------------------------------------------------- growth on last year


def test_growth_target_is_last_years_actual_plus_the_percent(db: Database, zhang: Envoy) -> None:
    trainings(zhang, 10, year=2025)
    targets.set_target(
        db,
        {
            "year": 2026,
            "indicator": "village_trainings",
            "value": "同比增长 10%",
            "unit_code": TOWNSHIP,
        },
    )
    trainings(zhang, 10)
    behind = line(db, "village_trainings", TOWNSHIP)
    assert (behind["basis"], behind["growth_percent"], behind["last_year_actual"]) == (
        "growth",
        10,
        10,
    )
    assert behind["target"] == 11
    assert behind["met"] is False
    trainings(zhang, 1)
    assert line(db, "village_trainings", TOWNSHIP)["met"] is True
    # The last year's figure moves with last year's records (a late sync), and so does the target.
    trainings(zhang, 10, year=2025)
    assert line(db, "village_trainings", TOWNSHIP)["target"] == 22


def test_growth_with_no_last_year_says_so_and_is_never_met(
    db: Database, db_path: str, zhang: Envoy
) -> None:
    """同比增长 10% for a township with no 2025 records: no number to reach, 无上年数据,
    never 已达标, on progress, in the township breakdown and in the report CLI."""
    targets.set_target(
        db,
        {
            "year": 2026,
            "indicator": "village_trainings",
            "value": "同比增长 10%",
            "unit_code": TOWNSHIP,
        },
    )
    trainings(zhang, 2)
    found = line(db, "village_trainings", TOWNSHIP)
    assert (found["target"], found["met"], found["percent"]) == (None, None, None)
    assert (found["status"], found["status_zh"], found["basis_missing"]) == (
        "no_basis",
        "无上年数据",
        True,
    )
    township = next(
        row
        for row in breakdown(db, 2026, "township", now=MID_2026)["rows"]
        if row["key"] == "530102001000"
    )["targets"]["village_trainings"]
    assert (township["target"], township["met"], township["status"]) == (None, None, "no_basis")
    from click.testing import CliRunner

    from server.cli import cli

    shown = CliRunner().invoke(
        cli, ["--db", db_path, "report", "--year", "2026", "--unit", "530102001000"]
    )
    [printed] = [text for text in shown.output.splitlines() if text.startswith("进村培训次数")]
    assert "无上年数据" in printed and "达标" not in printed
    # Once last year has a figure, the target is a number again and is judged.
    trainings(zhang, 1, year=2025)
    assert line(db, "village_trainings", TOWNSHIP)["target"] == 1.1


def test_a_refused_target_names_the_field_and_the_reason(db: Database) -> None:
    with pytest.raises(InvalidTarget) as caught:
        targets.set_target(
            db, {"year": 2026, "indicator": "tv_lectures", "value": "很多", "unit_code": TOWNSHIP}
        )
    assert "目标值：" in caught.value.message and "数字" in caught.value.message
    assert "number" in caught.value.message


@pytest.mark.parametrize("suffix", ["yaml", "json", "csv"])
def test_every_kind_of_file_takes_growth_written_in_words(
    db: Database, db_path: str, tmp_path: Path, suffix: str
) -> None:
    """The README's YAML, JSON and a spreadsheet: "同比增长 10%" and 超过 as the page takes them."""
    from click.testing import CliRunner

    from server.cli import cli

    path = tmp_path / f"targets.{suffix}"
    if suffix == "csv":
        path.write_text(
            "指标,比较,目标值,同比增长,单位代码\n培训人次,,同比增长 10%,,530102\n"
            "进村培训次数,超过,,5%,530102\n",
            encoding="utf-8-sig",
        )
    else:
        lines = [
            {"indicator": "培训人次", "value": "同比增长 10%"},
            {"indicator": "village_trainings", "comparator": "超过", "growth_percent": "5%"},
        ]
        plan = {"year": 2027, "unit_code": "530102", "targets": lines}
        path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--db", db_path, "targets", "load", str(path), "--year", "2027"]
    )
    assert result.exit_code == 0, result.output
    stored = {t.indicator: t for t in targets.list_targets(db, 2027)}
    assert (stored["trainee_attendances"].basis, stored["trainee_attendances"].growth_percent) == (
        "growth",
        10,
    )
    assert (stored["village_trainings"].comparator, stored["village_trainings"].growth_percent) == (
        ">",
        5,
    )


# ---------------------------------------------------------------- files


def test_csv_with_chinese_headers_loads_every_line(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "目标.csv"
    path.write_text(
        "指标,比较,目标值,单位代码\n"
        "培训人次,超过,3500,530102\n"
        "发放资料份数,不少于,6000,530102\n"
        "进村培训次数,>=,4,530102001\n"
        "培训人数,>=,同比增长 5%,530102002\n",
        encoding="utf-8-sig",
    )
    assert load_targets_file(db, str(path), year=2027) == 4
    stored = {(t.unit_code, t.indicator): t for t in targets.list_targets(db, 2027)}
    assert stored[("530102000000", "trainee_attendances")].comparator == ">"
    assert stored[("530102000000", "trainee_attendances")].value == 3500
    assert stored[("530102001000", "village_trainings")].value == 4
    growth = stored[("530102002000", "unique_trainees")]
    assert (growth.basis, growth.growth_percent, growth.value) == ("growth", 5, None)


def test_xlsx_with_codes_as_numbers_and_an_envoy_column(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "targets.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["年度", "指标", "比较", "目标值", "单位代码", "特派员"])
    sheet.append([2026, "大型培训次数", "以上", 3, 530102, None])
    sheet.append([2026, "进村培训次数", "不少于", 5, None, "张三"])
    book.save(path)
    assert target_files.load_targets_file(db, str(path)) == 2
    assert line(db, "large_trainings")["target"] == 3
    zhang = Envoy(db, "张三")
    [village] = [
        i
        for i in build_report(db, 2026, envoy_id=zhang.envoy_id, now=MID_2026)["indicators"]
        if i["key"] == "village_trainings"
    ]
    assert village["target"] == 5


def test_a_bad_file_is_refused_whole_naming_each_line(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    path.write_text(
        "指标,比较,目标值,单位代码\n"
        "培训人次,超过,3500,530102\n"
        "降雨量,超过,3,530102\n"
        "电视讲座次数,>=,两次,530102\n"
        "电视讲座次数,>=,2,530199\n",
        encoding="utf-8",
    )
    before = db.execute("SELECT count(*) FROM targets").fetchone()[0]
    with pytest.raises(InvalidTarget) as caught:
        target_files.load_targets_file(db, str(path), year=2026)
    assert set(caught.value.errors) == {"line 3", "line 4", "line 5"}
    assert "unknown indicator" in str(caught.value.errors["line 3"])
    assert "value" in str(caught.value.errors["line 4"])
    assert "no such unit" in str(caught.value.errors["line 5"])
    assert db.execute("SELECT count(*) FROM targets").fetchone()[0] == before


def test_unknown_headers_are_named(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    path.write_text("指标,目标,数量\n培训人次,3000,1\n", encoding="utf-8")
    with pytest.raises(InvalidTarget) as caught:
        target_files.load_targets_file(db, str(path), year=2026)
    assert "数量" in caught.value.message


def test_gbk_csv_says_save_as_utf8(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    path.write_bytes("指标,比较,目标值,单位代码\n培训人次,超过,3000,530102\n".encode("gbk"))
    with pytest.raises(UnreadableFile) as caught:
        target_files.load_targets_file(db, str(path), year=2026)
    assert "UTF-8" in caught.value.message and "GBK" in caught.value.message
    assert caught.value.status == 422


# ---------------------------------------------------------------- the monthly profile


def test_even_profile_is_day_by_day() -> None:
    shares = profiles.even_profile(2026)
    assert shares[0] == round(31 / 365, 6)
    assert shares[1] == round(59 / 365, 6)
    assert shares[-1] == 1
    assert profiles.expected_share(
        shares, 2026, datetime(2026, 7, 2, 12, tzinfo=CHINA)
    ) == pytest.approx((181 + 1.5) / 365, abs=1e-5)


def test_a_profile_moves_where_the_figure_should_be(db: Database, zhang: Envoy) -> None:
    """Most trainings fall in winter's slack season: by the end of March 60% are expected."""
    for n in range(4):
        zhang.session(starts_at=f"2026-02-{10 + n}T02:00:00Z")
    end_of_march = datetime(2026, 4, 1, tzinfo=CHINA)
    even = line(db, "village_trainings", now=end_of_march)
    # 8 trainings a year (seed 000), a quarter of the year gone: 2 expected, 4 done.
    assert even["expected_by_now"] == round(8 * 90 / 365, 1)
    assert even["status"] == "on_track"
    stored = profiles.set_profile(db, 2026, [20, 40, 60, 65, 70, 75, 80, 85, 90, 95, 98, 100])
    assert stored[2] == 0.6
    winter = line(db, "village_trainings", now=end_of_march)
    # 4.8 trainings expected, counted as trainings are: whole (issue 19.11).
    assert winter["expected_by_now"] == 5
    assert winter["status"] == "behind"
    assert winter["status_zh"] == "落后"
    assert winter["pace_line"][:3] == [2, 3, 5]
    # A profile for one indicator leaves the others on the year's.
    profiles.set_profile(db, 2026, [0] * 11 + [1], indicator="leaflets_distributed")
    assert line(db, "leaflets_distributed", now=end_of_march)["expected_by_now"] == 0
    assert line(db, "large_trainings", now=end_of_march)["profile"][2] == 0.6


@pytest.mark.parametrize(
    "shares",
    [[10, 20, 30], [50, 40, 60, 65, 70, 75, 80, 85, 90, 95, 98, 100], [0] * 12],
)
def test_a_bad_profile_is_refused(db: Database, shares: list[float]) -> None:
    with pytest.raises(InvalidTarget) as caught:
        profiles.set_profile(db, 2026, shares)
    assert "shares" in caught.value.errors
    assert db.execute("SELECT count(*) FROM target_profiles").fetchone()[0] == 0


def test_cli_loads_a_csv_of_targets(db: Database, db_path: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from server.cli import cli

    path = tmp_path / "targets.csv"
    path.write_text(
        "指标,比较,目标值,单位代码\n电视讲座次数,不少于,4,530102\n", encoding="utf-8-sig"
    )
    result = CliRunner().invoke(
        cli, ["--db", db_path, "targets", "load", str(path), "--year", "2026"]
    )
    assert result.exit_code == 0, result.output
    assert "loaded 1 targets" in result.output
    assert line(db, "tv_lectures")["target"] == 4
    path.write_text(
        "指标,比较,目标值,单位代码\n电视讲座次数,不少于,四,530102\n", encoding="utf-8-sig"
    )
    refused = CliRunner().invoke(
        cli, ["--db", db_path, "targets", "load", str(path), "--year", "2026"]
    )
    assert refused.exit_code == 1
    assert "line 2" in refused.output and "Traceback" not in refused.output
