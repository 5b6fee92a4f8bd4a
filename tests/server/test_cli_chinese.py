"""`tianjian-server` speaks Chinese first: click's own messages, refused files, times, names."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from server.accounts import users
from server.cli import cli
from server.store.db import init_db
from server.sync import devices
from tests.server.test_cli import assert_one_line_error, loaded, ok, run


def test_clicks_own_messages_are_in_chinese_and_english(tmp_path: Path) -> None:
    db_path = loaded(str(tmp_path / "t.db"))
    bad_year = run(db_path, "report", "--year", "abc")
    assert bad_year.exit_code == 2
    last = bad_year.output.strip().splitlines()[-1]
    assert "'abc' 不是有效的数字" in last and "is not a valid integer" in last
    assert last.startswith("错误：'--year' 的值无效")
    missing = run(db_path, "users", "add")
    assert "缺少参数 'NAME'" in missing.output and "Missing argument" in missing.output
    assert "查看帮助" in missing.output
    differ = CliRunner().invoke(
        cli,
        ["--db", db_path, "users", "add", "kezhang", "--role", "admin"],
        input="abcdefgh\nxyz\n",
        env={"TIANJIAN_PASSWORD": None},
    )
    assert "再输入一次确认 / Repeat for confirmation" in differ.output
    assert "两次输入不一致" in differ.output
    help_text = ok(db_path, "report", "--help").output
    assert help_text.startswith("用法 / Usage:")
    assert "选项 / Options:" in help_text and "显示帮助并退出 / Show this message" in help_text
    assert "[默认 table / default: table]" in help_text


def test_a_refused_file_names_line_and_field_in_words_not_a_dict(tmp_path: Path) -> None:
    db_path = str(tmp_path / "t.db")
    ok(db_path, "init")
    units = tmp_path / "units.csv"
    units.write_text("code,name,parent_code,level\n530102,示范县,,county\n530102001,,530102,town\n")
    result = run(db_path, "units", "load", str(units))
    assert_one_line_error(result, "第 3 行", "name", "level")
    assert "{" not in result.output and "['" not in result.output
    assert "须为以下之一" in result.output or "不能为空" in result.output or "必填" in result.output


def test_units_load_reads_the_chinese_headers_the_exports_write(tmp_path: Path) -> None:
    db_path = str(tmp_path / "t.db")
    ok(db_path, "init")
    units = tmp_path / "units.csv"
    # As the reference page's CSV export writes it: a first line saying what, then the headers.
    units.write_text(
        "组织单位　截至：2026-11-26 14:05（北京时间）\n"
        "区划代码,名称,级别,上级代码,上级\n"
        "530102,示范县,县,,\n530102001,城关镇,乡镇,530102,示范县\n"
        "530102001001,东村,村,530102001,城关镇\n",
        encoding="utf-8-sig",
    )
    assert "3" in ok(db_path, "units", "load", str(units)).output
    db = init_db(db_path)
    levels = dict(db.execute("SELECT name, level FROM units").fetchall())
    db.close()
    assert levels == {"示范县": "county", "城关镇": "township", "东村": "village"}
    # A bad row of such a file is named by its line in the file, title line counted.
    units.write_text(
        "组织单位　截至：2026-11-26 14:05（北京时间）\n区划代码,名称,级别,上级代码\n"
        "530102,示范县,县,\n5301x,城关镇,乡镇,530102\n",
        encoding="utf-8-sig",
    )
    assert_one_line_error(run(db_path, "units", "load", str(units)), "第 4 行 / line 4")


def test_report_takes_a_unit_name_and_lists_namesakes_with_codes(tmp_path: Path) -> None:
    db_path = loaded(str(tmp_path / "t.db"))
    by_name = ok(db_path, "report", "--year", "2026", "--unit", "城关镇").output
    assert by_name.splitlines()[0].startswith("城关镇 2026 年")
    db = init_db(db_path)
    db.execute(
        "INSERT INTO units (code, name, level, parent_code) "
        "SELECT '530102002009', name, level, '530102002' FROM units WHERE code = '530102001001'"
    )
    db.conn.commit()
    db.close()
    twice = run(db_path, "report", "--unit", "东村")
    assert_one_line_error(twice, "2 个同名单位", "530102001001", "530102002009")


def test_times_are_china_time_and_empty_lists_say_so(tmp_path: Path) -> None:
    db_path = loaded(str(tmp_path / "t.db"))
    db = init_db(db_path)
    users.add_user(db, "kezhang", users.ADMIN, "a-long-password")
    db.execute("UPDATE users SET last_sign_in_at = '2026-11-26T06:05:00Z'")
    code = devices.new_enrolment_code(db, devices.envoy_by_name(db, "张三")["id"], 30)
    db.conn.commit()
    db.close()
    assert code
    listed = ok(db_path, "users", "list").output
    assert "2026-11-26 14:05" in listed and "06:05" not in listed
    assert "kezhang  管理员" in listed
    report = ok(db_path, "report", "--year", "2026").output.splitlines()[0]
    assert "北京时间" in report and not report.rstrip().endswith("Z")
    assert "没有暂存的变更" in ok(db_path, "held").output
    assert "没有编辑冲突" in ok(db_path, "conflicts").output
