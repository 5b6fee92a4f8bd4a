"""Both apps in headless Chromium with their security headers on: pages work with no CSP
violation or script error, no page asks for a missing file (the favicon), no redirect leaves
the site, and signing in lands on the page asked for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from field_client.store import FieldStore
from server.accounts import users
from server.store.db import init_db
from tests.e2e.field_serve import FieldServer
from tests.field_client.web.conftest import PIN, make_store, new_farmer, new_session
from tests.helpers import LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy

ADMIN, PASSWORD = "科长", "bureau-password"
REDIRECT_TARGETS = [
    "//evil.example/",
    "/\t/evil.example/",
    "/\\evil.example/",
    "/%09/evil.example/",
]


class Watch:
    """What a page reports: console errors (CSP refusals among them), script errors, and
    answers of 400 or more (a missing favicon too)."""

    def __init__(self, page: object) -> None:
        self.problems: list[str] = []
        page.on(  # type: ignore[attr-defined]
            "console",
            lambda m: m.type in ("error", "warning") and self.problems.append(m.text),
        )
        page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))  # type: ignore[attr-defined]
        page.on(  # type: ignore[attr-defined]
            "response",
            lambda r: r.status >= 400 and self.problems.append(f"{r.status} {r.url}"),
        )


@pytest.fixture(scope="module")
def bureau(module_db_path: str) -> Iterator[LiveServer]:
    db_path = module_db_path
    load_demo_reference(db_path)
    db = init_db(db_path)
    zhang = Envoy(db, "张三")  # an enrolled device: the devices page shows its revoke button
    session = zhang.session(starts_at="2026-05-10T02:00:00Z", reported_headcount=30)
    zhang.checkin(session, zhang.farmer("赵大"))
    users.add_user(db, ADMIN, users.ADMIN, PASSWORD)
    db.close()
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def sign_in(page: object, server: LiveServer, path: str) -> None:
    page.goto(server.url + path)  # type: ignore[attr-defined]
    page.fill("input[name=name]", ADMIN)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#signin-submit")  # type: ignore[attr-defined]
    page.wait_for_load_state("load")  # type: ignore[attr-defined]


def test_bureau_pages_work_under_their_csp(desk_page: object, bureau: LiveServer) -> None:
    page = desk_page
    watch = Watch(page)
    sign_in(page, bureau, "/progress?year=2026")
    assert page.url == f"{bureau.url}/progress?year=2026"  # type: ignore[attr-defined]
    answer = page.request.get(bureau.url + "/progress?year=2026")  # type: ignore[attr-defined]
    headers = answer.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    # ECharts draws under the policy.
    page.wait_for_selector(".chart canvas")  # type: ignore[attr-defined]
    links = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "header nav a", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(links) > 10
    for link in [*links, "/summary?year=2026", "/records/sessions?year=2026"]:
        page.goto(bureau.url + link)  # type: ignore[attr-defined]
        page.wait_for_load_state("load")  # type: ignore[attr-defined]
    # The revoke button still asks first (its question now comes from actions.js).
    page.goto(bureau.url + "/staff/devices")  # type: ignore[attr-defined]
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    page.click("form[data-confirm] button")  # type: ignore[attr-defined]
    assert asked == ["确定撤销这台设备？"]
    assert page.locator("form[data-confirm]").count() == 1  # type: ignore[attr-defined]
    # Print and back buttons.
    page.goto(bureau.url + "/summary?year=2026")  # type: ignore[attr-defined]
    page.evaluate("window.print = () => { window.printed = true; }")  # type: ignore[attr-defined]
    page.click("button[data-print]")  # type: ignore[attr-defined]
    assert page.evaluate("window.printed === true")  # type: ignore[attr-defined]
    before = list(watch.problems)
    page.goto(bureau.url + "/review/session/no-such-record")  # type: ignore[attr-defined]
    watch.problems = before  # that page's own 404 is meant
    page.click("a[data-back]")  # type: ignore[attr-defined]
    page.wait_for_url(bureau.url + "/summary?year=2026")  # type: ignore[attr-defined]
    assert watch.problems == []


def test_bureau_redirects_stay_on_the_site(desk_page: object, bureau: LiveServer) -> None:
    page = desk_page
    for target in REDIRECT_TARGETS:
        page.goto(f"{bureau.url}/lang/en?next={quote(target, safe='%')}")  # type: ignore[attr-defined]
        assert urlsplit(page.url).netloc == urlsplit(bureau.url).netloc, target  # type: ignore[attr-defined]
    sign_in(page, bureau, "/progress")
    for target in REDIRECT_TARGETS:
        page.goto(f"{bureau.url}/signin?next={quote(target, safe='%')}")  # type: ignore[attr-defined]
        assert urlsplit(page.url).netloc == urlsplit(bureau.url).netloc, target  # type: ignore[attr-defined]


@pytest.fixture
def field(tmp_path: Path) -> Iterator[tuple[FieldServer, FieldStore]]:
    path = str(tmp_path / "field.db")
    make_store(path).close()
    server = FieldServer(path, PIN)
    store = FieldStore(path)
    yield server, store
    store.close()
    server.stop()


def test_envoy_pages_work_under_their_csp(phone_page: object, field) -> None:
    server, store = field
    session_id = new_session(store)
    new_farmer(store)
    page = phone_page
    watch = Watch(page)
    # Signing in lands on the page asked for, its own address in the bar (issue 19.6).
    page.goto(f"{server.url}/envoy/farmers/")  # type: ignore[attr-defined]
    assert "/login?next=" in page.url  # type: ignore[attr-defined]
    page.fill("#pin", PIN)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{server.url}/envoy/farmers/")  # type: ignore[attr-defined]
    # A tab left at the sign-in address goes on once signed in.
    page.goto(f"{server.url}/login?next=/envoy/leaflets/")  # type: ignore[attr-defined]
    assert page.url == f"{server.url}/envoy/leaflets/"  # type: ignore[attr-defined]
    headers = page.request.get(f"{server.url}/envoy/").headers  # type: ignore[attr-defined]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    for path in (
        "/envoy/",
        "/envoy/sync/",
        "/envoy/progress/",
        f"/envoy/sessions/{session_id}/roster",
        "/c",
    ):
        page.goto(server.url + path)  # type: ignore[attr-defined]
        page.wait_for_load_state("load")  # type: ignore[attr-defined]
    # The card scanner (htmx with its after-request step in scanner.js, not inline): the
    # answer shows and the field is emptied for the next card.
    page.goto(f"{server.url}/envoy/sessions/{session_id}")  # type: ignore[attr-defined]
    page.fill("#card", "NOSUCHCARD")  # type: ignore[attr-defined]
    page.press("#card", "Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("#scan-answer [data-answer]")  # type: ignore[attr-defined]
    page.wait_for_function("() => document.getElementById('card').value === ''")  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.id") == "card"  # type: ignore[attr-defined]
    page.wait_for_timeout(3500)  # type: ignore[attr-defined]  # one live poll under the CSP too
    assert watch.problems == []


def test_field_redirects_stay_on_the_site(phone_page: object, field) -> None:
    server, _store = field
    page = phone_page
    for target in REDIRECT_TARGETS:
        page.goto(f"{server.url}/lang/en?next={quote(target, safe='%')}")  # type: ignore[attr-defined]
        assert urlsplit(page.url).netloc == urlsplit(server.url).netloc, target  # type: ignore[attr-defined]
        page.goto(f"{server.url}/login?next={quote(target, safe='%')}")  # type: ignore[attr-defined]
        page.fill("#pin", PIN)  # type: ignore[attr-defined]
        page.click("button[type=submit]")  # type: ignore[attr-defined]
        page.wait_for_load_state("load")  # type: ignore[attr-defined]
        assert urlsplit(page.url).netloc == urlsplit(server.url).netloc, target  # type: ignore[attr-defined]
        page.context.clear_cookies()  # type: ignore[attr-defined]
