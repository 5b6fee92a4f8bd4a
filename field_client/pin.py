"""The envoy's sign-in PIN for the web pages: stored hashed, wrong tries slowed per client address."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

from werkzeug.security import check_password_hash, generate_password_hash

from field_client.store import FieldStore
from shared.errors import TianjianError
from shared.typed_digits import ascii_digits

# A new PIN has at least six digits (a four-digit one falls to a few thousand guesses); one
# set before this rule still opens the pages, and the envoy is asked to choose a longer one.
MIN_LENGTH = 6
MAX_LENGTH = 64
FREE_TRIES = 3
FIRST_WAIT_S = 30
LONGEST_WAIT_S = 15 * 60
UNKNOWN_ADDRESS = "unknown"
# A page session's row outlives its idle lock (kept in the signed cookie) by far; rows older
# than this are removed when someone signs in, so the table does not grow for ever.
SESSION_ROW_DAYS = 7


class PinRefused(TianjianError):
    """The PIN is wrong, badly formed, or tried too often."""

    status = 403

    def __init__(self, message: str, wait_s: int = 0) -> None:
        super().__init__(message)
        self.wait_s = wait_s


def has_pin(store: FieldStore) -> bool:
    return store.get("web_pin_hash") is not None


def set_pin(store: FieldStore, pin: str) -> None:
    """Set or change the PIN; every page session open until now is signed out."""
    # Digits as a phone keyboard types them: a PIN set as １２３４５６ is entered as 123456.
    pin = ascii_digits(pin)
    if not MIN_LENGTH <= len(pin) <= MAX_LENGTH or pin.strip() != pin:
        raise PinRefused(
            f"PIN 或密码须为 {MIN_LENGTH}-{MAX_LENGTH} 位，首尾不能有空格 / "
            f"the PIN or password must be {MIN_LENGTH}-{MAX_LENGTH} characters, "
            "no spaces at the ends"
        )
    with store.transaction():
        store.set("web_pin_hash", generate_password_hash(pin))
        store.db.execute("DELETE FROM pin_failures")
        store.db.execute("DELETE FROM web_sessions")


def check_pin(
    store: FieldStore, pin: str, address: str, now: Callable[[], float] = time.time
) -> bool:
    """Return when the PIN is right (True when it is shorter than new PINs must be: the envoy
    should change it); else raise PinRefused saying how long to wait, if at all.

    Failures count per client `address`: a phone guessing on the hotspot waits, the laptop's
    own screen (127.0.0.1) does not. The try is counted as a failure before the PIN is
    compared, in one write transaction, so a burst of tries at once cannot all pass the check
    before any is counted; a right PIN then clears its address's count.
    """
    pin = ascii_digits(pin)
    stored = store.get("web_pin_hash")
    if stored is None:
        raise PinRefused("尚未设置 PIN / no PIN has been set yet")
    address = address or UNKNOWN_ADDRESS
    with store.transaction():
        row = store.db.execute(
            "SELECT failures, wait_until FROM pin_failures WHERE address = ?", [address]
        ).fetchone()
        failures, wait_until = (int(row[0]), float(row[1])) if row else (0, 0.0)
        if now() < wait_until:
            left = int(wait_until - now()) + 1
            raise PinRefused(_wait_message(left), left)
        failures += 1
        wait = 0
        if failures >= FREE_TRIES:
            wait = min(FIRST_WAIT_S * 2 ** (failures - FREE_TRIES), LONGEST_WAIT_S)
        store.db.execute(
            "INSERT INTO pin_failures (address, failures, wait_until) VALUES (?, ?, ?) "
            "ON CONFLICT(address) DO UPDATE SET failures = excluded.failures, "
            "wait_until = excluded.wait_until",
            [address, failures, now() + wait if wait else 0],
        )
    if check_password_hash(stored, pin):
        with store.transaction():
            store.db.execute("DELETE FROM pin_failures WHERE address = ?", [address])
        return len(pin) < MIN_LENGTH
    if wait:
        raise PinRefused(_wait_message(wait), wait)
    left = FREE_TRIES - failures
    raise PinRefused(f"PIN 不正确，还可再试 {left} 次 / wrong PIN, {left} more tries before a wait")


def _wait_message(seconds: int) -> str:
    return f"错误次数过多，请 {seconds} 秒后再试 / too many wrong tries: wait {seconds} s"


# ------------------------------------------------------------------ page sessions


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(store: FieldStore, now: Callable[[], float] = time.time) -> str:
    """A new page session's token, for the signed cookie; only its hash is kept here."""
    token = secrets.token_urlsafe(24)
    with store.transaction():
        store.db.execute(
            "DELETE FROM web_sessions WHERE created_at < ?", [now() - SESSION_ROW_DAYS * 86400]
        )
        store.db.execute(
            "INSERT INTO web_sessions (token_hash, created_at) VALUES (?, ?)",
            [_token_hash(token), now()],
        )
    return token


def session_open(store: FieldStore, token: str) -> bool:
    """True while the page session is neither signed out nor ended by a PIN change."""
    row = store.db.execute(
        "SELECT 1 FROM web_sessions WHERE token_hash = ?", [_token_hash(token)]
    ).fetchone()
    return row is not None


def close_session(store: FieldStore, token: str) -> None:
    with store.transaction():
        store.db.execute("DELETE FROM web_sessions WHERE token_hash = ?", [_token_hash(token)])
