"""Response headers both web apps send on every answer: no sniffing, no framing, own scripts only."""

from __future__ import annotations

from typing import Protocol

# Scripts only from the app's own files (vendored htmx and ECharts, no inline script or
# handler), nothing framed or framing, forms posted only back here. Inline styles stay allowed:
# the farmer's one-request page carries its few rules inline, and ECharts styles its tooltips.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class _Headers(Protocol):
    def __contains__(self, key: str, /) -> bool: ...
    def __setitem__(self, key: str, value: str, /) -> None: ...


def add_security_headers(headers: _Headers) -> None:
    """Set each header unless the view set its own."""
    for name, value in SECURITY_HEADERS.items():
        if name not in headers:
            headers[name] = value
