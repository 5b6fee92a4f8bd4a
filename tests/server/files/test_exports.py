"""CSV and XLSX exports never hand a spreadsheet a formula: text from any device that Excel or
WPS would evaluate is written as text, numbers (negative ones too) stay numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from sqlite_utils import Database

from server.accounts import users
from server.files.exports import FORMULA_STARTS, csv_text, safe_cell
from server.store.db import init_db
from tests.helpers import sign_in
from tests.server.fieldwork import Envoy

ATTACKS = (
    '=HYPERLINK("http://evil.example/","点此")',
    "+1+2",
    "-2+3",
    "@SUM(1+1)",
    "=cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)
PASSWORD = "export-password"


def read_back(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def evaluated(cell: str) -> bool:
    """Whether a spreadsheet would take the cell for a formula (a plain number is not one)."""
    if not cell.startswith(FORMULA_STARTS):
        return False
    if cell != cell.strip() or "_" in cell:
        return True
    try:
        float(cell)
    except ValueError:
        return True
    return False


def test_each_known_attack_is_written_as_text() -> None:
    rows = [{"name": attack} for attack in ATTACKS]
    written = read_back(csv_text(["name"], rows, first_line=ATTACKS[0], headers=[ATTACKS[1]]))
    cells = [row[0] for row in written]
    assert not any(evaluated(cell) for cell in cells), cells
    # What the device sent is all there, after the apostrophe that makes it text.
    assert cells[2:] == ["'" + attack for attack in ATTACKS]


def test_negative_numbers_stay_numbers() -> None:
    rows = [{"n": -30}, {"n": -2.5}, {"n": "-30"}, {"n": "-2.5"}, {"n": "+7"}, {"n": 0}]
    cells = [row[0] for row in read_back(csv_text(["n"], rows))[1:]]
    assert cells == ["-30", "-2.5", "-30", "-2.5", "+7", "0"]


@given(st.sampled_from(FORMULA_STARTS), st.text(max_size=30))
def test_no_text_a_spreadsheet_would_evaluate_gets_through(start: str, rest: str) -> None:
    text = start + rest
    (header, row) = read_back(csv_text(["v"], [{"v": text}]))
    (cell,) = row
    assert not evaluated(cell)
    assert cell == "'" + text or cell == text


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_numbers_are_never_changed(number: float) -> None:
    (header, row) = read_back(csv_text(["v"], [{"v": number}]))
    assert row[0] == str(number)
    assert safe_cell(str(number)) == str(number)


# ------------------------------------------------------------- the pages' exports


@pytest.fixture
def hostile(app: Flask, db_path: str) -> Iterator[Database]:
    """Farmers named with every attack, checked in to one session of 张三's."""
    db = init_db(db_path)
    zhang = Envoy(db, "张三")
    session = zhang.session()
    for attack in ATTACKS[:5]:
        zhang.checkin(session, zhang.farmer(attack))
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    yield db
    db.close()


def test_the_check_in_export_writes_synced_names_as_text(app: Flask, hostile: Database) -> None:
    client = app.test_client()
    assert sign_in(client, "staff", PASSWORD).status_code == 302
    response = client.get("/records/checkins?year=2026&format=csv")
    assert response.status_code == 200
    cells = [cell for row in read_back(response.get_data(as_text=True)) for cell in row]
    assert not [cell for cell in cells if evaluated(cell)]
    assert {"'" + attack for attack in ATTACKS[:5]} <= set(cells)

    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/records/checkins?year=2026&format=xlsx").data)
    )
    found: dict[str, Any] = {}
    for row in book.worksheets[0].iter_rows():
        for cell in row:
            if cell.value is not None:
                # XlsxWriter writes text as text: never a formula cell, the name as sent.
                assert cell.data_type != "f", cell.value
                found[str(cell.value)] = cell.data_type
    for attack in ATTACKS[:5]:
        assert found.get(attack) == "s", attack
