"""Every piece of page text has its English, and the compiled catalogue matches its source."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = ROOT / "server" / "translations" / "en" / "LC_MESSAGES"


def english() -> dict[str, str]:
    with open(CATALOGUE / "messages.po", "rb") as source:
        return {message.id: message.string for message in read_po(source) if message.id}


def test_every_page_string_has_english() -> None:
    method_map = [("server/**.py", "python"), ("server/web/templates/**.html", "jinja2")]
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords={"_": None, "gettext": None, "lazy_gettext": None}
        )
        if isinstance(message, str)
    }
    catalogue = english()
    assert found, "no page text found: is the extraction looking in the right place?"
    missing = sorted(found - set(catalogue))
    assert not missing, f"run scripts/translations and translate: {missing}"
    untranslated = sorted(key for key in found if not catalogue[key])
    assert not untranslated, f"no English yet for: {untranslated}"


def test_compiled_catalogue_matches_its_source() -> None:
    with open(CATALOGUE / "messages.mo", "rb") as compiled:
        built = {message.id: message.string for message in read_mo(compiled) if message.id}
    assert built == english(), "run scripts/translations to compile the catalogue"
