"""The phone a farmer checked in from: the hash the device keeps, and the one check-ins carry up.

The field web app gives each phone a random cookie (never stored). The device keeps a hash of
it to recognise a returning phone (local tables); a check-in made from a phone carries a
second hash, `phone`: 16 hex digits of HMAC-SHA-256 of the kept hash under a key of this
device's own (meta `phone_key`, never sent). It says "the same phone" within what this device
recorded, and nothing else: not the cookie, not who holds the phone, never a phone number.

Beside it, a self check-in carries `net`, the same kind of hash of the client's network address
(so many check-ins from one address show without any cookie), and `typed_code: true` when the
farmer typed the session code instead of scanning the QR. Both are sent only to a server that
announced CAPABILITY_CHECKIN_NET (an older one would refuse the fields).
"""

from __future__ import annotations

import json
import secrets

from field_client.outbox import dumps
from shared import protocol as p
from shared.phone_marks import checkin_marks, checkin_net, checkin_phone, cookie_hash

# The hashes live with the server's (the phone app's QR check-ins make the same marks).
__all__ = ["checkin_marks", "checkin_net", "checkin_phone", "cookie_hash"]

PHONE_KEY = "phone_key"
# What the server said it understands (X-Tianjian-Capabilities), from its latest answer.
SERVER_CAPABILITIES = "server_capabilities"


def new_key() -> str:
    return secrets.token_urlsafe(32)


def server_takes_phone(capabilities: str | None) -> bool:
    """Whether a server announcing these capabilities stores a check-in's `phone`."""
    return p.CAPABILITY_PHONE in (capabilities or "").split(",")


def fields_server_refuses(capabilities: str | None) -> tuple[str, ...]:
    """Later-added check-in fields a server announcing these capabilities does not take."""
    said = (capabilities or "").split(",")
    return tuple(name for name, needs in p.ADDED_FIELD_CAPABILITY.items() if needs not in said)


def without_phone(fields: str, names: tuple[str, ...] = ("phone",)) -> str:
    """A change's stored fields text with the named fields (its phone) left out, for a server
    that would refuse them; unchanged when it has none."""
    if not any(f'"{name}":' in fields for name in names):
        return fields
    values = json.loads(fields)
    for name in names:
        values.pop(name, None)
    return dumps(values)
