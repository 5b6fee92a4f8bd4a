"""One language of a bilingual message: "中文 / English" is how messages travel; a page shows
the half its reader chose (command lines and logs print both)."""

from __future__ import annotations


def half(message: str, english: bool) -> str:
    """The Chinese half, or the English one; text without " / " is shown as it is."""
    chinese, sep, rest = message.partition(" / ")
    if not sep:
        return message
    return rest.strip() if english else chinese.strip()
