"""The phone app end to end in Chromium: installed, closed and reopened offline, a whole session
recorded there (roster check-ins, a new farmer, closed with a headcount), synced when the network
comes back, and the bureau's report shows exactly those figures."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from field_client import operations
from server.store.db import init_db
from shared.clock import CHINA
from tests.e2e.conftest import count_rows
from tests.e2e.phone_app import (
    call,
    enrol,
    open_app,
    outbox_states,
    phone_context,
    wait_installed,
    watch_errors,
)
from tests.helpers import VILLAGE_EAST, LiveServer, enrolled_store, report_token


def farmers_on_server(server: LiveServer, tmp_path: Path) -> dict[str, str]:
    """Two farmers of 张三's registered from his laptop: the phone pulls them for its roster."""
    store = enrolled_store(server, str(tmp_path / "laptop.db"), "张三")
    try:
        ids = {
            "李四": operations.register_farmer(
                store, name="李四", village="东村", mobile="13800138001"
            ),
            "赵六": operations.register_farmer(
                store, name="赵六", village="东村", mobile="13900139002"
            ),
        }
        operations.sync_device(store, retries=1, backoff=0.05)
    finally:
        store.close()
    return ids


def figures(server: LiveServer, year: int) -> dict[str, dict[str, Any]]:
    answer = requests.get(
        f"{server.url}/api/v1/reports/{year}",
        params={"unit": VILLAGE_EAST},
        headers=report_token(server.db_path),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return {line["key"]: line for line in answer.json()["indicators"]}


def test_installed_app_records_a_session_offline_and_the_report_shows_it(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    farmers_on_server(live_server, tmp_path)
    context = phone_context(browser)
    try:
        page = open_app(context, live_server)
        errors = watch_errors(page)
        enrol(page, live_server, "张三")
        installed = wait_installed(page)
        assert installed["controlled"] and installed["scope"] == "/app/"
        assert len(installed["names"]) == 1 and installed["names"][0].startswith("tianjian-app-")
        for path in ("/app/", "/app/js/app.js", "/app/js/store.js", "/app/manifest.webmanifest"):
            assert path in installed["urls"]
        manifest = page.evaluate(
            "async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json()"
        )
        assert manifest["short_name"] == "田间" and manifest["start_url"] == "/app/"
        assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}
        persisted = page.evaluate("() => navigator.storage.persisted()")
        assert isinstance(persisted, bool)

        # No network from here: the page is closed and the app opened again from its cache.
        context.set_offline(True)
        page.close()
        page = open_app(context, live_server)
        errors = watch_errors(page)
        page.wait_for_selector("[data-screen=sessions]")
        assert page.inner_text("#net") == "离线"

        page.click("[data-action=new-session]")
        page.fill("input[name=title]", "马铃薯晚疫病防治培训")
        page.select_option("select[name=unit_code]", VILLAGE_EAST)
        page.check("input[name=technology_ids] >> nth=0")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-screen=session] [data-action=roster]")

        page.click("[data-action=roster]")
        page.fill("input[name=q]", "李四")
        page.click("[data-screen=checkin] li:has-text('李四') [data-action=checkin]")
        page.wait_for_selector("[data-figure=verified]:text-is('1')")
        # The last four digits of 赵六's mobile find him.
        page.fill("input[name=q]", "9002")
        assert page.locator("ul.roster li").count() == 1
        page.click("ul.roster li [data-action=checkin]")
        page.wait_for_selector("[data-figure=verified]:text-is('2')")

        page.click("[data-action=new-farmer]")
        page.fill("input[name=name]", "王小花")
        page.fill("input[name=mobile]", "137 0013 7003")
        page.select_option("select[name=gender]", "female")
        # A double tap on a slow phone registers the farmer once.
        page.dblclick("[data-action=save-farmer]")
        page.wait_for_selector("[data-screen=checkin] [data-figure=verified]:text-is('3')")

        page.click("text=返回场次")
        page.click("[data-action=close]")
        page.fill("input[name=headcount]", "30")
        page.click("[data-action=confirm-close]")
        page.wait_for_selector("[data-figure=headcount]:text-is('30')")
        assert page.inner_text("[data-figure=verified]") == "3"
        # session, its edit (closed), farmer, three check-ins
        assert outbox_states(page) == {"pending": 6}
        assert page.inner_text("#net") == "离线 · 待发 6"
        assert count_rows(live_server.db_path, "sessions") == 0

        # Back in signal: the app syncs by itself, nobody presses anything.
        context.set_offline(False)
        page.wait_for_selector("#toast:has-text('同步完成')", timeout=20_000)
        assert outbox_states(page) == {}
        page.click("#menu-button")
        page.click("[data-go=outbox]")
        page.wait_for_selector("[data-figure=pending]:text-is('0')")
        assert page.inner_text("[data-figure=refused]") == "0"
        assert errors == []
    finally:
        context.close()

    year = datetime.now(CHINA).year
    report = figures(live_server, year)
    assert report["trainee_attendances"]["verified"] == 3
    assert report["trainee_attendances"]["reported"] == 30
    assert report["unique_trainees"]["actual"] == 3
    assert report["village_trainings"]["actual"] == 1
    assert count_rows(live_server.db_path, "attendances") == 3
    assert count_rows(live_server.db_path, "farmers") == 3
    db = init_db(live_server.db_path)
    try:
        session = db.execute("SELECT title, closed, reported_headcount FROM sessions").fetchone()
        device = db.execute(
            "SELECT device_report, outbox_waiting FROM devices WHERE name = ?",
            ["手机应用 phone app"],
        ).fetchone()
    finally:
        db.close()
    assert tuple(session) == ("马铃薯晚疫病防治培训", 1, 30)
    # The phone's report header, as the field client sends it: what it holds, nothing waiting.
    held = json.loads(device[0])
    assert device[1] == 0
    assert held["kinds"]["attendance"]["live"] == 3 and held["kinds"]["session"]["live"] == 1
    assert held["kinds"]["farmer"]["live"] == 3


