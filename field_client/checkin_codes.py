"""Codes printed for check-in: session tokens signed with the device's key, farmer card codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# No 0/O, 1/I/L: printed addresses are sometimes typed.
TOKEN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TOKEN_LENGTH = 10  # 31**10, about 2**49: far beyond guessing over a hotspot in a session's time
# Cards are read by scanners and, when a scanner fails, by people: no 0/O/Q/D, 1/I/L, 2/Z,
# 5/S, 8/B, 6/G, U/V.
CARD_ALPHABET = "ACEFHJKMNPRTWXY3479"
CARD_RANDOM = 6  # 19**6, about 47 million codes per device
assert len(CARD_ALPHABET) == 19  # prime: see _check_char


def session_token(key: bytes, session_id: str) -> str:
    """The token a session's QR carries: an HMAC of the session id, nothing personal."""
    mac = hmac.new(key, f"tianjian-checkin/{session_id}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(mac[:8], "big")
    chars = []
    for _ in range(TOKEN_LENGTH):
        number, digit = divmod(number, len(TOKEN_ALPHABET))
        chars.append(TOKEN_ALPHABET[digit])
    return "".join(chars)


def token_matches(keys: list[bytes], session_id: str, token: str) -> bool:
    """True when any of the device's keys signed this token for this session."""
    cleaned = token.strip().upper()
    return any(hmac.compare_digest(session_token(key, session_id), cleaned) for key in keys)


def _check_char(body: str) -> str:
    """A weighted sum modulo 19, the alphabet's length and a prime: with weights 1..6 any one
    wrong character changes it, and so does any swap of two neighbours."""
    total = sum((place + 1) * CARD_ALPHABET.index(char) for place, char in enumerate(body))
    return CARD_ALPHABET[total % len(CARD_ALPHABET)]


def new_card_code() -> str:
    body = "".join(secrets.choice(CARD_ALPHABET) for _ in range(CARD_RANDOM))
    return body + _check_char(body)


def normalise_card_code(text: str) -> str | None:
    """The card code in `text` (as a scanner or a person typed it), or None when it cannot be one."""
    cleaned = "".join(ch for ch in text.upper() if not ch.isspace() and ch != "-")
    if len(cleaned) != CARD_RANDOM + 1 or any(ch not in CARD_ALPHABET for ch in cleaned):
        return None
    if _check_char(cleaned[:-1]) != cleaned[-1]:
        return None
    return cleaned


def wifi_payload(ssid: str, password: str) -> str:
    """The text phone cameras read as "join this Wi-Fi" (WeChat ignores it)."""

    def escape(text: str) -> str:
        for char in '\\;,:"':
            text = text.replace(char, "\\" + char)
        return text

    security = "WPA" if password else "nopass"
    return f"WIFI:T:{security};S:{escape(ssid)};P:{escape(password)};;"
