"""The one same-site rule both apps follow before redirecting to a `next` a request carried."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from shared.redirects import is_same_site_path, same_site_or

SITE = "http://192.168.137.1:8080"

# Each of these reaches another host in a browser (tabs and newlines are dropped, a backslash
# is a slash), or is not a path at all.
NASTY = [
    "//evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/\r\n/evil.example",
    "\t//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example",
    "/\x00/evil.example",
    "/\u3000/evil.example",
    "/\u2028/evil.example",
    "/\u200b/evil.example",
    "evil.example",
    "",
]

SAFE = ["/", "/envoy/", "/envoy/farmers/?q=李", "/progress?year=2026&unit=530102", "/a//b"]


def browser_host(target: str) -> str:
    """The host a browser would go to for `Location: target` on SITE (its URL parser drops
    tabs and newlines anywhere and reads a backslash as a slash)."""
    cleaned = "".join(ch for ch in target if ch not in "\t\n\r").replace("\\", "/")
    cleaned = cleaned.strip("\x00\x20")
    return urlsplit(urljoin(SITE + "/x/", cleaned)).netloc


def test_nasty_targets_are_refused_and_paths_kept() -> None:
    for target in NASTY:
        assert not is_same_site_path(target), repr(target)
        assert same_site_or(target, "/home") == "/home"
    for target in SAFE:
        assert is_same_site_path(target), target
        assert same_site_or(target, "/home") == target
    assert same_site_or(None, "/home") == "/home"


pieces = st.sampled_from(
    ["/", "//", "\\", "\t", "\n", "\r", " ", "\x00", "\u3000", ":", "@", "?", "#", "%09", "%2F"]
    + ["evil.example", "http", "javascript", ".", "..", "envoy", "李"]
)


@given(st.lists(pieces, max_size=8).map("".join) | st.text(max_size=40))
def test_whatever_is_followed_stays_on_this_site(target: str) -> None:
    if is_same_site_path(target):
        assert browser_host(target) == urlsplit(SITE).netloc, repr(target)
