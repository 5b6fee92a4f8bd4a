"""Files people hand the server (page uploads, the `load` commands) read within limits: the
encoding named when it is not UTF-8, YAML/JSON nesting and size bounded, no YAML aliases, and a
spreadsheet's rows, cells and unpacked size capped before it is parsed."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from typing import Any

import yaml

from shared.errors import TianjianError

# A county has a few hundred units and targets: these leave room many times over, and stop a
# file built to exhaust the server (8 million empty rows in a 172 KB XLSX) within a second.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 64
MAX_XLSX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_XLSX_PARTS = 1_000
MAX_CELLS = 200_000
MAX_DEPTH = 20
MAX_NODES = 50_000

_UTF16_OR_32 = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


class FileTooLarge(TianjianError):
    """The file holds more than the server reads; the message says which limit it passed."""

    status = 413


class UnreadableFile(TianjianError):
    """The file cannot be read as what it says it is; the message says why."""

    status = 422


def _too_large(name: str, what_zh: str, what_en: str, limit: int) -> FileTooLarge:
    return FileTooLarge(
        f"{name}：{what_zh}超过 {limit:,} / {name}: more than {limit:,} {what_en}",
        {"file": f"{what_en} > {limit}"},
    )


def _unreadable(name: str, zh: str, en: str) -> UnreadableFile:
    return UnreadableFile(f"{name}：{zh} / {name}: {en}", {"file": en})


def read_bytes(path: str, name: str) -> bytes:
    """The file's bytes, refused past MAX_FILE_BYTES without reading it."""
    if os.path.getsize(path) > MAX_FILE_BYTES:
        raise _too_large(name, "文件字节数", "bytes", MAX_FILE_BYTES)
    with open(path, "rb") as handle:
        return handle.read()


def decode_text(raw: bytes, name: str) -> str:
    """UTF-8 text (a BOM allowed); UTF-16/32 and GBK are named, with the line that is not UTF-8."""
    for bom, encoding in _UTF16_OR_32:
        if raw.startswith(bom):
            raise _not_utf8(name, encoding)
    if len(raw) >= 4 and (raw[1::2][:8].count(0) >= 2 or raw[0::2][:8].count(0) >= 2):
        # UTF-16 saved without a BOM: every other byte of ASCII text is zero.
        raise _not_utf8(name, "UTF-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UnreadableFile(
            f"{name}：第 {line} 行不是 UTF-8 编码（可能是 GBK），请另存为 UTF-8 / {name}: line "
            f"{line} is not UTF-8 (GBK?): save the file as UTF-8",
            {"file": f"line {line}: not UTF-8"},
        ) from exc


def _not_utf8(name: str, encoding: str) -> UnreadableFile:
    return _unreadable(
        name,
        f"文件是 {encoding} 编码，请另存为 UTF-8",
        f"the file is {encoding}: save it as UTF-8",
    )


def read_text(path: str, name: str) -> str:
    return decode_text(read_bytes(path, name), name)


# ------------------------------------------------------------------------- YAML and JSON


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases (one alias can stand for millions of nodes) and
    counting depth and nodes while it builds, so no document grows past the limits."""

    def __init__(self, stream: str, name: str) -> None:
        super().__init__(stream)
        self.name = name
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _unreadable(
                self.name,
                "不接受 YAML 别名（*名称），请把内容写全",
                "YAML aliases (*name) are not accepted: write the values out",
            )
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _too_large(self.name, "YAML 节点数", "YAML nodes", MAX_NODES)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _too_deep(self.name)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _too_deep(name: str) -> UnreadableFile:
    return _unreadable(
        name, f"嵌套超过 {MAX_DEPTH} 层", f"nested more than {MAX_DEPTH} levels deep"
    )


def _check_json_shape(value: Any, name: str) -> None:
    """Depth and size of parsed JSON, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise _too_large(name, "JSON 值的个数", "JSON values", MAX_NODES)
        if depth > MAX_DEPTH:
            raise _too_deep(name)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def parse_structured(text: str, name: str, is_json: bool) -> Any:
    """JSON or YAML text parsed within the limits, or an error naming what is wrong."""
    if is_json:
        try:
            value = json.loads(text)
        except RecursionError:
            raise _too_deep(name) from None
        except json.JSONDecodeError as exc:
            raise _unreadable(name, f"不是有效的 JSON：{exc}", f"not valid JSON: {exc}") from exc
        except ValueError as exc:
            # Integers of more than 4,300 digits (Python's guard against slow conversions).
            raise _unreadable(name, "数字过长", "a number is too long") from exc
        _check_json_shape(value, name)
        return value
    loader = _BoundedLoader(text, name)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise _unreadable(name, f"不是有效的 YAML：{exc}", f"not valid YAML: {exc}") from exc
    finally:
        loader.dispose()


