"""A village's place from the reference file (migration m017): the optional 纬度/经度 (or
latitude/longitude) columns of a units CSV or XLSX, checked, both or neither; a bad value is
refused with its line in Chinese and English and nothing written."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.reference import load as reference
from server.reference.load import BadReferenceFile
from server.store.db import init_db
from tests.helpers import VILLAGE_EAST, VILLAGE_WEST, load_demo_reference, sign_in
from tests.server.web.test_web_uploads import upload

HEADER = "区划代码,名称,上级代码,级别,纬度,经度\n"


@pytest.fixture
def db(db_path: str) -> Database:
    load_demo_reference(db_path)
    return init_db(db_path)


def places(db: Database) -> dict[str, tuple[float | None, float | None]]:
    return {
        code: (lat, lon)
        for code, lat, lon in db.execute("SELECT code, latitude, longitude FROM units")
    }


def write(tmp_path: Path, text: str, name: str = "村.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig")
    return str(path)


def test_the_place_columns_load_and_a_reload_without_them_keeps_them(
    db: Database, db_path: str, tmp_path: Path
) -> None:
    assert places(db)[VILLAGE_EAST] == (None, None)
    path = write(
        tmp_path,
        HEADER + "530102001001,东村,530102001,村,25.0431,102.7123\n"
        "530102001002,西村,530102001,村,,\n",
    )
    assert reference.load_units(db, path) == 2
    assert places(db)[VILLAGE_EAST] == (25.0431, 102.7123)
    assert places(db)[VILLAGE_WEST] == (None, None)
    # The demo file has no place columns: reloading it must not wipe the places.
    load_demo_reference(db_path)
    assert places(db)[VILLAGE_EAST] == (25.0431, 102.7123)
    # A file with the columns, left blank, takes the place away.
    reference.load_units(db, write(tmp_path, HEADER + "530102001001,东村,530102001,村,,\n"))
    assert places(db)[VILLAGE_EAST] == (None, None)


def test_english_headers_and_an_xlsx_file_load(db: Database, tmp_path: Path) -> None:
    english = write(
        tmp_path,
        "code,name,parent_code,level,latitude,longitude\n"
        "530102001002,西村,530102001,village,-33.5,151.25\n",
    )
    reference.load_units(db, english)
    assert places(db)[VILLAGE_WEST] == (-33.5, 151.25)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["区划代码", "名称", "上级代码", "级别", "纬度", "经度"])
    # A code typed as a number in Excel, and numbers for the place.
    sheet.append([530102001001, "东村", "530102001", "村", 24.5, 103.25])
    xlsx = tmp_path / "村.xlsx"
    book.save(xlsx)
    assert reference.load_units(db, str(xlsx)) == 1
    assert places(db)[VILLAGE_EAST] == (24.5, 103.25)


@pytest.mark.parametrize(
    ("lat", "lon", "zh", "en"),
    [
        ("95", "102.7", "须不小于 -90 且不大于 90", "greater than or equal to -90"),
        ("25", "-181", "须不小于 -180 且不大于 180", "less than or equal to 180"),
        ("北纬25度", "102.7", "不是有效的数字", "Not a valid number"),
        ("nan", "102.7", "不能是 nan 或无穷大", "nan or infinity"),
        ("25.04", "", "纬度与经度须同时填写或同时留空", "give both latitude and longitude"),
        ("", "102.7", "纬度与经度须同时填写或同时留空", "give both latitude and longitude"),
    ],
)
def test_a_bad_place_is_refused_with_its_line_and_nothing_is_written(
    db: Database, tmp_path: Path, lat: str, lon: str, zh: str, en: str
) -> None:
    before = places(db)
    path = write(
        tmp_path,
        HEADER + "530102001002,西村,530102001,村,25.1,102.8\n"
        f"530102001001,东村,530102001,村,{lat},{lon}\n",
    )
    with pytest.raises(BadReferenceFile) as raised:
        reference.load_units(db, path, "村.csv")
    message = str(raised.value)
    assert "第 3 行 / line 3" in message and "村.csv" in message
    assert zh in message and en in message
    assert places(db) == before


def test_the_units_page_loads_and_lists_places_and_refuses_a_bad_one(
    app: Flask, db_path: str
) -> None:
    """Through the admin's upload form: the places are listed (and so exported, to edit and
    load again); a bad one answers 422 naming the line in Chinese, and nothing changes."""
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    db = init_db(db_path)
    users.add_user(db, "admin", users.ADMIN, "reference-password")
    db.close()
    admin = app.test_client()
    assert sign_in(admin, "admin", "reference-password").status_code == 302
    good = (HEADER + "530102001001,东村,530102001,村,25.0431,102.7123\n").encode()
    assert upload(admin, "/reference/units", "村.csv", good)[0] == 302
    page = admin.get("/reference/units").get_data(as_text=True)
    assert "纬度" in page and "25.0431" in page and "102.7123" in page
    exported = admin.get("/reference/units?format=csv&table=units").get_data()
    assert "纬度".encode() in exported and b"25.0431" in exported
    bad = (HEADER + "530102001002,西村,530102001,村,250,102.7\n").encode()
    status, message = upload(admin, "/reference/units", "村.csv", bad)
    assert status == 422 and "第 2 行" in message and "须不小于 -90 且不大于 90" in message
    assert places(init_db(db_path))["530102001002"] == (None, None)
