"""Uploads on the bureau's pages (targets, units, envoys, catalogue): a file built to take the
server down, in the wrong encoding, or under a name that is no file name is answered 413/422 in
Chinese and English naming the problem, never a 500 or a server path, and nothing is written."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.accounts import users
from server.store.db import init_db
from tests.helpers import csrf_token, sign_in
from tests.server.files.test_file_limits import (
    TARGETS_YAML,
    alias_bomb,
    empty_rows,
    far_cell,
    workbook,
)

PASSWORD = "upload-password"
BAD_FILES = {
    "8M empty rows": ("目标.xlsx", lambda: workbook(empty_rows(8_000_000)), 413, "20,000"),
    "declared 8M rows": ("目标.xlsx", lambda: workbook(far_cell("A1:A8000000")), 413, "20,000"),
    "alias bomb": ("目标.yaml", lambda: alias_bomb().encode(), 422, "别名"),
    "UTF-16 YAML": ("目标.yaml", lambda: TARGETS_YAML.encode("utf-16"), 422, "UTF-16"),
    "GBK YAML": ("目标.yaml", lambda: ("# 目标\n" + TARGETS_YAML).encode("gbk"), 422, "GBK"),
    "Latin-1 JSON": ("目标.json", lambda: '{"note": "é"}'.encode("latin-1"), 422, "UTF-8"),
    "JSON 100k deep": ("目标.json", lambda: b"[" * 100_000 + b"]" * 100_000, 422, "嵌套"),
    "YAML 5k deep": ("目标.yaml", lambda: b"[" * 5_000 + b"]" * 5_000, 422, "嵌套"),
}
BAD_NAMES = {
    ".": ".",
    "..": "..",
    "NUL": "units\x00.csv",
    "300 characters": "单" * 300 + ".csv",
    "only dots": "...",
}


@pytest.fixture
def admin(app: Flask, db_path: str) -> Iterator[FlaskClient]:
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    db = init_db(db_path)
    users.add_user(db, "admin", users.ADMIN, PASSWORD)
    db.close()
    client = app.test_client()
    assert sign_in(client, "admin", PASSWORD).status_code == 302
    yield client


def counts(db_path: str) -> tuple[int, ...]:
    db = init_db(db_path)
    try:
        return tuple(
            db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("targets", "units", "envoys", "audit_log")
        )
    finally:
        db.close()


def upload(client: FlaskClient, path: str, name: str, data: bytes) -> tuple[int, str]:
    response = client.post(
        path,
        data={"csrf_token": csrf_token(client, "/targets/"), "file": (io.BytesIO(data), name)},
    )
    page = response.get_data(as_text=True)
    found = re.search(r'<p class="error"[^>]*>(.*?)</p>', page, re.S)
    assert "/tmp" not in page and "Traceback" not in page
    return response.status_code, found.group(1) if found else page


@pytest.mark.parametrize("attack", sorted(BAD_FILES))
def test_bad_target_files_are_refused_naming_the_problem(
    admin: FlaskClient, db_path: str, attack: str
) -> None:
    name, make, status, named = BAD_FILES[attack]
    before = counts(db_path)
    code, message = upload(admin, "/targets/upload?year=2026", name, make())
    assert code == status, message
    # The page shows its reader's language (Chinese here); the file and the problem are named.
    assert named in message and name in message
    assert counts(db_path) == before
    assert admin.get("/targets/?year=2026").status_code == 200


@pytest.mark.parametrize("label", sorted(BAD_NAMES))
@pytest.mark.parametrize("where", ["/reference/units", "/reference/envoys", "/targets/upload"])
def test_upload_names_that_are_no_file_names_are_refused(
    admin: FlaskClient, db_path: str, label: str, where: str
) -> None:
    before = counts(db_path)
    code, message = upload(admin, where, BAD_NAMES[label], b"code,name,parent_code,level\n")
    assert code == 422, message
    assert "文件名无效" in message
    assert counts(db_path) == before


def test_a_reference_error_names_the_upload_not_where_the_server_kept_it(
    admin: FlaskClient, db_path: str
) -> None:
    code, message = upload(admin, "/reference/units", "乡镇.csv", b"code,name\nabc,x\n")
    assert code == 422 and "乡镇.csv" in message
    code, message = upload(
        admin, "/reference/catalogue", "目录.csv", "type,name\n".encode("utf-16")
    )
    assert code == 422 and "UTF-16" in message and "目录.csv" in message


def test_an_old_browsers_full_path_is_taken_for_its_file_name(
    admin: FlaskClient, db_path: str
) -> None:
    body = "code,name,parent_code,level\n530102003,新河乡,530102,township\n".encode()
    code, _ = upload(admin, "/reference/units", "C:\\Users\\局\\units.csv", body)
    assert code == 302
    assert "新河乡" in admin.get("/reference/units").get_data(as_text=True)


def test_json_targets_still_load(admin: FlaskClient, db_path: str) -> None:
    body = {
        "year": 2026,
        "unit_code": "530102",
        "targets": [{"indicator": "demo_plots", "comparator": ">=", "value": 7}],
    }
    code, message = upload(admin, "/targets/upload?year=2026", "t.json", json.dumps(body).encode())
    assert code == 302, message
