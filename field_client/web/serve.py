"""`tianjian-field serve`: the web app on every interface, with the addresses phones should open."""

from __future__ import annotations

from collections.abc import Callable

from field_client.lan import base_url, lan_addresses, terminal_qr
from field_client.web import create_app
from shared import serving


def banner(addresses: list[str], port: int) -> str:
    """What the terminal shows on start: every address, in Chinese and English, and a QR."""
    lines = ["田间 Tianjian 已启动 / is serving at:"]
    for address in addresses:
        where = (
            "仅本机 / this computer only"
            if address == "127.0.0.1"
            else "手机连上本机热点后打开 / phones on this hotspot"
        )
        lines.append(f"  {base_url(address, port)}/    ({where})")
    phone = next((a for a in addresses if a != "127.0.0.1"), addresses[0])
    lines.append("")
    lines.append(
        "用手机扫描下面的二维码打开特派员页面 / scan this with your phone to open the envoy's pages:"
    )
    lines.append(terminal_qr(f"{base_url(phone, port)}/envoy/"))
    lines.append("按 Ctrl+C 停止 / press Ctrl+C to stop")
    return "\n".join(lines)


def serve(
    store_path: str,
    host: str,
    port: int,
    threads: int = 8,
    connections: int = serving.DEFAULT_CONNECTION_LIMIT,
    channel_timeout: int = serving.DEFAULT_CHANNEL_TIMEOUT,
    echo: Callable[[str], None] = print,
) -> None:
    addresses = lan_addresses(host)
    app = create_app(store_path, {"LAN_ADDRESSES": addresses, "PORT": port})
    echo(banner(addresses, port))
    # Farmers arrive in bursts after the poster goes up: enough threads that twenty phones
    # at once wait on SQLite's write lock, not on the server's queue; idle or slow phones hold
    # a connection each, not a thread, up to the limit.
    serving.serve(app, host, port, threads, connections, channel_timeout, quiet=True)
