"""Numbers typed at either command line: full-width and other digits read as ASCII
(shared/typed_digits.py), refused in click's own words, which shared/cli_errors.py gives in
Chinese and English like every other click message."""

from __future__ import annotations

from typing import Any

import click

from shared.typed_digits import number_text


class TypedNumber(click.ParamType[float]):
    """A whole number or a decimal as typed: `--area １２．５`, `--year ２０２６`."""

    def __init__(self, whole: bool) -> None:
        self.whole = whole
        self.name = "integer" if whole else "number"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int if self.whole else (int, float)) and not isinstance(value, bool):
            return value
        text = number_text(str(value))
        try:
            return int(text) if self.whole else float(text)
        except ValueError:
            number_type = "integer" if self.whole else "float"
            self.fail(f"{value!r} is not a valid {number_type}.", param, ctx)


WHOLE = TypedNumber(whole=True)
NUMBER = TypedNumber(whole=False)
