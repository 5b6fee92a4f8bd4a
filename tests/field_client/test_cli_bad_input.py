"""Every command of tianjian-field, given bad input, answers with a clear line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from field_client.cli import cli
from tests.docs import command_paths
from tests.field_client.test_cli import TITLE, VILLAGE, add_farmer, new_session

NOBODY = "00000000-0000-4000-8000-000000000000"
# A file that is not a photo (this test's own source), and one that is not there.
NOT_A_PHOTO = str(Path(__file__))
NO_FILE = "/nonexistent/IMG_0001.jpg"


# The least each command needs to run, so a bad --db is what it meets.
MINIMAL = {
    "enroll": ["enroll", "http://127.0.0.1:9", "CODE"],
    "farmer add": ["farmer", "add", "--name", "王芳", "--village", VILLAGE],
    "farmer edit": ["farmer", "edit", "王芳", "--name", "王芳芳"],
    "session new": ["session", "new", "--title", "t", "--unit", VILLAGE],
    "session edit": ["session", "edit", "t", "--title", "u"],
    "session close": ["session", "close", "t"],
    "session delete": ["session", "delete", "t"],
    "session photo": ["session", "photo", "t", NO_FILE],
    "plot photo": ["plot", "photo", NOBODY, NO_FILE],
    "checkin": ["checkin", "--session", "t", "--farmer", "王芳"],
    "checkin undo": ["checkin", "undo", "--session", "t", "--farmer", "王芳"],
    "leaflets receive": ["leaflets", "receive", "--title", TITLE, "--copies", "5"],
    "leaflets give": ["leaflets", "give", "--title", TITLE, "--copies", "5", "--village", VILLAGE],
    "leaflets stock": ["leaflets", "stock"],
    "plot new": [
        "plot",
        "new",
        "--village",
        VILLAGE,
        "--host",
        "李家",
        "--crop",
        "玉米",
        "--area",
        "2",
    ],
    "plot observe": ["plot", "observe", NOBODY, "--stage", "播种"],
    "plot edit": ["plot", "edit", NOBODY, "--area", "3"],
    "sync": ["sync", "--timeout", "0.5"],
    "pin": ["pin"],
    "serve": ["serve", "--port", "8080"],
    "status": ["status"],
    "list": ["list", "farmers"],
}

# Bad values for each command: typed wrong, out of range, naming nothing, or ambiguous.
BAD = {
    "enroll": [
        ["enroll", "not a url", "CODE"],
        ["enroll", "ftp://example.org", "CODE"],
        ["enroll", "http://[::1", "CODE"],
        ["enroll", "127.0.0.1:9", "CODE"],
        ["enroll", "http://", ""],
    ],
    "farmer add": [
        ["farmer", "add", "--name", "王芳", "--village", VILLAGE, "--mobile", "12345"],
        ["farmer", "add", "--name", "", "--village", VILLAGE],
        ["farmer", "add", "--name", "王芳", "--village", VILLAGE, "--birth-year", "20266"],
        ["farmer", "add", "--name", "王芳", "--village", "火星村"],
        ["farmer", "add", "--name", "王芳", "--village", VILLAGE, "--gender", "外星"],
        ["farmer", "add", "--name", "王芳", "--village", "12"],
        ["farmer", "add", "--name", "王\udcff芳", "--village", VILLAGE],
    ],
    "farmer edit": [
        ["farmer", "edit", NOBODY, "--name", "x"],
        ["farmer", "edit", "王芳", "--mobile", "999"],
        ["farmer", "edit", "王芳", "--birth-year", "1800"],
        ["farmer", "edit", "nobody at all"],
    ],
    "session new": [
        ["session", "new", "--title", "t", "--unit", VILLAGE, "--start", "明年"],
        ["session", "new", "--title", "t", "--unit", VILLAGE, "--start", "9999-12-31 23:59"],
        ["session", "new", "--title", "t", "--unit", VILLAGE, "--start", "0001-01-01T00:00:00"],
        ["session", "new", "--title", "t", "--unit", VILLAGE, "--kind", "太空培训"],
        ["session", "new", "--title", "t", "--unit", VILLAGE, "--headcount", "-5"],
        ["session", "new", "--title", "t", "--unit", VILLAGE, "--boards", "99999999"],
        ["session", "new", "--title", "t", "--unit", VILLAGE, "--co-envoy", "赵六"],
        ["session", "new", "--title", "t", "--unit", VILLAGE, "--tech", "量子种田"],
        ["session", "new", "--title", "", "--unit", VILLAGE],
    ],
    "session edit": [
        ["session", "edit", NOBODY, "--title", "x"],
        ["session", "edit", "马铃薯晚疫病防治培训", "--start", "2026-02-30 09:00"],
        ["session", "edit", "马铃薯晚疫病防治培训", "--end", "2000-01-01 09:00"],
        ["session", "edit", "2026-13-01"],
    ],
    "session close": [
        ["session", "close", "nothing"],
        ["session", "close", "马铃薯晚疫病防治培训", "--end", "25:61"],
        ["session", "close", "马铃薯晚疫病防治培训", "--headcount", "-1"],
    ],
    "session delete": [["session", "delete", NOBODY], ["session", "delete", "abc"]],
    "session photo": [
        ["session", "photo", NOBODY, NOT_A_PHOTO],
        ["session", "photo", "2026-13-45", NOT_A_PHOTO],
        ["session", "photo", "今天", NO_FILE],
        ["session", "photo", "今天", NOT_A_PHOTO],
        ["session", "photo", "今天", NOT_A_PHOTO, "--kind", "自拍"],
        ["session", "photo", "今天"],
    ],
    "plot photo": [
        ["plot", "photo", NOBODY, NOT_A_PHOTO],
        ["plot", "photo", "abc", NO_FILE],
        ["plot", "photo", NOBODY],
    ],
    "checkin": [
        ["checkin"],
        ["checkin", "--session", "马铃薯晚疫病防治培训"],
        ["checkin", "--session", NOBODY, "--farmer", "王芳"],
        ["checkin", "--session", "马铃薯晚疫病防治培训", "--farmer", "0000"],
        ["checkin", "--session", "马铃薯晚疫病防治培训", "--farmer", "王芳", "--at", "昨天晚上"],
        ["checkin", "--session", "马铃薯晚疫病防治培训", "--farmer", "王芳", "--method", "飞鸽"],
    ],
    "checkin undo": [
        ["checkin", "undo", "--session", "马铃薯晚疫病防治培训", "--farmer", "王芳"],
        ["checkin", "undo", "--session", NOBODY, "--farmer", "王芳"],
    ],
    "leaflets receive": [
        ["leaflets", "receive", "--title", TITLE, "--copies", "0"],
        ["leaflets", "receive", "--title", TITLE, "--copies", "-5"],
        ["leaflets", "receive", "--title", TITLE, "--copies", "-5", "--correction-of", NOBODY],
        ["leaflets", "receive", "--title", TITLE, "--copies", "5", "--on", "2026-13-45"],
        ["leaflets", "receive", "--title", "没有这本", "--copies", "5"],
        ["leaflets", "receive", "--title", TITLE, "--copies", "99999999999999999999999"],
    ],
    "leaflets give": [
        ["leaflets", "give", "--title", TITLE, "--copies", "5"],
        ["leaflets", "give", "--title", TITLE, "--copies", "5", "--session", "nothing"],
        ["leaflets", "give", "--title", TITLE, "--copies", "-5", "--village", VILLAGE],
        ["leaflets", "give", "--title", TITLE, "--copies", "5", "--village", VILLAGE, "--at", "x"],
    ],
    "leaflets stock": [["leaflets", "stock", "extra"]],
    "plot new": [
        ["plot", "new", "--village", VILLAGE, "--host", "李家", "--crop", "玉米", "--area", "-1"],
        [
            "plot",
            "new",
            "--village",
            VILLAGE,
            "--host",
            "李家",
            "--crop",
            "玉米",
            "--area",
            "2",
            "--lat",
            "200",
        ],
        ["plot", "new", "--village", VILLAGE, "--host", "", "--crop", "玉米", "--area", "2"],
        ["plot", "new", "--village", VILLAGE, "--host", "李家", "--crop", "玉米", "--area", "nan"],
        [
            "plot",
            "new",
            "--village",
            VILLAGE,
            "--host",
            "李家",
            "--crop",
            "玉米",
            "--area",
            "2",
            "--established",
            "soon",
        ],
    ],
    "plot edit": [
        ["plot", "edit", NOBODY, "--area", "3"],
        ["plot", "edit", "plot", "--area", "很大"],
    ],
    "plot observe": [
        ["plot", "observe", NOBODY, "--stage", "播种"],
        ["plot", "observe", "plot", "--stage", "飞天"],
    ],
    "sync": [
        ["sync", "--timeout", "0"],
        ["sync", "--batch-changes", "-1"],
        ["sync", "--timeout", "0.5"],
    ],
    "status": [["status", "extra"]],
    "pin": [["pin", "extra"]],
    "serve": [
        ["serve", "--port", "99999"],
        ["serve", "--port", "http"],
        ["serve", "--threads", "0"],
    ],
    "list": [["list", "spaceships"], ["list"]],
}


def assert_clear_refusal(result: Result) -> None:
    assert result.exit_code in (1, 2), (result.output, result.exception)
    # Click's own exit: a clear message was printed, no exception escaped.
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "Error: " in result.output


def test_every_command_is_covered() -> None:
    assert set(command_paths(cli)) == set(MINIMAL) == set(BAD)


@pytest.mark.parametrize(
    "args", [args for name in sorted(BAD) for args in BAD[name]], ids=lambda a: " ".join(a)[:60]
)
def test_bad_values_are_refused_clearly(
    db: Path,
    args: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from field_client import sync as sync_module

    monkeypatch.setattr(sync_module.time, "sleep", lambda seconds: None)
    add_farmer(db)
    new_session(db)
    add_farmer(db, "王芳", "--mobile", "13800138000")
    result = CliRunner().invoke(cli, ["--db", str(db), *args])
    assert_clear_refusal(result)


@pytest.mark.parametrize("name", sorted(MINIMAL))
@pytest.mark.parametrize("bad_db", ["missing folder", "a folder", "not sqlite"])
def test_an_unusable_database_is_a_clear_error(tmp_path: Path, name: str, bad_db: str) -> None:
    if bad_db == "missing folder":
        path = tmp_path / "no" / "such" / "field.db"
    elif bad_db == "a folder":
        path = tmp_path
    else:
        path = tmp_path / "field.db"
        path.write_bytes(b"this is not a database " * 100)
    result = CliRunner().invoke(cli, ["--db", str(path), *MINIMAL[name]])
    assert_clear_refusal(result)
    if bad_db != "a folder":
        assert "--db" in result.output or "enroll" in result.output
