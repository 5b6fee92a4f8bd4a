"""A bureau user's level and area set from the command line (server/accounts/areas.py)."""

from __future__ import annotations

from pathlib import Path

from server.accounts import users
from server.store.db import init_db
from tests.server.test_cli import assert_one_line_error, loaded, ok, run


def test_users_area_sets_clears_and_refuses_in_both_languages(
    tmp_path: Path, monkeypatch: object
) -> None:
    db_path = loaded(str(tmp_path / "t.db"))
    monkeypatch.setenv("TIANJIAN_PASSWORD", "area-password")  # type: ignore[attr-defined]
    ok(db_path, "users", "add", "kezhang", "--role", "staff")
    ok(db_path, "users", "add", "zhang", "--role", "envoy", "--envoy", "张三")
    done = ok(db_path, "users", "area", "kezhang", "county", "530102").output
    assert "已设置 kezhang 的查看范围" in done and "县级 530102" in done
    db = init_db(db_path)
    user = users.user_by_name(db, "kezhang")
    assert (user.level, user.area) == ("county", "530102000000")
    assert "县级示范县" in ok(db_path, "users", "list").output
    # A township is no user's area; a unit the server does not know; an envoy user.
    assert_one_line_error(
        run(db_path, "users", "area", "kezhang", "county", "530102001"), "不是县级单位", "county"
    )
    assert_one_line_error(
        run(db_path, "users", "area", "kezhang", "city", "539900"), "没有这个单位"
    )
    assert_one_line_error(run(db_path, "users", "area", "kezhang", "county"), "请填写区划代码")
    assert_one_line_error(
        run(db_path, "users", "area", "zhang", "county", "530102"), "特派员用户只看自己的数据"
    )
    assert_one_line_error(run(db_path, "users", "area", "nobody"), "没有这个用户")
    assert users.user_by_name(db, "kezhang").area == "530102000000"
    # No level: the whole server again.
    assert "全部" in ok(db_path, "users", "area", "kezhang").output
    assert users.user_by_name(db, "kezhang").level is None
    logged = db.execute("SELECT count(*) FROM audit_log WHERE action = 'user.area'").fetchone()[0]
    assert logged == 2
