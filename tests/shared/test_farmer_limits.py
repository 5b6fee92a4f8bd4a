"""The counts behind the farmer page's limits, on a clock the test moves: a key that fails past
its allowance waits, each further failure doubles the wait up to a cap, and other keys and the
window's end are unaffected; a count allows up to its limit within its window."""

from __future__ import annotations

import pytest
from flask import Flask

from shared.farmer_limits import (
    NEW_PER_ADDRESS_PER_HOUR,
    Limits,
    Strikes,
    TooManyNew,
    app_limits,
    client_address,
)
from shared.window_counts import Counts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_strikes_block_past_the_allowance_and_double_the_wait() -> None:
    clock = Clock()
    strikes = Strikes(allowed=3, window=600, block=30, block_max=100, clock=clock)
    for _ in range(3):
        strikes.fail("10.0.0.2")
    assert strikes.wait("10.0.0.2") == 0
    strikes.fail("10.0.0.2")
    assert strikes.wait("10.0.0.2") == 30 and strikes.wait("10.0.0.3") == 0
    clock.now += 30
    assert strikes.wait("10.0.0.2") == 0
    strikes.fail("10.0.0.2")
    assert strikes.wait("10.0.0.2") == 60
    clock.now += 60
    strikes.fail("10.0.0.2")
    assert strikes.wait("10.0.0.2") == 100  # capped
    # Once the window has passed with no failure, the allowance is whole again.
    clock.now += 601
    strikes.fail("10.0.0.2")
    assert strikes.wait("10.0.0.2") == 0


def test_counts_allow_up_to_the_limit_within_the_window() -> None:
    clock = Clock()
    counts = Counts(window=60, clock=clock)
    assert [counts.take("a", 2) for _ in range(3)] == [True, True, False]
    assert counts.take("b", 2)
    clock.now += 61
    assert counts.take("a", 2)


def test_new_registrations_are_counted_per_address_and_per_device_key() -> None:
    limits = Limits()
    for n in range(3):
        limits.take_new(f"10.0.0.{n}", 3, device="phone-a")
    with pytest.raises(TooManyNew):
        limits.take_new("10.0.0.9", 3, device="phone-a")
    # Another device's QR has its own count; the envoy's lifting lets everything through.
    limits.take_new("10.0.0.9", 3, device="phone-b")
    for _ in range(NEW_PER_ADDRESS_PER_HOUR + 1):
        limits.take_new("10.0.0.1", 3, lifted=True)


def test_each_app_keeps_its_own_counts_under_its_key() -> None:
    """The laptop's page and the server's share the helper, not the counts: a client blocked
    under one key (or in one app) is not under another."""
    laptop, server = Flask("laptop"), Flask("server")
    with laptop.app_context():
        kept = app_limits("checkin_limits")
        assert app_limits("checkin_limits") is kept
        for _ in range(NEW_PER_ADDRESS_PER_HOUR):
            kept.take_new("10.0.0.2", per_minute=1000)
        with pytest.raises(TooManyNew):
            app_limits("checkin_limits").take_new("10.0.0.2", per_minute=1000)
        app_limits("qr_checkin_limits").take_new("10.0.0.2", per_minute=1000)
    with server.app_context():
        assert app_limits("checkin_limits") is not kept
        app_limits("checkin_limits").take_new("10.0.0.2", per_minute=1000)


def test_counts_go_to_the_address_the_app_sees() -> None:
    app = Flask("laptop")
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.168.4.23"}):
        assert client_address() == "192.168.4.23"
    with app.test_request_context(environ_base={"REMOTE_ADDR": ""}):
        assert client_address() == ""
