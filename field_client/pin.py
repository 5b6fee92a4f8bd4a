"""The envoy's sign-in PIN for the web pages: stored hashed, a few wrong tries make it wait."""

from __future__ import annotations

import time
from collections.abc import Callable

from werkzeug.security import check_password_hash, generate_password_hash

from field_client.store import FieldStore
from shared.errors import TianjianError
from shared.typed_digits import ascii_digits

MIN_LENGTH = 4
MAX_LENGTH = 64
FREE_TRIES = 3
FIRST_WAIT_S = 30
LONGEST_WAIT_S = 15 * 60


class PinRefused(TianjianError):
    """The PIN is wrong, badly formed, or tried too often."""

    status = 403

    def __init__(self, message: str, wait_s: int = 0) -> None:
        super().__init__(message)
        self.wait_s = wait_s


def has_pin(store: FieldStore) -> bool:
    return store.get("web_pin_hash") is not None


def set_pin(store: FieldStore, pin: str) -> None:
    # Digits as a phone keyboard types them: a PIN set as １２３４ is entered as 1234.
    pin = ascii_digits(pin)
    if not MIN_LENGTH <= len(pin) <= MAX_LENGTH or pin.strip() != pin:
        raise PinRefused(
            f"PIN 或密码须为 {MIN_LENGTH}-{MAX_LENGTH} 个字符，首尾不能有空格 / "
            f"the PIN or password must be {MIN_LENGTH}-{MAX_LENGTH} characters, no spaces at the ends"
        )
    with store.transaction():
        store.set("web_pin_hash", generate_password_hash(pin))
        store.set("web_pin_failures", 0)
        store.set("web_pin_wait_until", 0)


def check_pin(store: FieldStore, pin: str, now: Callable[[], float] = time.time) -> None:
    """Return when the PIN is right; else raise PinRefused saying how long to wait, if at all."""
    pin = ascii_digits(pin)
    stored = store.get("web_pin_hash")
    if stored is None:
        raise PinRefused("尚未设置 PIN / no PIN has been set yet")
    wait_until = float(store.get("web_pin_wait_until", "0") or 0)
    if now() < wait_until:
        raise PinRefused(_wait_message(int(wait_until - now()) + 1), int(wait_until - now()) + 1)
    if check_password_hash(stored, pin):
        with store.transaction():
            store.set("web_pin_failures", 0)
            store.set("web_pin_wait_until", 0)
        return
    with store.transaction():
        failures = int(store.get("web_pin_failures", "0") or 0) + 1
        store.set("web_pin_failures", failures)
        wait = 0
        if failures >= FREE_TRIES:
            wait = min(FIRST_WAIT_S * 2 ** (failures - FREE_TRIES), LONGEST_WAIT_S)
            store.set("web_pin_wait_until", now() + wait)
    if wait:
        raise PinRefused(_wait_message(wait), wait)
    left = FREE_TRIES - failures
    raise PinRefused(f"PIN 不正确，还可再试 {left} 次 / wrong PIN, {left} more tries before a wait")


def _wait_message(seconds: int) -> str:
    return f"错误次数过多，请 {seconds} 秒后再试 / too many wrong tries: wait {seconds} s"
