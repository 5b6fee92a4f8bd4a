"""A table as pages show it and as files carry it: columns with Chinese and English headers.

Every table on the bureau's pages is one of these, so each can be sorted on the page and
downloaded as CSV or XLSX with the same headers and the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.clock import CHINA, parse_iso
from shared.mobile import mask_mobile

TEXT, NUMBER, BOOL, CODE, MOBILE, TIME, DATE, YEAR = (
    "text",
    "number",
    "bool",
    "code",
    "mobile",
    "time",
    "date",
    # A year (a birth year, a plan year): a whole number never written with separators
    # (1975, not 1,975), in pages and in files alike.
    "year",
)


@dataclass(frozen=True)
class CellDetail:
    """What a page shows in a figure's cell beside the figure itself (files carry each part in a
    column of its own): "/ 3,000" after it, a status badge and lines under it, a tooltip."""

    of: str | None = None
    status: str | None = None
    status_text: str | None = None
    lines: tuple[str, ...] = ()
    title: str | None = None


@dataclass(frozen=True)
class Column:
    """One column: the row key it shows, its headers, and what kind of value it holds.

    `code` and `mobile` stay text in files (Excel would drop leading zeros or write 1.4E+10);
    `mobile` is masked for everyone but admins; `link` gives the row's drill-down address.
    `on_page=False` keeps a column for files only (its figure shown in another column's cell
    through that column's `detail(row, english)`), so wide tables fit a screen.
    """

    key: str
    zh: str
    en: str
    kind: str = TEXT
    link: Callable[[dict[str, Any]], str | None] | None = None
    # The row key holding the English text of this column, where it differs (labels).
    en_key: str | None = None
    on_page: bool = True
    # A shorter header for the page (zh, en), the file's header in its tooltip.
    heading: tuple[str, str] | None = None
    detail: Callable[[dict[str, Any], bool], CellDetail | None] | None = None


@dataclass
class Table:
    name: str
    title_zh: str
    title_en: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]]
    unit_name: str = ""
    year: int | None = None
    as_of: str | None = None
    notes: list[str] = field(default_factory=list)
    # Columns files carry after the first, which the page leaves out: what makes a row stand
    # alone in Excel (a village's township and 12-digit code, for names that occur twice).
    file_columns: Sequence[Column] = ()

    def for_files(self) -> Table:
        """The table as CSV and XLSX carry it: the file-only columns after the first."""
        if not self.file_columns:
            return self
        columns = [*self.columns[:1], *self.file_columns, *self.columns[1:]]
        return replace(self, columns=columns, file_columns=())

    def masked(self, show_mobiles: bool) -> Table:
        """The same table with mobile numbers masked unless the viewer is an admin."""
        if show_mobiles:
            return self
        keys = [column.key for column in self.columns if column.kind == MOBILE]
        rows = [{**row, **{key: mask_mobile(row.get(key)) for key in keys}} for row in self.rows]
        return replace(self, rows=rows)


def china_time_text(value: str | None) -> str:
    """A stored UTC time as China time text for files: 2026-11-26 14:05."""
    if not value:
        return ""
    return parse_iso(value).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def as_of_line(table: Table) -> str:
    """The first line of a file: what it is, for which unit and year, as of when (China time)."""
    parts = [table.title_zh]
    if table.unit_name:
        parts.append(f"单位：{table.unit_name}")
    if table.year:
        parts.append(f"年度：{table.year}")
    if table.as_of:
        parts.append(f"截至：{china_time_text(table.as_of)}（北京时间）")
    return "　".join(parts)


def file_stem(table: Table) -> str:
    """e.g. 目标进度_会泽县_2026_截至20261126-1405."""
    parts = [table.title_zh]
    if table.unit_name:
        parts.append(table.unit_name)
    if table.year:
        parts.append(str(table.year))
    if table.as_of:
        stamp = parse_iso(table.as_of).astimezone(CHINA).strftime("%Y%m%d-%H%M")
        parts.append(f"截至{stamp}")
    stem = "_".join(parts)
    return "".join(ch for ch in stem if ch not in '\\/:*?"<>|').replace(" ", "")


def cell_value(column: Column, value: Any) -> Any:
    """What a file's cell holds: 是/否 for booleans, China time for times, text for codes."""
    if value is None:
        return None
    if column.kind == BOOL:
        return "是" if value else "否"
    if column.kind == TIME:
        return china_time_text(value) if isinstance(value, str) else value
    if column.kind in (CODE, MOBILE):
        return str(value)
    if column.kind == YEAR and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return value
