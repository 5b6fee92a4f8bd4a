"""The phone app in headless Chromium at 360 px, enrolled with a real server by a typed code:
what the leaflets, plots, photos and progress browser tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.helpers import LiveServer, enrolment_code


@contextmanager
def phone(
    browser: Any,
    server: LiveServer,
    envoy: str = "张三",
    geolocation: dict[str, float] | None = None,
) -> Iterator[Any]:
    """A phone's page with the app open and enrolled for `envoy`; with `geolocation` the app
    may read the phone's position (granted), without it the browser refuses it."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        permissions=["geolocation"] if geolocation else [],
        geolocation=geolocation,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}/app/")
    page.fill("input[name=code]", enrolment_code(server.db_path, envoy))
    page.click("form button[type=submit]")
    page.wait_for_function("() => location.hash.startsWith('#sessions')", timeout=20_000)
    page.page_errors = errors
    try:
        yield page
    finally:
        context.close()
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


def app_call(page: Any, module: str, body: str) -> Any:
    """Run `body` (an async function's body with `m` the module) in the page."""
    return page.evaluate(f"async () => {{ const m = await import('/app/js/{module}'); {body} }}")


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
        app_call(
            page,
            "store.js",
            "return (await m.outboxEntries()).filter((e) => e.state === 'pending').length;",
        )
    )
