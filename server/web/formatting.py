"""How pages show times (China time), dates (2026年11月26日), numbers and masked mobiles."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, get_locale

from shared.bilingual import half
from shared.choices import ROLES, Words
from shared.clock import parse_iso
from shared.mobile import mask_mobile


def local_datetime(value: str | datetime | None) -> str:
    """A stored UTC time shown in China time, e.g. 2026年11月26日 14:05."""
    if not value:
        return ""
    moment = parse_iso(value) if isinstance(value, str) else value
    return format_datetime(moment, "y年M月d日 HH:mm" if _zh() else "d MMM y HH:mm")


def local_date(value: str | date | datetime | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = parse_iso(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return format_datetime(value, "y年M月d日" if _zh() else "d MMM y")
    return format_date(value, "long")


def _zh() -> bool:
    return str(get_locale()).startswith("zh")


def number(value: float | int | None, places: int = 1) -> str:
    """1,234 or 1,234.5: separators, and no .0 on whole numbers."""
    if value is None:
        return "—"
    if float(value).is_integer():
        return format_decimal(int(value), format="#,##0")
    return format_decimal(value, format="#,##0." + "#" * places)


def chosen_words(words: Words | tuple[str, str]) -> str:
    """A choice's name in the page's language (shared/choices.py gives both)."""
    zh, en = words
    return str(zh) if _zh() else en


def role_label(role: str) -> str:
    """A user's role in the page's language (shared/choices.py ROLES names them)."""
    words = ROLES.get(role)
    return chosen_words(words) if words else role


def in_language(text: object) -> str:
    """One language of a bilingual message, "中文 / English" (or a (zh, en) pair): the page's.

    Messages and notes carry both languages so command lines and logs can print them whole;
    a page shows the half its reader chose. Text without " / " is shown as it is.
    """
    if isinstance(text, tuple) and len(text) == 2:
        return chosen_words(text)
    return half(str(text), english=not _zh())


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        local_datetime=local_datetime,
        local_date=local_date,
        number=number,
        masked=mask_mobile,
        in_language=in_language,
    )
