"""The one rule both web apps follow before redirecting to an address a request carried."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

# Control, format and separator characters: browsers drop tabs and newlines from a URL
# (`/\t/evil.example` becomes `//evil.example`, another site) and some treat other blanks
# as the end of the path, so none of them is allowed anywhere in a path we follow.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cs", "Cn"})


def is_same_site_path(target: str) -> bool:
    """True when `target` is a path on this site (`/envoy/?x=1`), never another host.

    Only a single leading slash is followed: `//host`, `/\\host` and `http:` are other sites to
    a browser, and a backslash anywhere counts as a slash in browsers' URL parsing.
    """
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def same_site_or(target: str | None, fallback: str) -> str:
    """`target` when it is a path on this site, else `fallback` (a path the app made itself)."""
    return target if target and is_same_site_path(target) else fallback
