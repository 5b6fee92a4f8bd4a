"""Codes printed for check-in: session tokens signed with the device's key, farmer card codes."""

from __future__ import annotations

import secrets

# The session token's rules live with the phone app's (shared/checkin_tokens.py).
from shared.checkin_tokens import TOKEN_ALPHABET, TOKEN_LENGTH, session_token, token_matches

__all__ = ["TOKEN_ALPHABET", "TOKEN_LENGTH", "session_token", "token_matches"]

# Cards are read by scanners and, when a scanner fails, by people: no 0/O/Q/D, 1/I/L, 2/Z,
# 5/S, 8/B, 6/G, U/V.
CARD_ALPHABET = "ACEFHJKMNPRTWXY3479"
CARD_RANDOM = 6  # 19**6, about 47 million codes per device
assert len(CARD_ALPHABET) == 19  # prime: see _check_char


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
