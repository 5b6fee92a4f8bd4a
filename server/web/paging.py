"""Long tables a page at a time: which page the query string asks for, clamped to the rows there are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request

from shared.errors import TianjianError

PAGE_SIZE = 200
# More digits than this is past any last page: read as "the last", never parsed (Python refuses
# to turn thousands of digits into an int, and nothing needs to).
MOST_DIGITS = 9


@dataclass(frozen=True)
class Page:
    """One page of a table: its number (1 is the first), the rows it holds, and over how many
    rows in all; `param` is the query argument that turns it."""

    param: str
    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def rows(self, rows: list[Any]) -> list[Any]:
        return rows[self.offset : self.offset + self.size]


def asked_page(param: str) -> int:
    """The page number in the query string (none or blank: the first; 0 the first too; past the
    last: clamped by `page_of`). Anything but digits is refused in Chinese and English."""
    text = request.args.get(param, "").strip()
    if not text:
        return 1
    if not text.isascii() or not text.isdigit():
        raise TianjianError(
            f"页码须为正整数 / the page number must be a whole number from 1: {param}={text[:20]}",
            {param: "页码须为正整数 / the page number must be a whole number from 1"},
        )
    if len(text.lstrip("0")) > MOST_DIGITS:
        return 10**MOST_DIGITS
    return max(1, int(text))


def page_of(param: str, total: int, wanted: int | None = None, size: int = PAGE_SIZE) -> Page:
    """The page `wanted` (else asked for under `param`), the last one where it is past the end."""
    if wanted is None:
        wanted = asked_page(param)
    last = max(1, -(-total // size))
    return Page(param, min(wanted, last), total, size)
