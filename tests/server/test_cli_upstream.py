"""tianjian-server upstream: every refusal is one line in Chinese and English, nothing written."""

from __future__ import annotations

from pathlib import Path

from server.store.db import init_db
from tests.helpers import free_port
from tests.server.test_cli import assert_one_line_error, loaded, ok, run


def links(db_path: str) -> int:
    db = init_db(db_path)
    try:
        return int(db.execute("SELECT count(*) FROM upstream_link").fetchone()[0])
    finally:
        db.close()


def test_a_county_not_linked_says_so(tmp_path: Path) -> None:
    db_path = loaded(str(tmp_path / "county.db"))
    for command in ("push", "status"):
        assert_one_line_error(
            run(db_path, "upstream", command), "尚未与省级服务器建立上报链接", "upstream enroll"
        )


def test_enrolling_with_a_bad_address_or_an_unreachable_province_writes_nothing(
    tmp_path: Path,
) -> None:
    db_path = loaded(str(tmp_path / "county.db"))
    assert_one_line_error(
        run(db_path, "upstream", "enroll", "ftp://province", "AAAA-BBBB-CCCC"), "http://"
    )
    unreachable = run(
        db_path, "upstream", "enroll", f"http://127.0.0.1:{free_port()}", "AAAA-BBBB-CCCC"
    )
    assert_one_line_error(unreachable, "省级服务器未应答", "progress is kept")
    assert links(db_path) == 0


def test_the_province_issues_codes_for_its_counties_only(tmp_path: Path) -> None:
    db_path = loaded(str(tmp_path / "province.db"))
    assert "link code: " in ok(db_path, "upstream", "code", "530102").output
    assert_one_line_error(run(db_path, "upstream", "code", "110101"), "no such county")
    assert_one_line_error(
        run(db_path, "upstream", "code", "530102", "--minutes", "0"), "minutes must be between"
    )
