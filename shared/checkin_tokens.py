"""Tokens a check-in QR carries, signed with the device's check-in key: the laptop's posters and
the QR the phone app shows (server/phone_app/static/js/session_qr.js signs the same way)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

# No 0/O, 1/I/L: printed addresses are sometimes typed.
TOKEN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TOKEN_LENGTH = 10  # 31**10, about 2**49: far beyond guessing in a session's time


def sign(key: bytes, message: str) -> str:
    """TOKEN_LENGTH characters of TOKEN_ALPHABET from the first 8 bytes of HMAC-SHA-256."""
    mac = hmac.new(key, message.encode(), hashlib.sha256).digest()
    number = int.from_bytes(mac[:8], "big")
    chars = []
    for _ in range(TOKEN_LENGTH):
        number, digit = divmod(number, len(TOKEN_ALPHABET))
        chars.append(TOKEN_ALPHABET[digit])
    return "".join(chars)


def session_token(key: bytes, session_id: str) -> str:
    """The token a laptop poster's QR carries: an HMAC of the session id, nothing personal."""
    return sign(key, f"tianjian-checkin/{session_id}")


def token_matches(keys: Sequence[bytes], session_id: str, token: str) -> bool:
    """True when any of the device's keys signed this token for this session."""
    cleaned = token.strip().upper()
    return any(hmac.compare_digest(session_token(key, session_id), cleaned) for key in keys)


def phone_message(session_id: str, starts: int, ends: int | None, margin_minutes: int) -> str:
    """What the phone app's QR signs: the session and the times its window is made from.

    The server may not hold the session yet when a farmer scans (it arrives with the phone's
    next sync), so the QR carries the session's start and end (Unix seconds; no end: the
    day's end) and the margin, signed with the session: none can be changed to reopen an old
    QR or to move a session's window.
    """
    return f"tianjian-checkin/{session_id}/{starts}/{'' if ends is None else ends}/{margin_minutes}"


def phone_token(
    key: bytes, session_id: str, starts: int, ends: int | None, margin_minutes: int
) -> str:
    return sign(key, phone_message(session_id, starts, ends, margin_minutes))


def phone_token_matches(
    key: bytes, session_id: str, starts: int, ends: int | None, margin_minutes: int, token: str
) -> bool:
    expected = phone_token(key, session_id, starts, ends, margin_minutes)
    return hmac.compare_digest(expected, token.strip().upper())
