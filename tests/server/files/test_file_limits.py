"""Files built to take the server down, or merely in the wrong encoding, are refused with a
413/422 naming the problem before they are parsed in full: every reader of server.file_limits,
and every loader that reads through it (targets, units, envoys, catalogue)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import xlsxwriter
from sqlite_utils import Database

from server.files import file_limits
from server.files.file_limits import FileTooLarge, UnreadableFile
from server.plan import target_files
from server.plan.target_files import load_targets_file
from server.reference import load as reference
from server.store.db import init_db
from shared.errors import TianjianError
from tests.helpers import load_demo_reference

TARGETS_YAML = "year: 2026\nunit_code: '530102'\ntargets:\n  - indicator: trainee_attendances\n    comparator: '>='\n    value: 100\n"
SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def workbook(sheet: Iterator[bytes] | None = None, extra: tuple[str, bytes] | None = None) -> bytes:
    """A real XLSX (XlsxWriter's) with its first sheet's XML replaced, streamed into the zip."""
    source = io.BytesIO()
    book = xlsxwriter.Workbook(source, {"in_memory": True})
    book.add_worksheet().write_string(0, 0, "指标")
    book.close()
    original = zipfile.ZipFile(source)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in original.infolist():
            if info.filename == SHEET and sheet is not None:
                with archive.open(SHEET, "w", force_zip64=True) as part:
                    for chunk in sheet:
                        part.write(chunk)
            else:
                archive.writestr(info, original.read(info.filename))
        if extra:
            with archive.open(extra[0], "w", force_zip64=True) as part:
                part.write(extra[1])
    return out.getvalue()


def empty_rows(count: int) -> Iterator[bytes]:
    yield SHEET_HEAD + b"<sheetData>"
    chunk = b"<row/>" * 100_000
    for _ in range(count // 100_000):
        yield chunk
    yield b"</sheetData></worksheet>"


def far_cell(dimension: str | None) -> Iterator[bytes]:
    declared = f'<dimension ref="{dimension}"/>'.encode() if dimension else b""
    yield (
        SHEET_HEAD + declared + b'<sheetData><row r="8000000"><c r="A8000000" t="inlineStr">'
        b"<is><t>x</t></is></c></row></sheetData></worksheet>"
    )


def alias_bomb(levels: int = 9) -> str:
    """About 1 KB of YAML whose aliases stand for 9**levels strings."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    return "\n".join(lines) + f"\ntargets: *a{levels}\nyear: 2026\nunit_code: '530102'\n"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    path = str(tmp_path / "server.db")
    load_demo_reference(path)
    database = init_db(path)
    yield database
    database.close()


def written(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def assert_bilingual(exc: TianjianError, name: str) -> None:
    chinese, _, english = exc.message.partition(" / ")
    assert chinese and english, exc.message
    assert name in exc.message


# ------------------------------------------------------------------ spreadsheets

XLSX_ATTACKS = {
    # 8 million empty rows: 75 KB packed, 48 MB of XML.
    "empty_rows": lambda: workbook(empty_rows(8_000_000)),
    # One cell in row 8,000,000, the sheet declaring A1:A8000000: read-only openpyxl pads
    # every row before it.
    "declared_far": lambda: workbook(far_cell("A1:A8000000")),
    "undeclared_far": lambda: workbook(far_cell(None)),
    # 10,000 rows of 30 empty cells: within the rows, past the cells.
    "cells": lambda: workbook(
        iter([SHEET_HEAD + b"<sheetData>" + (b"<row>" + b"<c/>" * 30 + b"</row>") * 10_000])
    ),
    # A part that unpacks to 80 MB of zeros (a zip bomb inside the workbook).
    "zip_bomb": lambda: workbook(extra=("xl/padding.bin", b"\0" * (80 * 1024 * 1024))),
    "wide": lambda: workbook(
        iter(
            [
                SHEET_HEAD + b'<dimension ref="A1:XFD2"/><sheetData><row r="1">'
                b'<c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>'
            ]
        )
    ),
}


@pytest.mark.parametrize("attack", sorted(XLSX_ATTACKS))
def test_oversized_workbooks_are_refused_before_they_are_read(
    db: Database, tmp_path: Path, attack: str
) -> None:
    path = written(tmp_path, "targets.xlsx", XLSX_ATTACKS[attack]())
    assert Path(path).stat().st_size < 200_000
    with pytest.raises(FileTooLarge) as refused:
        target_files.load_targets_file(db, path, 2026, source="目标.xlsx")
    assert refused.value.status == 413
    assert_bilingual(refused.value, "目标.xlsx")
    assert str(tmp_path) not in refused.value.message


def test_a_workbook_that_is_not_one_is_named_as_such(db: Database, tmp_path: Path) -> None:
    broken = workbook(iter([b"<worksheet><sheetData><row"]))
    for data in (b"PK\x03\x04 not really a zip", broken):
        path = written(tmp_path, "t.xlsx", data)
        with pytest.raises(UnreadableFile) as refused:
            target_files.load_targets_file(db, path, 2026, source="t.xlsx")
        assert "XLSX" in refused.value.message and refused.value.status == 422


def test_a_csv_with_too_many_rows_or_columns_or_a_huge_cell_is_refused(
    db: Database, tmp_path: Path
) -> None:
    rows = "指标,比较,目标值,单位代码\n" + "trainee_attendances,>=,1,530102\n" * 20_001
    with pytest.raises(FileTooLarge):
        target_files.load_targets_file(db, written(tmp_path, "t.csv", rows.encode()), 2026)
    wide = ",".join(["x"] * 100) + "\n"
    with pytest.raises(FileTooLarge):
        reference.load_units(db, written(tmp_path, "u.csv", wide.encode()), "u.csv")
    huge = 'code,name\n1,"' + "x" * 200_000 + '"\n'
    with pytest.raises(UnreadableFile) as refused:
        reference.load_units(db, written(tmp_path, "u.csv", huge.encode()), "u.csv")
    assert "CSV" in refused.value.message


def test_limits_leave_an_ordinary_workbook_alone(db: Database, tmp_path: Path) -> None:
    source = io.BytesIO()
    book = xlsxwriter.Workbook(source, {"in_memory": True})
    sheet = book.add_worksheet()
    for column, text in enumerate(("指标", "比较", "目标值", "单位代码")):
        sheet.write_string(0, column, text)
    for column, value in enumerate(("trainee_attendances", ">=", 500, 530102)):
        sheet.write(1, column, value)
    book.close()
    path = written(tmp_path, "t.xlsx", source.getvalue())
    assert target_files.load_targets_file(db, path, 2026) == 1


# ------------------------------------------------------------------ YAML and JSON


def test_a_yaml_alias_bomb_is_refused_without_expanding_it(db: Database, tmp_path: Path) -> None:
    text = alias_bomb()
    assert len(text) < 1200
    for load in (
        lambda path: target_files.load_targets_file(db, path, source="bomb.yaml"),
        lambda path: load_targets_file(db, path),
    ):
        with pytest.raises(UnreadableFile) as refused:
            load(written(tmp_path, "bomb.yaml", text.encode()))
        assert "别名" in refused.value.message and "alias" in refused.value.message


def test_a_yaml_file_with_too_many_nodes_is_refused(tmp_path: Path) -> None:
    text = "targets:\n" + "  - x\n" * (file_limits.MAX_NODES + 1)
    with pytest.raises(FileTooLarge):
        file_limits.read_structured(written(tmp_path, "t.yaml", text.encode()), "t.yaml")


@pytest.mark.parametrize(
    "name,text",
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("deep.json", '{"a":' * 5_000 + "1" + "}" * 5_000),
        ("deep.yaml", "[" * 5_000 + "]" * 5_000),
        ("deep.yaml", "- " * 5_000 + "x"),
        (
            "deep.yaml",
            "".join(f"{'  ' * level}a:\n" for level in range(600)) + "  " * 600 + "1",
        ),
    ],
)
def test_deep_nesting_is_refused_by_every_targets_loader(
    db: Database, tmp_path: Path, name: str, text: str
) -> None:
    path = written(tmp_path, name, text.encode())
    for load in (
        lambda: target_files.load_targets_file(db, path, source=name),
        lambda: load_targets_file(db, path),
    ):
        with pytest.raises(UnreadableFile) as refused:
            load()
        assert "嵌套" in refused.value.message and "nested" in refused.value.message


@pytest.mark.parametrize(
    "name,data,named",
    [
        ("t.yaml", TARGETS_YAML.encode("utf-16"), "UTF-16"),
        ("t.yaml", TARGETS_YAML.encode("utf-16-le"), "UTF-16"),
        ("t.json", json.dumps({"year": 2026}).encode("utf-32"), "UTF-32"),
        ("t.yaml", ("# 县目标\n" + TARGETS_YAML).encode("gbk"), "GBK"),
        ("t.json", '{"year": 2026, "note": "é"}'.encode("latin-1"), "UTF-8"),
        ("t.csv", "指标,比较,目标值,单位代码\n".encode("gbk"), "GBK"),
    ],
)
def test_a_file_not_in_utf8_is_named_for_its_encoding(
    db: Database, tmp_path: Path, name: str, data: bytes, named: str
) -> None:
    path = written(tmp_path, name, data)
    with pytest.raises(UnreadableFile) as refused:
        target_files.load_targets_file(db, path, 2026, source=name)
    assert named in refused.value.message
    assert_bilingual(refused.value, name)


def test_reference_csvs_in_gbk_are_named(db: Database, tmp_path: Path) -> None:
    path = written(
        tmp_path, "u.csv", "code,name,parent_code,level\n53,云南,,county\n".encode("gbk")
    )
    with pytest.raises(UnreadableFile) as refused:
        reference.load_units(db, path, "单位.csv")
    assert "第 2 行" in refused.value.message and "单位.csv" in refused.value.message
