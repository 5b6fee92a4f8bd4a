"""LAN addresses found with plain sockets, and what `serve` prints on start."""

from __future__ import annotations

import ipaddress

from field_client.lan import base_url, lan_addresses
from field_client.web.serve import banner


def test_addresses_are_ipv4_with_loopback_last() -> None:
    found = lan_addresses("0.0.0.0")
    assert found[-1] == "127.0.0.1"
    for address in found:
        ip = ipaddress.ip_address(address)
        assert ip.version == 4 and not ip.is_unspecified
    assert all(not ipaddress.ip_address(a).is_loopback for a in found[:-1])


def test_a_chosen_host_is_the_only_address() -> None:
    assert lan_addresses("192.168.137.1") == ["192.168.137.1"]


def test_port_80_needs_no_number() -> None:
    assert base_url("192.168.137.1", 80) == "http://192.168.137.1"
    assert base_url("192.168.137.1", 8080) == "http://192.168.137.1:8080"


def test_banner_names_every_address_in_both_languages() -> None:
    text = banner(["192.168.137.1", "10.0.0.5", "127.0.0.1"], 8080)
    for address in ("192.168.137.1", "10.0.0.5", "127.0.0.1"):
        assert f"http://{address}:8080/" in text
    assert "手机连上本机热点后打开" in text and "phones on this hotspot" in text
    assert "█" in text  # the QR for the envoy's phone
