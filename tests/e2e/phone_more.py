"""The phone app in headless Chromium at 360 px, enrolled with a real server by a typed code:
what the leaflets, plots, photos and progress browser tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.e2e.phone_app import PHONE, call, enrol, open_app, watch_errors
from tests.helpers import LiveServer


@contextmanager
def phone(
    browser: Any,
    server: LiveServer,
    envoy: str = "张三",
    geolocation: dict[str, float] | None = None,
    network_faults: bool = False,
) -> Iterator[Any]:
    """A phone's page with the app open and enrolled for `envoy` (pwa-core's steps); with
    `geolocation` the app may read the phone's position (granted), without it the browser
    refuses it. No script error may happen on the way (`network_faults`: the browser logs the
    requests a test cuts or answers with an error itself; those are not errors of the app)."""
    context = browser.new_context(
        **PHONE,
        permissions=["geolocation"] if geolocation else [],
        geolocation=geolocation,
    )
    page = open_app(context, server)
    errors = watch_errors(page)
    enrol(page, server, envoy)
    try:
        yield page
    finally:
        context.close()
    if network_faults:
        errors = [e for e in errors if "Failed to load resource" not in e]
    # A request the app tries while the test holds the phone offline (a sync when it comes
    # back, the service worker's update check: when depends on the machine's load) is logged
    # by the browser, not thrown by the app.
    errors = [e for e in errors if "net::ERR_INTERNET_DISCONNECTED" not in e]
    assert not errors, errors


def sync(page: Any) -> dict[str, Any]:
    """Push and pull through the app's own sync.js (the photo bytes go after the push)."""
    report: dict[str, Any] = page.evaluate(
        "async () => (await import('/app/js/sync.js')).syncNow()"
    )
    return report


def open_screen(page: Any, name: str, ready: str) -> None:
    """Open a screen by its address and wait for `ready` (a selector) on it."""
    page.evaluate(f"location.hash = '#{name}'")
    page.wait_for_selector(f"[data-screen='{name}'] {ready}")


def new_session(page: Any, title: str, unit_code: str, starts_at: str, **more: Any) -> str:
    """A session led by the phone's envoy, saved through the app's store.js."""
    values = {
        "kind": "village_training",
        "title": title,
        "unit_code": unit_code,
        "starts_at": starts_at,
        **more,
    }
    return str(
        page.evaluate(
            """async (values) => {
                const m = await import('/app/js/store.js');
                const who = await m.identity();
                return (await m.saveRecord('session', {...values, lead_envoy_id: who.envoyId})).id;
            }""",
            values,
        )
    )


def waiting_changes(page: Any) -> int:
    return int(
        call(
            page,
            "store.js",
            "return (await m.outboxEntries()).filter((e) => e.state === 'pending').length;",
        )
    )
