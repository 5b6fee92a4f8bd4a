"""Tables as files people open in Excel: CSV in UTF-8 with a BOM (so a Chinese Windows PC
reads it as UTF-8, not GBK)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.choices import COMPARATORS, words

BOM = "\ufeff"

# The report's columns, in the order `tianjian-server report --format csv` writes them.
REPORT_COLUMNS = (
    "key",
    "label_zh",
    "comparator",
    "target",
    "actual",
    "percent",
    "met",
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
    is how True and False are written, e.g. ("是", "否").
    """
    if headers is not None and len(headers) != len(columns):
        raise ValueError("headers and columns differ in length")
    out = io.StringIO()
    writer = csv.writer(out)
    if first_line is not None:
        writer.writerow([first_line])
    writer.writerow(headers or columns)
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
                cells.append(value)
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
    "核实",
    "报数",
)


def report_csv(report: Mapping[str, Any]) -> str:
    """A report's indicator lines (`server.report.build_report`) as CSV text with a BOM:
    Chinese headers, 是/否, comparators in words, and a first line saying what, where, when."""
    from server.page_tables import china_time_text

    lines = [
        {**line, "comparator": words(COMPARATORS, line.get("comparator")).zh or None}
        for line in report["indicators"]
    ]
    first = (
        f"目标完成情况　单位：{report['unit']['name']}　年度：{report['year']}"
        f"　截至：{china_time_text(report['as_of'])}（北京时间）"
    )
    return csv_text(REPORT_COLUMNS, lines, REPORT_HEADERS, first, ("是", "否"))
