"""The command line as a new user meets it: names instead of ids, readable lists, Chinese
choices, typed times, --json anywhere, and fixing mistakes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from field_client.cli import cli
from shared import protocol as p
from tests.field_client.test_cli import (
    TECH,
    add_farmer,
    assert_one_line_error,
    ok,
    ok_json,
    run,
    stored,
)


def test_json_after_the_command_as_well_as_before(db: Path) -> None:
    farmer_id = add_farmer(db)
    after = json.loads(ok(db, "list", "farmers", "--json"))
    assert after == ok_json(db, "list", "farmers")
    assert after[0]["id"] == farmer_id
    assert json.loads(ok(db, "farmer", "add", "--name", "李梅", "--village", "东村", "--json"))[
        "id"
    ]


def test_chinese_choices_and_typed_times(db: Path) -> None:
    farmer_id = add_farmer(db, "王芳", "--gender", "女")
    assert stored(db).record(p.FARMER, farmer_id)["gender"] == "female"
    session_id = ok(
        db,
        "session",
        "new",
        "--title",
        "讲座",
        "--unit",
        "东村",
        "--kind",
        "电视讲座",
        "--start",
        "2026/11/20 9:00",
        "--end",
        "11月20日 下午3点",
    )
    record = stored(db).record(p.SESSION, session_id)
    assert (record["kind"], record["starts_at"]) == ("tv_lecture", "2026-11-20T01:00:00Z")
    assert record["ends_at"].endswith("T07:00:00Z")
    bad = run(db, "session", "new", "--title", "t", "--unit", "东村", "--kind", "太空")
    assert bad.exit_code == 2 and "进村培训" in bad.output
    help_text = CliRunner().invoke(cli, ["session", "new", "--help"]).output
    assert "进村培训" in help_text and "2026/11/20 9:00" in help_text


def test_list_sessions_reads_like_a_table(db: Path) -> None:
    session_id = ok(
        db,
        "session",
        "new",
        "--title",
        "马铃薯培训",
        "--unit",
        "东村",
        "--start",
        "2026-11-20 09:00",
        "--headcount",
        "40",
    )
    for name in ("王芳", "李梅"):
        ok(db, "checkin", "--session", "马铃薯培训", "--farmer", add_farmer(db, name))
    header, row = ok(db, "list", "sessions").splitlines()
    assert "开始 starts" in header and "签到 checked in" in header
    assert row.split()[:6] == [
        session_id[:8],
        "2026-11-20",
        "09:00",
        "进村培训",
        "马铃薯培训",
        "东村",
    ]
    assert row.split()[6:8] == ["2", "40"]
    attendances = ok(db, "list", "attendances")
    assert "王芳" in attendances and "马铃薯培训" in attendances and "名单签到" in attendances


def test_several_matches_are_listed(db: Path) -> None:
    first = add_farmer(db, "王芳", "--mobile", "13800138000")
    second = add_farmer(db, "王芳", "--mobile", "13900139999")
    session_id = ok(db, "session", "new", "--title", "培训", "--unit", "东村")
    result = run(db, "checkin", "--session", "培训", "--farmer", "王芳")
    assert_one_line_error(result, "王芳", first[:8], second[:8], "138****8000", "matches 2")
    assert ok(db, "checkin", "--session", session_id[:8], "--farmer", "9999").startswith(
        session_id[:8]
    )


def test_fix_a_farmer_and_a_session_then_undo_and_delete(db: Path) -> None:
    farmer_id = add_farmer(db, "王方", "--mobile", "13800138000")
    ok(db, "farmer", "edit", "8000", "--name", "王芳", "--birth-year", "1970")
    assert stored(db).record(p.FARMER, farmer_id)["name"] == "王芳"
    session_id = ok(db, "session", "new", "--title", "误", "--unit", "东村", "--start", "今天 9:00")
    ok(db, "session", "edit", "误", "--title", "马铃薯培训", "--tech", "马铃薯脱毒种薯技术")
    assert stored(db).record(p.SESSION, session_id)["technology_ids"] == [TECH]
    ok(db, "checkin", "--session", "马铃薯培训", "--farmer", "王芳")
    assert ok_json(
        db, "checkin", "undo", "--session", "今天", "--farmer", "王芳", "--reason", "点错"
    )["undone"]
    assert stored(db).records(p.ATTENDANCE) == []
    deleted = ok_json(db, "session", "delete", session_id[:8])
    assert deleted == {"id": session_id, "deleted": True, "checkins_removed": 0}
    assert stored(db).records(p.SESSION) == []
    assert_one_line_error(run(db, "session", "delete", session_id), "no such record")
