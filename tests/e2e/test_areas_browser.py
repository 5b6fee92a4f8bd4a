"""An admin gives a user an area on the Users page in headless Chromium, against the real server
process; that user's pages then show their county only, and refuse another in Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.accounts import users
from server.reference import load as reference
from server.store.db import init_db
from tests.browser import screenshot
from tests.helpers import LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy

PASSWORD = "areas-browser-password"


@pytest.fixture
def province(db_path: str, tmp_path: Path) -> Iterator[LiveServer]:
    """示范县 (530102) and 楚雄市 (532301) under one province; 张三 and 赵丽 train in each."""
    load_demo_reference(db_path)
    db = init_db(db_path)
    units = tmp_path / "units.csv"
    units.write_text(
        "code,name,parent_code,level\n530000,云南省,,province\n532301,楚雄市,530000,county\n"
        "532301001,鹿城镇,532301,township\n532301001001,北村,532301001,village\n",
        encoding="utf-8",
    )
    reference.load_units(db, str(units))
    reference.ensure_envoy(db, "赵丽", ["532301001"])
    zhang, zhao = Envoy(db, "张三"), Envoy(db, "赵丽")
    zhang.checkin(zhang.session(), zhang.farmer("赵大"))
    north = zhao.session(unit_code="532301001001")
    zhao.checkin(north, zhao.farmer("周四", village_code="532301001001"))
    users.add_user(db, "admin", users.ADMIN, PASSWORD)
    users.add_user(db, "县用户", users.STAFF, PASSWORD)
    db.close()
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def sign_in(page: object, url: str, name: str) -> None:
    page.goto(url)  # type: ignore[attr-defined]
    page.fill("input[name=name]", name)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]


def test_an_admin_sets_an_area_and_the_user_sees_only_it(
    browser: object, desk_page: object, province: LiveServer
) -> None:
    page = desk_page
    sign_in(page, province.url + "/admin/users", "admin")
    row = page.locator("#users-table tr", has_text="县用户")  # type: ignore[attr-defined]
    row.locator("select[name=level]").select_option("county")
    row.locator("input[name=area]").fill("532301")
    row.locator("button", has_text="设置").click()
    page.wait_for_selector(".flash.ok")  # type: ignore[attr-defined]
    row = page.locator("#users-table tr", has_text="县用户")  # type: ignore[attr-defined]
    assert "楚雄市" in row.inner_text()
    # A county level with a township's code is refused, saying why in Chinese.
    row.locator("input[name=area]").fill("532301001")
    row.locator("button", has_text="设置").click()
    assert "不是县级单位" in page.inner_text("body")  # type: ignore[attr-defined]
    screenshot(page, "users-area-refused")

    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")  # type: ignore[attr-defined]
    user = context.new_page()
    sign_in(user, province.url + "/breakdowns?year=2026&by=township", "县用户")
    user.wait_for_selector("table")
    shown = user.inner_text("body")
    assert "鹿城镇" in shown and "城关镇" not in shown
    menu = user.locator("select[name=unit]").inner_text()
    assert "楚雄市" in menu and "示范县" not in menu
    screenshot(user, "county-user-breakdown")
    refused = user.goto(province.url + "/progress?year=2026&unit=530102")
    assert refused is not None and refused.status == 403
    assert "您只能查看本辖区的数据和记录" in user.inner_text("body")
    context.close()
