"""This computer's addresses on the local network, found with plain sockets (Windows too)."""

from __future__ import annotations

import io
import ipaddress
import socket

import qrcode

# UDP "connects" send nothing: they only make the system pick the interface it would use to
# reach each range, which names that interface's address. One probe per private range finds
# the hotspot's address even with no route to the internet.
PROBES = ("192.168.255.255", "10.255.255.255", "172.31.255.255", "223.5.5.5")
ALL_INTERFACES = ("", "0.0.0.0", "::")


def lan_addresses(host: str = "0.0.0.0") -> list[str]:
    """IPv4 addresses phones on the same network can reach this server at, private ones first.

    With a specific --host only that one is served. Loopback comes last: it only works on
    this computer itself.
    """
    if host not in ALL_INTERFACES:
        return [host]
    found: list[str] = []
    for probe in PROBES:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.connect((probe, 9))
                found.append(sock.getsockname()[0])
        except OSError:
            continue
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(str(info[4][0]))
    except OSError:
        pass
    usable = []
    for address in dict.fromkeys(found):
        ip = ipaddress.ip_address(address)
        if not (ip.is_loopback or ip.is_unspecified or ip.is_link_local):
            usable.append(address)
    usable.sort(key=lambda a: not ipaddress.ip_address(a).is_private)
    return usable + ["127.0.0.1"]


def base_url(address: str, port: int) -> str:
    """http://address[:port]: port 80 needs no number, which is easier to type."""
    return f"http://{address}" if port == 80 else f"http://{address}:{port}"


def terminal_qr(text: str) -> str:
    """A QR code drawn with half-block characters, for the terminal that started the server."""
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(text)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()
