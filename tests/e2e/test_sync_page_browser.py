"""立即同步 on the envoy's sync page in headless Chromium at 360 px, against the app served in
this process (so the page's batch size can be made small) and a real server behind a slow
loopback link: with the server down the page says nothing was lost, what waits and to try again
in signal; with it up the figures grow batch by batch and the waiting box agrees at the end."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import waitress

from field_client import operations as ops
from field_client import pin
from field_client.web import create_app, outbox
from tests.browser import screenshot
from tests.e2e.faults import FaultProxy
from tests.helpers import LiveServer, enrolled_store, free_port, load_demo_reference

PIN = "246813"
FARMERS = 24
BATCH = 5


@pytest.fixture
def device(
    db_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, object]]:
    """(the device app's address, its store) for a device of 张三 enrolled with a real server,
    reaching it through a proxy that holds each request 0.35 s; FARMERS farmers wait to go."""
    load_demo_reference(db_path)
    server = LiveServer(db_path).start()
    device_path = str(tmp_path / "field.db")
    store = enrolled_store(server, device_path, "张三")
    proxy = FaultProxy(server.port, delay_s=0.35)
    store.set("server_url", proxy.url)
    for n in range(FARMERS):
        ops.register_farmer(store, name=f"农民{n:02d}", village="东村")
    pin.set_pin(store, PIN)
    monkeypatch.setattr(
        outbox,
        "PAGE_SYNC_OPTIONS",
        {"timeout": 5.0, "retries": 0, "backoff": 0.01, "batch_changes": BATCH},
    )
    app = create_app(device_path, {"LAN_ADDRESSES": ["127.0.0.1"]})
    served = waitress.create_server(app, host="127.0.0.1", port=free_port(), threads=4)
    threading.Thread(target=served.run, daemon=True).start()
    yield f"http://127.0.0.1:{served.effective_port}", store
    served.close()
    proxy.close()
    store.close()
    server.stop()


def sign_in(page, url: str) -> None:
    page.goto(f"{url}/envoy/sync/")
    page.fill("#pin", PIN)
    page.click("main button[type=submit]")
    page.goto(f"{url}/envoy/sync/")


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_no_signal_says_nothing_was_lost_and_what_waits(device, phone_page) -> None:
    url, store = device
    store.set("server_url", f"http://127.0.0.1:{free_port()}")
    page = phone_page
    sign_in(page, url)
    assert page.inner_text("#pending-count") == str(FARMERS)
    page.click("#sync-button")
    page.wait_for_selector("#sync-failed", timeout=20_000)
    shown = page.inner_text("#sync-failed")
    assert "没有丢失任何数据" in shown and f"{FARMERS} 条更改仍保存在本机" in shown
    assert f"农民: {FARMERS}" in shown and "有信号" in shown
    assert page.inner_text("#pending-count") == str(FARMERS)
    assert fits(page)
    screenshot(page, "envoy-sync-no-signal")
    assert store.counts()["pending"] == FARMERS


def test_progress_shows_batch_by_batch_and_the_waiting_box_agrees(device, phone_page) -> None:
    url, store = device
    page = phone_page
    sign_in(page, url)
    waiting = int(page.inner_text("#pending-count"))
    assert waiting == FARMERS
    seen: list[int] = []

    def note(response) -> None:
        if response.url.endswith("/envoy/sync/progress") or response.request.method == "POST":
            text = response.text()
            if 'data-sent="' in text:
                seen.append(int(text.split('data-sent="')[1].split('"')[0]))

    page.on("response", note)
    page.click("#sync-button")
    page.wait_for_selector("#sync-figures", timeout=30_000)
    # The figures grew while the sync ran: more than one step between none and all sent.
    steps = sorted({n for n in seen if 0 < n < waiting})
    assert len(steps) >= 2, seen
    assert page.inner_text("[data-figure=sent]") == str(waiting)
    assert page.inner_text("[data-figure=pending]") == "0"
    # The box above agrees with the result, without reloading the page.
    assert page.inner_text("#pending-count") == "0"
    assert page.locator("#waiting").count() == 0
    assert fits(page)
    screenshot(page, "envoy-sync-batches")
    assert store.counts().get("pending", 0) == 0
