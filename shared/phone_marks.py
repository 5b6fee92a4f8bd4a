"""What a farmer's self check-in carries of the phone and network it came from: keyed hashes,
never the cookie, the address or a number (field_client/phones.py says why; the server's
check-ins from the phone app's QR make the same marks with a key of its own)."""

from __future__ import annotations

import hashlib
import hmac


def cookie_hash(cookie: str) -> str:
    """What is stored of a phone's cookie: enough to match, not to replay."""
    return hashlib.sha256(f"tianjian-phone/{cookie}".encode()).hexdigest()[:32]


def checkin_phone(key: str, kept_hash: str) -> str:
    """The `phone` a check-in carries, from the kept hash of the phone's cookie."""
    return hmac.new(key.encode(), kept_hash.encode(), hashlib.sha256).hexdigest()[:16]


def checkin_net(key: str, address: str) -> str:
    """The `net` a self check-in carries: a keyed hash of the client's address (never sent)."""
    return hmac.new(key.encode(), f"net/{address}".encode(), hashlib.sha256).hexdigest()[:16]


def checkin_marks(key: str, address: str | None, typed: bool) -> dict[str, object]:
    """A self check-in's `net` (when the address is known) and `typed_code` (only when true)."""
    marks: dict[str, object] = {}
    if address:
        marks["net"] = checkin_net(key, address)
    if typed:
        marks["typed_code"] = True
    return marks
