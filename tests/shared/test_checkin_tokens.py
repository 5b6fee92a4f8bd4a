"""Check-in tokens: the laptop's poster token unchanged by its move to shared/, and the phone
app's QR token bound to every part it signs."""

from __future__ import annotations

import hashlib
import hmac

from shared.checkin_tokens import (
    TOKEN_ALPHABET,
    TOKEN_LENGTH,
    phone_message,
    phone_token,
    phone_token_matches,
    session_token,
    token_matches,
)

KEY = b"device-key"
SESSION = "0b6f2a43-5d1e-4c8a-9f3b-2e7d6c5a4b39"


def test_the_poster_token_is_the_hmac_of_the_session_in_base_31() -> None:
    mac = hmac.new(KEY, f"tianjian-checkin/{SESSION}".encode(), hashlib.sha256).digest()
    number, expected = int.from_bytes(mac[:8], "big"), ""
    for _ in range(TOKEN_LENGTH):
        number, digit = divmod(number, len(TOKEN_ALPHABET))
        expected += TOKEN_ALPHABET[digit]
    assert session_token(KEY, SESSION) == expected
    assert token_matches([b"other", KEY], SESSION, f" {expected.lower()} ")
    assert not token_matches([b"other"], SESSION, expected)


def test_the_phone_token_signs_session_times_and_margin() -> None:
    assert phone_message(SESSION, 1_800_000_000, None, 60) == (
        f"tianjian-checkin/{SESSION}/1800000000//60"
    )
    token = phone_token(KEY, SESSION, 1_800_000_000, 1_800_007_200, 60)
    assert phone_token_matches(KEY, SESSION, 1_800_000_000, 1_800_007_200, 60, token.lower())
    changed = [
        (b"other", SESSION, 1_800_000_000, 1_800_007_200, 60),
        (KEY, SESSION.replace("0b", "1b"), 1_800_000_000, 1_800_007_200, 60),
        (KEY, SESSION, 1_800_086_400, 1_800_007_200, 60),
        (KEY, SESSION, 1_800_000_000, None, 60),
        (KEY, SESSION, 1_800_000_000, 1_800_007_200, 1440),
    ]
    for key, session, starts, ends, margin in changed:
        assert not phone_token_matches(key, session, starts, ends, margin, token)
