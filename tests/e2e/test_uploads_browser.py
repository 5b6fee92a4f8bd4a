"""Hostile uploads through the bureau's own forms in headless Chromium, against the real server:
an 8M-row XLSX, a YAML alias bomb, a GBK file and a file named ".." each get a page saying what
is wrong in Chinese and English (413/422, no server path), and the server keeps answering."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from server.accounts import users
from server.store.db import init_db
from tests.browser import screenshot
from tests.helpers import LiveServer, load_demo_reference
from tests.server.files.test_file_limits import TARGETS_YAML, alias_bomb, empty_rows, workbook

ADMIN, PASSWORD = "科长", "upload-password"


@pytest.fixture(scope="module")
def bureau(module_db_path: str) -> Iterator[LiveServer]:
    db_path = module_db_path
    load_demo_reference(db_path)
    db = init_db(db_path)
    users.add_user(db, ADMIN, users.ADMIN, PASSWORD)
    db.close()
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def sign_in(page: object, server: LiveServer, path: str) -> None:
    page.goto(server.url + path)  # type: ignore[attr-defined]
    page.fill("input[name=name]", ADMIN)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]


UPLOADS = [
    (
        "/targets/?year=2026",
        "#upload-targets",
        "目标.xlsx",
        lambda: workbook(empty_rows(8_000_000)),
        "20,000",
    ),
    ("/targets/?year=2026", "#upload-targets", "目标.yaml", lambda: alias_bomb().encode(), "别名"),
    (
        "/targets/?year=2026",
        "#upload-targets",
        "目标.yaml",
        lambda: ("# 目标\n" + TARGETS_YAML).encode("gbk"),
        "GBK",
    ),
    ("/reference/units", "#upload", "..", lambda: b"code,name,parent_code,level\n", "文件名无效"),
]


@pytest.mark.parametrize("where,form,name,make,named", UPLOADS)
def test_a_hostile_upload_gets_a_page_naming_the_problem(
    desk_page: object,
    bureau: LiveServer,
    where: str,
    form: str,
    name: str,
    make: object,
    named: str,
) -> None:
    page = desk_page
    sign_in(page, bureau, where)
    page.set_input_files(  # type: ignore[attr-defined]
        f"{form} input[type=file]",
        {"name": name, "mimeType": "application/octet-stream", "buffer": make()},  # type: ignore[operator]
    )
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.click(f"{form} button[type=submit]")  # type: ignore[attr-defined]
    message = page.inner_text("p.error")  # type: ignore[attr-defined]
    assert named in message, message
    assert "/tmp" not in page.content()  # type: ignore[attr-defined]
    assert page.inner_text("h1").split("(")[-1].rstrip(")") in ("413", "422")  # type: ignore[attr-defined]
    screenshot(page, f"upload-refused-{named}")
    assert requests.get(f"{bureau.url}/api/openapi.json", timeout=5).status_code == 200
