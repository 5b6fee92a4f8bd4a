"""QR codes the pages make decode (zxing-cpp) to exactly the address or card code meant."""

from __future__ import annotations

import io
import re

import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from field_client import qr_checkin
from field_client.checkin_codes import (
    CARD_ALPHABET,
    new_card_code,
    normalise_card_code,
    session_token,
    token_matches,
    wifi_payload,
)
from tests.field_client.web.conftest import new_farmer, new_session


def decoded(png: bytes) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_poster_qr_is_the_printed_address(envoy, store) -> None:
    session_id = new_session(store)
    ticket = qr_checkin.poster(store, session_id)
    page = envoy.get(f"/envoy/sessions/{session_id}/poster").get_data(as_text=True)
    printed = re.search(r"<code>(http://[^<]+)</code>", page).group(1)
    assert printed == f"http://192.168.137.1/c/{ticket.code}/{ticket.token}".replace(
        "192.168.137.1", "192.168.137.1:8080"
    )
    image = envoy.get(f"/envoy/sessions/{session_id}/qr.png")
    assert image.mimetype == "image/png"
    assert decoded(image.data) == [printed]
    download = envoy.get(f"/envoy/sessions/{session_id}/qr.png?download=1")
    assert "attachment" in download.headers["Content-Disposition"]
    assert f"checkin-{ticket.code}.png" in download.headers["Content-Disposition"]
    # Nothing personal in it: only the address, its code and the signed token.
    assert decoded(download.data) == [printed]


def test_poster_address_follows_the_chosen_lan_address(envoy, store, app) -> None:
    app.config["LAN_ADDRESSES"] = ["192.168.137.1", "10.42.0.1", "127.0.0.1"]
    session_id = new_session(store)
    image = envoy.get(f"/envoy/sessions/{session_id}/qr.png?host=10.42.0.1")
    assert decoded(image.data)[0].startswith("http://10.42.0.1:8080/c/")
    # An address this computer does not have is ignored.
    image = envoy.get(f"/envoy/sessions/{session_id}/qr.png?host=evil.example")
    assert decoded(image.data)[0].startswith("http://192.168.137.1:8080/c/")


def test_wifi_qr_joins_the_hotspot(envoy, store) -> None:
    session_id = new_session(store)
    page = envoy.get(f"/envoy/sessions/{session_id}/poster").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    envoy.post(
        f"/envoy/sessions/{session_id}/poster",
        data={
            "margin_minutes": "30",
            "ssid": "田间;热点",
            "password": 'pa:ss"1',
            "form_token": token,
        },
    )
    assert decoded(envoy.get("/envoy/wifi-qr.png").data) == [
        'WIFI:T:WPA;S:田间\\;热点;P:pa\\:ss\\"1;;'
    ]
    assert qr_checkin.poster(store, session_id).margin_minutes == 30


def test_phone_qr_opens_the_envoy_pages(envoy) -> None:
    assert decoded(envoy.get("/envoy/phone-qr.png").data) == ["http://192.168.137.1:8080/envoy/"]


def test_card_sheet_qr_is_the_card_code(envoy, store) -> None:
    farmers = [new_farmer(store, "李四", "13812345678"), new_farmer(store, "赵六", None)]
    answer = envoy.post("/envoy/cards", data={"farmer": farmers})
    assert answer.status_code == 302
    sheet = envoy.get(answer.location).get_data(as_text=True)
    codes = re.findall(r'<img src="/envoy/cards/(\w+)\.png"', sheet)
    assert len(codes) == 2 and "李四" in sheet and "赵六" in sheet and "东村" in sheet
    for code in codes:
        assert decoded(envoy.get(f"/envoy/cards/{code}.png").data) == [code]
        assert qr_checkin.farmer_of_card(store, code)["id"] in farmers
    # Reissuing keeps each farmer's code; a whole village includes both.
    again = envoy.post("/envoy/cards", data={"village": "530102001001"})
    assert sorted(re.findall(r"code=(\w+)", again.location)) == sorted(codes)


def test_session_token_is_per_session_and_per_key() -> None:
    key = b"k" * 32
    token = session_token(key, "s-1")
    assert len(token) == 10 and token_matches([key], "s-1", token)
    assert token_matches([b"other", key], "s-1", token.lower())
    assert not token_matches([key], "s-2", token)
    assert not token_matches([b"x" * 32], "s-1", token)


def test_card_codes_avoid_look_alikes_and_carry_a_check() -> None:
    for _ in range(200):
        code = new_card_code()
        assert len(code) == 7 and set(code) <= set(CARD_ALPHABET)
        assert normalise_card_code(f" {code[:3].lower()}-{code[3:]}\n") == code
    assert not set(CARD_ALPHABET) & set("0O1IL2Z5S8B6G")


@given(st.data())
def test_any_one_wrong_character_is_caught(data) -> None:
    code = new_card_code()
    position = data.draw(st.integers(0, len(code) - 1))
    wrong = data.draw(st.sampled_from([c for c in CARD_ALPHABET if c != code[position]]))
    assert normalise_card_code(code[:position] + wrong + code[position + 1 :]) is None


def test_wifi_payload_escapes_specials() -> None:
    assert wifi_payload("a;b", "") == "WIFI:T:nopass;S:a\\;b;P:;;"


@given(st.data())
def test_any_swap_of_neighbours_is_caught(data) -> None:
    code = new_card_code()
    position = data.draw(st.integers(0, len(code) - 2))
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    if swapped != code:
        assert normalise_card_code(swapped) is None
