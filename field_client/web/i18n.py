"""Chinese first, English on request: the locale, the compiled catalogues, bilingual messages."""

from __future__ import annotations

import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel, get_locale

from shared.bilingual import half
from shared.clock import CHINA, parse_iso

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    chosen = request.cookies.get("lang")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def compiled_catalogues() -> str:
    """The directory holding up-to-date .mo files, compiled from the .po files when stale.

    Only the .po files are kept in git, so a clean clone works without a build step; when the
    package directory is read-only the catalogues are compiled into a temporary one.
    """
    target = TRANSLATIONS
    for po_path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            _compile(po_path, mo_path)
        except OSError:
            target = Path(tempfile.gettempdir()) / "tianjian-translations"
            _compile(po_path, target / po_path.relative_to(TRANSLATIONS).with_suffix(".mo"))
    return str(target)


def _compile(po_path: Path, mo_path: Path) -> None:
    with po_path.open("rb") as source:
        catalog = read_po(source)
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    partial = mo_path.with_suffix(".mo.tmp")
    with partial.open("wb") as out:
        write_mo(out, catalog)
    partial.replace(mo_path)


def say(message: str) -> str:
    """One half of a "中文 / English" message, in the page's language."""
    return half(message, english=str(get_locale()) == "en")


def china_time(iso: str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as China time, the way every page shows times."""
    if not iso:
        return ""
    return parse_iso(iso).astimezone(CHINA).strftime(pattern)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = compiled_catalogues()
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters["say"] = say
    app.jinja_env.filters["china_time"] = china_time
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