class UpdatingProxy:
    """The server as the phone reaches it, except that once `new_version` is set its sw.js
    names that version: what an updated server's worker looks like to an installed app."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.new_version: tuple[str, str] | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                answer = requests.get(proxy.upstream + self.path, timeout=10)
                body = answer.content
                if self.path.startswith("/app/sw.js") and proxy.new_version:
                    body = body.replace(*(part.encode() for part in proxy.new_version))
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", ""))
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_new_version_of_the_shell_replaces_the_cached_one(
    browser: Any, live_server: LiveServer
) -> None:
    proxy = UpdatingProxy(live_server.url)
    context = phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{proxy.url}/app/")
        first = wait_installed(page)
        worker = page.evaluate("async () => (await fetch('/app/sw.js')).text()")
        version = worker.split('SHELL_VERSION = "')[1].split('"')[0]
        assert first["names"] == [f"tianjian-app-{version}"]
        assert set(json.loads(worker.split("SHELL_FILES = ")[1].split(";\n")[0])) == set(
            first["urls"]
        )

        # The server is updated: the phone's next update check installs the new worker, which
        # caches the shell under its version and drops the old cache when it takes over.
        proxy.new_version = (version, "0123456789abcdef")
        names = call(
            page,
            "app.js",
            """const registration = await navigator.serviceWorker.ready;
               await registration.update();
               for (let i = 0; i < 200; i += 1) {
                 const names = await caches.keys();
                 if (names.length === 1 && names[0].endsWith("0123456789abcdef")) return names;
                 await new Promise((resolve) => setTimeout(resolve, 50));
               }
               return await caches.keys();""",
        )
        assert names == ["tianjian-app-0123456789abcdef"]
        page.wait_for_selector("#toast:has-text('应用已更新')")
    finally:
        context.close()
        proxy.close()


def test_every_screen_fits_360_px_and_switches_to_english(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    farmers_on_server(live_server, tmp_path)
    context = phone_context(browser)
    try:
        page = open_app(context, live_server)
        errors = watch_errors(page)
        enrol(page, live_server, "张三")
        page.click("[data-action=new-session]")
        page.fill("input[name=title]", "一个很长很长很长很长很长很长很长很长很长很长很长的培训标题")
        page.select_option("select[name=unit_code]", VILLAGE_EAST)
        page.click("button[type=submit]")
        page.wait_for_selector("[data-screen=session]")
        session_hash = page.evaluate("location.hash")
        call(
            page,
            "store.js",
            """const envoy = await m.getMeta("envoy_id");
               const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 19) + "Z";
               const lastWeek = new Date(Date.now() - 7 * 86400000).toISOString().slice(0, 19) + "Z";
               for (const [title, at] of [["明天的培训", tomorrow], ["上周的培训", lastWeek]]) {
                 await m.saveRecord("session", {kind: "field_day", title, unit_code: arg,
                                                starts_at: at, lead_envoy_id: envoy});
               }""",
            VILLAGE_EAST,
        )
        page.goto(f"{live_server.url}/app/#sessions")
        lists = page.locator("[data-screen=sessions] ul.sessions")
        assert "很长很长" in lists.nth(0).inner_text()
        assert "明天的培训" in lists.nth(1).inner_text() and "现场观摩" in lists.nth(1).inner_text()
        # An earlier session not yet closed is still in sight, to close it.
        assert "上周的培训" in lists.nth(2).inner_text()
        screens = [
            "#sessions",
            session_hash,
            session_hash.replace("#session?id=", "#checkin?session="),
            session_hash.replace("#session?id=", "#farmer-new?session="),
            "#farmers",
            "#outbox",
        ]
        for screen in screens:
            page.goto(f"{live_server.url}/app/{screen}")
            page.wait_for_selector("main .screen")
            assert page.evaluate("document.scrollingElement.scrollWidth") <= 360, screen
            assert "Sessions" not in page.inner_text("body")

        page.click("#menu-button")
        page.click("[data-lang=en]")
        page.wait_for_selector("#title:text-is('Sync and outbox')")
        page.click("#menu-button")
        page.click("[data-go=sessions]")
        page.wait_for_selector("[data-screen=sessions] h2:text-is('Today')")
        assert "Upcoming" in page.inner_text("main") and "今天" not in page.inner_text("main")
        # The choice is kept: the app opens in English next time.
        page.reload()
        page.wait_for_selector("#title:text-is('Sessions')")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert errors == []
    finally:
        context.close()
