"""One language of a bilingual message: "中文 / English" is how messages travel; a page shows
the half its reader chose (command lines and logs print both)."""

from __future__ import annotations


def half(message: str, english: bool) -> str:
    """The Chinese half, or the English one; text without " / " is shown as it is, and so is
    text composed of several bilingual parts ("第 2 行 / line 2：code：必填 / required"), where
    cutting at the first " / " would drop the detail a reader needs."""
    if message.count(" / ") != 1:
        return message
    chinese, _, rest = message.partition(" / ")
    return rest.strip() if english else chinese.strip()
