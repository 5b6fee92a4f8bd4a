"""Digits as people type them (full-width １２３４, Arabic-Indic ١٢٣ …) read as ASCII digits,
for every field that holds a number or a code; free text is left as typed."""

from __future__ import annotations

import unicodedata


def ascii_digits(text: str) -> str:
    """Every Unicode decimal digit as its ASCII digit; every other character unchanged.

    Used for a PIN or password too: letters and punctuation in it are kept as typed, so only
    the digits a phone keyboard and a PC's full-width input mode write differently agree.
    """
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(ch)) if unicodedata.category(ch) == "Nd" else ch for ch in text
    )


def number_text(text: str) -> str:
    """Text typed where a number or a code is wanted, as a parser reads it: full-width forms
    folded (NFKC: １２．５ to 12.5, －５ to -5), every decimal digit ASCII, outer spaces gone."""
    return ascii_digits(unicodedata.normalize("NFKC", text)).strip()
