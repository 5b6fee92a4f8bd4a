"""The envoy's PIN: at least 6 digits, wrong tries counted per client address, bursts serialised."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from field_client import pin
from field_client.store import FieldStore
from tests.field_client.web.conftest import PIN, make_store

LAPTOP, PHONE = "127.0.0.1", "192.168.137.23"


@pytest.fixture
def path(tmp_path: Path) -> str:
    db = str(tmp_path / "field.db")
    store = make_store(db)
    pin.set_pin(store, PIN)
    store.close()
    return db


def test_new_pins_have_at_least_six_digits(path: str) -> None:
    store = FieldStore(path)
    for short in ("1234", "12345", "１２３４５", " 123456"):
        with pytest.raises(pin.PinRefused) as refused:
            pin.set_pin(store, short)
        assert "6-64" in refused.value.message
    pin.set_pin(store, "135790")
    assert pin.check_pin(store, "135790", LAPTOP) is False
    store.close()


def test_an_old_short_pin_still_opens_and_asks_for_a_longer_one(path: str) -> None:
    store = FieldStore(path)
    # As a device set up before the six-digit rule holds it.
    with store.transaction():
        store.set("web_pin_hash", generate_password_hash("2468"))
    assert pin.check_pin(store, "2468", LAPTOP) is True
    store.close()


def test_a_phones_failures_never_lock_the_laptop_out(path: str) -> None:
    store = FieldStore(path)
    for _ in range(10):
        with pytest.raises(pin.PinRefused):
            pin.check_pin(store, "000000", PHONE)
    with pytest.raises(pin.PinRefused) as waiting:
        pin.check_pin(store, PIN, PHONE)
    assert waiting.value.wait_s > 0
    assert pin.check_pin(store, PIN, LAPTOP) is False
    store.close()


def test_a_burst_of_wrong_pins_is_counted_one_by_one(path: str) -> None:
    """40 wrong PINs at once from one phone, each on its own connection: only the free tries
    are compared, then even the right PIN waits; the laptop still opens."""

    def try_once(guess: str) -> int:
        store = FieldStore(path)
        try:
            pin.check_pin(store, guess, PHONE)
            return 0
        except pin.PinRefused as exc:
            return exc.wait_s
        finally:
            store.close()

    with ThreadPoolExecutor(max_workers=40) as pool:
        waits = list(pool.map(try_once, [f"{n:06d}" for n in range(40)]))
    assert waits.count(0) == pin.FREE_TRIES - 1  # "wrong PIN, n more tries"; the rest wait
    store = FieldStore(path)
    counted = store.db.execute(
        "SELECT failures FROM pin_failures WHERE address = ?", [PHONE]
    ).fetchone()[0]
    assert counted == pin.FREE_TRIES  # the rest were turned away before any comparison
    assert try_once(PIN) > 0
    assert pin.check_pin(store, PIN, LAPTOP) is False
    store.close()


def test_changing_the_pin_ends_every_page_session(path: str) -> None:
    store = FieldStore(path)
    first, second = pin.open_session(store), pin.open_session(store)
    assert pin.session_open(store, first) and pin.session_open(store, second)
    pin.close_session(store, first)
    assert not pin.session_open(store, first) and pin.session_open(store, second)
    pin.set_pin(store, "975310")
    assert not pin.session_open(store, second)
    store.close()


def test_a_full_width_pin_is_entered_from_a_phone_keyboard(tmp_path: Path) -> None:
    """Set as typed on a PC's Chinese input method (１２３４５６), it opens from a phone's number
    keyboard (123456), and from other scripts' digits."""
    store = make_store(str(tmp_path / "f.db"))
    pin.set_pin(store, "１２３４５６")
    pin.check_pin(store, "123456", LAPTOP)
    pin.check_pin(store, "١٢٣٤٥٦", LAPTOP)
    with pytest.raises(pin.PinRefused):
        pin.check_pin(store, "654321", LAPTOP)
    store.close()


def test_an_ascii_pin_opens_when_typed_full_width(tmp_path: Path) -> None:
    store = make_store(str(tmp_path / "f.db"))
    pin.set_pin(store, "246813")
    pin.check_pin(store, "２４６８１３", LAPTOP)
    store.close()
