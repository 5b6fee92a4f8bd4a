"""The envoy's PIN reads full-width and other digits as ASCII: set as typed on a PC's Chinese
input method (１２３４５６), it opens from a phone's number keyboard (123456), and back."""

from __future__ import annotations

from pathlib import Path

import pytest

from field_client import pin
from tests.field_client.web.conftest import make_store


def test_a_full_width_pin_is_entered_from_a_phone_keyboard(tmp_path: Path) -> None:
    store = make_store(str(tmp_path / "f.db"))
    pin.set_pin(store, "１２３４５６")
    pin.check_pin(store, "123456")
    pin.check_pin(store, "١٢٣٤٥٦")
    with pytest.raises(pin.PinRefused):
        pin.check_pin(store, "654321")
    store.close()


def test_an_ascii_pin_opens_when_typed_full_width(tmp_path: Path) -> None:
    store = make_store(str(tmp_path / "f.db"))
    pin.set_pin(store, "246813")
    pin.check_pin(store, "２４６８１３")
    store.close()
