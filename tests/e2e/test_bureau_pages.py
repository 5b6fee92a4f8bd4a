"""The bureau's pages in headless Chromium against the real server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server import users
from server.db import init_db
from tests.browser import screenshot
from tests.helpers import LiveServer, load_demo_reference

ADMIN, PASSWORD = "科长", "bureau-password"


@pytest.fixture(scope="module")
def bureau(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db_path = str(tmp_path_factory.mktemp("bureau") / "server.db")
    load_demo_reference(db_path)
    db = init_db(db_path)
    users.add_user(db, ADMIN, users.ADMIN, PASSWORD)
    db.close()
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def sign_in(page: object, server: LiveServer) -> None:
    page.goto(server.url + "/")  # type: ignore[attr-defined]
    page.fill("input[name=name]", ADMIN)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]


def test_sign_in_from_the_root_address(desk_page: object, bureau: LiveServer) -> None:
    page = desk_page
    page.goto(bureau.url + "/")  # type: ignore[attr-defined]
    assert "/signin" in page.url  # type: ignore[attr-defined]
    page.fill("input[name=name]", ADMIN)  # type: ignore[attr-defined]
    page.fill("input[name=password]", "wrong-password")  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]
    assert "用户名或密码不正确" in page.inner_text("#signin-error")  # type: ignore[attr-defined]
    screenshot(page, "bureau-signin-refused")
    sign_in(page, bureau)
    assert page.url.endswith("/progress")  # type: ignore[attr-defined]
    assert "目标进度" in page.inner_text("h1")  # type: ignore[attr-defined]
    assert Path(screenshot(page, "bureau-signed-in")).stat().st_size > 5000
