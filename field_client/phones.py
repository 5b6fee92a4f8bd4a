"""The phone a farmer checked in from: the hash the device keeps, and the one check-ins carry up.

The field web app gives each phone a random cookie (never stored). The device keeps a hash of
it to recognise a returning phone (local tables); a check-in made from a phone carries a
second hash, `phone`: 16 hex digits of HMAC-SHA-256 of the kept hash under a key of this
device's own (meta `phone_key`, never sent). It says "the same phone" within what this device
recorded, and nothing else: not the cookie, not who holds the phone, never a phone number.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from field_client.outbox import dumps
from shared import protocol as p

PHONE_KEY = "phone_key"
# What the server said it understands (X-Tianjian-Capabilities), from its latest answer.
SERVER_CAPABILITIES = "server_capabilities"


def cookie_hash(cookie: str) -> str:
    """What is stored of a phone's cookie: enough to match, not to replay."""
    return hashlib.sha256(f"tianjian-phone/{cookie}".encode()).hexdigest()[:32]


def new_key() -> str:
    return secrets.token_urlsafe(32)


def checkin_phone(key: str, kept_hash: str) -> str:
    """The `phone` a check-in carries, from the kept hash of the phone's cookie."""
    return hmac.new(key.encode(), kept_hash.encode(), hashlib.sha256).hexdigest()[:16]


def server_takes_phone(capabilities: str | None) -> bool:
    """Whether a server announcing these capabilities stores a check-in's `phone`."""
    return p.CAPABILITY_PHONE in (capabilities or "").split(",")


def without_phone(fields: str) -> str:
    """A change's stored fields text with its phone left out (for a server that would refuse
    the field); unchanged when it has none."""
    if '"phone":' not in fields:
        return fields
    values = json.loads(fields)
    values.pop("phone", None)
    return dumps(values)
