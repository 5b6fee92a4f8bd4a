"""Tables as files people open in Excel: CSV in UTF-8 with a BOM (so a Chinese Windows PC
reads it as UTF-8, not GBK)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.choices import COMPARATORS, words

BOM = "\ufeff"
# What a spreadsheet reads as a formula when a cell starts with it (OWASP's list): a name synced
# from any device could otherwise run =HYPERLINK(...) or =cmd|... in the bureau's Excel.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Text that is a plain number: -30 and -2.5 stay as they are (they are numbers, not formulas).
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet should show it: text a spreadsheet would evaluate gets a
    leading apostrophe (shown as text, never run); numbers, and text that is a plain number,
    are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        if not PLAIN_NUMBER.fullmatch(value):
            return "'" + value
    return value


# The report's columns, in the order `tianjian-server report --format csv` writes them.
REPORT_COLUMNS = (
    "key",
    "label_zh",
    "comparator",
    "target",
    "actual",
    "percent",
    "met",
    "status_zh",
    "verified",
    "reported",
)


def csv_text(
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    headers: Sequence[str] | None = None,
    first_line: str | None = None,
    booleans: tuple[str, str] = ("True", "False"),
) -> str:
    """Rows as CSV text starting with a BOM.

    `columns` picks and orders each row's values (a missing key is an empty cell); `headers`
    are what the header row says (default: the column names), e.g. Chinese ones; `first_line`,
    if given, comes before the header (what the file is: unit, year, as-of time); `booleans`
    is how True and False are written, e.g. ("是", "否"). Every cell passes `safe_cell`, so
    no text from a device becomes a formula in Excel or WPS.
    """
    if headers is not None and len(headers) != len(columns):
        raise ValueError("headers and columns differ in length")
    out = io.StringIO()
    writer = csv.writer(out)
    if first_line is not None:
        writer.writerow([safe_cell(first_line)])
    writer.writerow([safe_cell(header) for header in headers or columns])
    yes, no = booleans
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            if value is None:
                cells.append("")
            elif value is True or value is False:
                cells.append(yes if value else no)
            else:
                cells.append(safe_cell(value))
        writer.writerow(cells)
    return BOM + out.getvalue()


REPORT_HEADERS = (
    "指标代码",
    "指标",
    "比较",
    "目标",
    "完成",
    "完成率 %",
    "是否达标",
    "状态",
    "核实",
    "报数",
)


def report_csv(report: Mapping[str, Any]) -> str:
    """A report's indicator lines (`server.report.build_report`) as CSV text with a BOM:
    Chinese headers, 是/否, comparators in words, and a first line saying what, where, when."""
    from server.files.page_tables import china_time_text

    lines = [
        {**line, "comparator": words(COMPARATORS, line.get("comparator")).zh or None}
        for line in report["indicators"]
    ]
    first = (
        f"目标完成情况　单位：{report['unit']['name']}　年度：{report['year']}"
        f"　截至：{china_time_text(report['as_of'])}（北京时间）"
    )
    return csv_text(REPORT_COLUMNS, lines, REPORT_HEADERS, first, ("是", "否"))