def read_structured(path: str, name: str) -> Any:
    """A .json file as JSON, anything else as YAML, within the limits."""
    return parse_structured(read_text(path, name), name, path.lower().endswith(".json"))


# ------------------------------------------------------------------------- tables


def csv_rows(path: str, name: str) -> list[list[str]]:
    """A UTF-8 CSV's rows, at most MAX_ROWS of at most MAX_COLUMNS cells."""
    text = read_text(path, name)
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text)):
            rows.append(row)
            _check_row(rows, row, name)
    except csv.Error as exc:
        raise _unreadable(name, f"CSV 格式有误：{exc}", f"not valid CSV: {exc}") from exc
    return rows


def _check_row(rows: list[Any], row: Any, name: str) -> None:
    if len(rows) > MAX_ROWS:
        raise _too_large(name, "行数", "rows", MAX_ROWS)
    if len(row) > MAX_COLUMNS and any(cell not in (None, "") for cell in row[MAX_COLUMNS:]):
        raise _too_large(name, "列数", "columns", MAX_COLUMNS)


def xlsx_rows(path: str, name: str) -> list[list[Any]]:
    """The first sheet's rows: the archive's unpacked size and the sheet's size checked before
    any XML is parsed, rows and columns counted while it is read."""
    if os.path.getsize(path) > MAX_FILE_BYTES:
        raise _too_large(name, "文件字节数", "bytes", MAX_FILE_BYTES)
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _unreadable(name, "不是有效的 XLSX 文件", "not a valid XLSX file") from exc
    if len(parts) > MAX_XLSX_PARTS:
        raise _too_large(name, "压缩包内文件数", "parts in the archive", MAX_XLSX_PARTS)
    if sum(part.file_size for part in parts) > MAX_XLSX_UNPACKED_BYTES:
        raise _too_large(name, "解压后字节数", "bytes unpacked", MAX_XLSX_UNPACKED_BYTES)
    _count_sheet_elements(path, name)
    import openpyxl

    rows: list[list[Any]] = []
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            # The size the sheet declares: refused at once if too big. A sheet may declare
            # less than it holds, so rows and columns are counted as they are read too.
            if (sheet.max_row or 0) > MAX_ROWS:
                raise _too_large(name, "行数", "rows", MAX_ROWS)
            if (sheet.max_column or 0) > MAX_COLUMNS:
                raise _too_large(name, "列数", "columns", MAX_COLUMNS)
            for row in sheet.iter_rows(values_only=True):
                rows.append(list(row))
                _check_row(rows, row, name)
        finally:
            book.close()
    except TianjianError:
        raise
    except Exception as exc:
        # openpyxl answers a malformed workbook with whatever its XML and zip layers raise
        # (KeyError, ValueError, zipfile and XML errors...): each means the file is not one.
        raise _unreadable(name, "不是有效的 XLSX 文件", "not a valid XLSX file") from exc
    return rows


# A row or cell element's start tag, with or without a namespace prefix (<row, <x:row, <c ...).
_ROW_OR_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)[\s/>]")


def _count_sheet_elements(path: str, name: str) -> None:
    """Rows and cells of every worksheet counted in its packed XML, streamed, stopping at the
    limits: openpyxl, even read-only, walks a whole sheet that declares no size before it hands
    back a row (8 million empty rows: 20 s and 800 MB)."""
    with zipfile.ZipFile(path) as archive:
        for part in archive.infolist():
            if not part.filename.startswith("xl/worksheets/"):
                continue
            rows = cells = 0
            tail = b""
            with archive.open(part) as stream:
                while chunk := stream.read(1 << 20):
                    data = tail + chunk
                    # A tag starting in the last bytes may be cut: it is counted with the next
                    # chunk, which starts with those bytes.
                    cut = max(0, len(data) - 16) if len(chunk) == 1 << 20 else len(data)
                    for found in _ROW_OR_CELL.finditer(data):
                        if found.start() >= cut:
                            break
                        if found.group(1) == b"row":
                            rows += 1
                        else:
                            cells += 1
                    tail = data[cut:]
                    if rows > MAX_ROWS:
                        raise _too_large(name, "行数", "rows", MAX_ROWS)
                    if cells > MAX_CELLS:
                        raise _too_large(name, "单元格数", "cells", MAX_CELLS)


def table_rows(path: str, name: str) -> list[list[Any]]:
    """An .xlsx file's first sheet, or else a UTF-8 CSV, as rows within the limits."""
    return xlsx_rows(path, name) if path.lower().endswith(".xlsx") else csv_rows(path, name)
