"""Steps the phone app's browser tests share: a phone-sized context, enrolling by typed code,
waiting for the service worker, and calling the app's own modules from the page."""

from __future__ import annotations

from typing import Any

from tests.helpers import LiveServer, enrolment_code

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


def phone_context(browser: Any) -> Any:
    """A fresh phone: its own storage, 360 x 740, Chinese, China time."""
    return browser.new_context(**PHONE)


def watch_errors(page: Any) -> list[str]:
    """Uncaught script errors and CSP refusals on the page, gathered as they happen."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Failed to fetch" not in message.text
            else None
        ),
    )
    return errors


def open_app(context: Any, server: LiveServer, hash_part: str = "") -> Any:
    page = context.new_page()
    page.goto(f"{server.url}/app/{hash_part}")
    return page


def enrol(page: Any, server: LiveServer, envoy: str) -> None:
    """Type a fresh one-time code on the enrol screen and wait for the sessions screen."""
    page.wait_for_selector("input[name=code]")
    page.fill("input[name=code]", enrolment_code(server.db_path, envoy))
    page.click("button[type=submit]")
    page.wait_for_selector("[data-screen=sessions]", timeout=20_000)


def wait_installed(page: Any) -> dict[str, Any]:
    """Wait until the service worker controls the page and its cache holds the whole shell;
    answers the cache's name and the URLs in it."""
    return page.evaluate(
        """async () => {
          const registration = await navigator.serviceWorker.ready;
          for (let i = 0; i < 100 && !navigator.serviceWorker.controller; i += 1) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          const names = await caches.keys();
          const cache = await caches.open(names[0]);
          const urls = (await cache.keys()).map((request) => new URL(request.url).pathname);
          return {names, urls, scope: new URL(registration.scope).pathname,
                  controlled: Boolean(navigator.serviceWorker.controller)};
        }"""
    )


def call(page: Any, module: str, script: str, arg: Any = None) -> Any:
    """Run `script` (the body of an async function given `m`, the module, and `arg`) in the
    page, with the app's own module instance (the same one its screens use)."""
    return page.evaluate(
        f"""async (arg) => {{
          const m = await import("/app/js/{module}");
          {script}
        }}""",
        arg,
    )


def outbox_states(page: Any) -> dict[str, int]:
    return call(
        page,
        "store.js",
        """const counts = {};
           for (const entry of await m.outboxEntries()) counts[entry.state] = (counts[entry.state] || 0) + 1;
           return counts;""",
    )
