"""QR images for the pages (PNG) and the address phones on the hotspot use to reach this device."""

from __future__ import annotations

import io

import qrcode
from flask import current_app, request

from field_client.web.i18n import china_time

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def png(text: str, box_size: int = 10) -> bytes:
    """A QR code as PNG, with the quiet zone scanners need and medium error correction."""
    code = qrcode.QRCode(
        box_size=box_size, border=4, error_correction=qrcode.constants.ERROR_CORRECT_M
    )
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(out, format="PNG")
    return out.getvalue()


def lan_host() -> str:
    """The address to print for phones: the one this page was reached at, unless that is this
    computer's loopback; then the first LAN address `serve` found (or the one chosen)."""
    chosen = request.args.get("host")
    addresses = current_app.config["LAN_ADDRESSES"]
    if chosen and chosen in addresses:
        return str(chosen)
    host = request.host.rsplit(":", 1)[0] if not request.host.startswith("[") else request.host
    if host not in LOOPBACK_HOSTS:
        return host
    usable = [a for a in addresses if a not in LOOPBACK_HOSTS]
    return usable[0] if usable else host


def china_clock(iso: str) -> str:
    return china_time(iso, "%H:%M")
