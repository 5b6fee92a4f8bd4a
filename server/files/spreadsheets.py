"""A page's table as a file for Excel or WPS: CSV (UTF-8 with BOM) or XLSX with codes kept as text."""

from __future__ import annotations

import io
import unicodedata

import xlsxwriter

from server.files.exports import csv_text
from server.files.page_tables import BOOL, CODE, MOBILE, NUMBER, YEAR, Table, as_of_line, cell_value

MIN_WIDTH, MAX_WIDTH = 6, 60


def table_csv(table: Table) -> str:
    """CSV text with a BOM: the as-of line, the Chinese headers, then the rows (是/否)."""
    return csv_text(
        [column.key for column in table.columns],
        ({c.key: cell_value(c, row.get(c.key)) for c in table.columns} for row in table.rows),
        headers=[column.zh for column in table.columns],
        first_line=as_of_line(table),
        booleans=("是", "否"),
    )


def display_width(text: str) -> int:
    """Columns a text takes in Excel: a Chinese character is about two Latin ones wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table_xlsx(table: Table) -> bytes:
    """XLSX bytes: the as-of line, a bold header row (frozen), codes and mobiles as text cells."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(table.title_zh[:31])
    bold = book.add_format({"bold": True, "bg_color": "#EEF3EF", "border": 1})
    text = book.add_format({"num_format": "@"})
    whole = book.add_format({"num_format": "#,##0"})
    decimal = book.add_format({"num_format": "#,##0.0#"})
    year = book.add_format({"num_format": "0"})
    sheet.write_string(0, 0, as_of_line(table))
    widths = []
    for index, column in enumerate(table.columns):
        sheet.write_string(1, index, column.zh, bold)
        widths.append(display_width(column.zh))
    for number, row in enumerate(table.rows, start=2):
        for index, column in enumerate(table.columns):
            value = cell_value(column, row.get(column.key))
            if value is None or value == "":
                continue
            if column.kind in (CODE, MOBILE) or column.kind == BOOL:
                sheet.write_string(number, index, str(value), text)
            elif column.kind == YEAR and isinstance(value, int | float):
                sheet.write_number(number, index, value, year)
            elif column.kind == NUMBER and isinstance(value, int | float):
                fmt = whole if float(value).is_integer() else decimal
                sheet.write_number(number, index, value, fmt)
            else:
                sheet.write_string(number, index, str(value))
            widths[index] = max(widths[index], display_width(str(value)))
    for index, width in enumerate(widths):
        fmt = text if table.columns[index].kind in (CODE, MOBILE) else None
        sheet.set_column(index, index, min(MAX_WIDTH, max(MIN_WIDTH, width + 2)), fmt)
    sheet.freeze_panes(2, 0)
    book.close()
    return buffer.getvalue()
