"""The envoy's pages in headless Chromium at 360 x 740 against a real `tianjian-field serve`,
on a device enrolled with a real server: a session with check-ins (one undone), leaflets and a
plot, a session deleted, then a sync from the page whose figures the bureau's report shows."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.plan import targets
from server.store.db import init_db
from tests.browser import screenshot
from tests.e2e.field_serve import FieldServer
from tests.helpers import LiveServer, enrolled_store, load_demo_reference

PIN = "246813"


@pytest.fixture
def bureau_and_device(db_path: str, tmp_path: Path) -> Iterator[tuple[LiveServer, FieldServer]]:
    load_demo_reference(db_path)
    db = init_db(db_path)
    envoy_id = db.execute("SELECT id FROM envoys WHERE name = '张三'").fetchone()[0]
    targets.set_target(
        db,
        {
            "year": 2026,
            "indicator": "trainee_attendances",
            "comparator": ">=",
            "value": 4,
            "envoy_id": envoy_id,
            "unit_code": None,
        },
    )
    db.close()
    server = LiveServer(db_path).start()
    device_path = str(tmp_path / "field.db")
    enrolled_store(server, device_path, "张三").close()
    serve = FieldServer(device_path, PIN)
    yield server, serve
    serve.stop()
    server.stop()


def report(db_path: str) -> dict[str, float]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "--db",
            db_path,
            "report",
            "--year",
            "2026",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return {line["key"]: line["actual"] for line in json.loads(result.stdout)["indicators"]}


def register(page, url: str, name: str, mobile: str) -> None:
    page.goto(f"{url}/envoy/farmers/new")
    page.fill("#name", name)
    page.fill("#village", "城关镇/东村")
    page.fill("#mobile", mobile)
    page.select_option("#gender", "female")
    page.click("main button[type=submit]")
    assert "已登记农民" in page.inner_text("main")


def roster_checkin(page, url: str, session_path: str, typed: str, name: str) -> None:
    page.goto(f"{url}{session_path}/roster?q={typed}")
    row = page.locator(".roster li", has_text=name)
    row.locator("button").click()
    assert "签到成功" in page.inner_text("main") or "已签到" in page.inner_text("main")


def test_an_envoy_records_a_session_and_syncs_from_the_page(bureau_and_device, phone_page) -> None:
    server, serve = bureau_and_device
    page, url = phone_page, serve.url
    page.goto(f"{url}/envoy/")
    page.fill("#pin", PIN)
    page.click("main button[type=submit]")
    assert "今天和即将进行的培训" in page.inner_text("h1") or page.url.endswith("/envoy/")

    # A session, with the village, technology picked by name.
    page.click("text=开始一场培训")
    page.select_option("#kind", "village_training")
    page.fill("#title", "马铃薯晚疫病防治培训")
    page.fill("#village", "东村")
    page.fill("#place", "东村村委会")
    page.fill("#starts_at", "2026-11-20 09:00")
    page.check("label:has-text('马铃薯脱毒种薯技术') input")
    page.fill("#boards", "2")
    screenshot(page, "envoy-session-form")
    page.click("main button[type=submit]")
    assert page.inner_text("h1") == "马铃薯晚疫病防治培训"
    session_path = re.sub(r"^https?://[^/]+", "", page.url)

    # Three farmers, checked in from the roster by name and by the last four digits.
    for name, mobile in (("李四", "13812345678"), ("赵六", "13900009999"), ("钱七", "13700001111")):
        register(page, url, name, mobile)
    roster_checkin(page, url, session_path, "李四", "李四")
    roster_checkin(page, url, session_path, "9999", "赵六")
    roster_checkin(page, url, session_path, "钱", "钱七")
    page.goto(f"{url}{session_path}")
    assert page.inner_text("#verified-count") == "3"
    assert "138****5678" in page.inner_text("#live") and "13812345678" not in page.content()

    # One check-in undone, with a reason.
    page.locator("#live tr", has_text="钱七").locator("a.undo").click()
    page.fill("#reason", "点错了人")
    screenshot(page, "envoy-undo-checkin")
    page.click("button.danger")
    assert "已撤销" in page.inner_text("main")
    assert page.inner_text("#verified-count") == "2"

    # Leaflets: received, then handed out at the session, stock beside the form.
    page.goto(f"{url}/envoy/leaflets/")
    page.select_option("#receive-title", "马铃薯晚疫病防治")
    page.fill("#receive-copies", "100")
    page.fill("#receive-on", "2026-11-18")
    page.locator("#receive button[type=submit]").click()
    page.select_option("#give-title", "马铃薯晚疫病防治")
    page.fill("#give-copies", "30")
    page.select_option(
        "#give-session",
        label=page.locator("#give-session option", has_text="马铃薯晚疫病防治培训").inner_text(),
    )
    page.fill("#give-at", "2026-11-20 10:00")
    page.locator("#give button[type=submit]").click()
    page.goto(f"{url}/envoy/leaflets/")
    assert (
        page.locator("#stock tr", has_text="马铃薯晚疫病防治").locator(".held").inner_text() == "70"
    )
    screenshot(page, "envoy-leaflets")

    # The session closed with its reported headcount, beside the verified count.
    page.goto(f"{url}{session_path}")
    page.click("summary")
    page.fill("#close-headcount", "35")
    page.fill("#close-ends", "2026-11-20 11:30")
    page.locator("details button[type=submit]").click()
    assert "培训已结束" in page.inner_text("main")
    live = page.inner_text("#live")
    assert "35" in live and page.inner_text("#verified-count") == "2"
    screenshot(page, "envoy-session-closed")

    # A demonstration plot and an observation.
    page.goto(f"{url}/envoy/plots/new")
    page.fill("#village", "东村")
    page.fill("#host_name", "李四")
    page.fill("#crop", "马铃薯")
    page.select_option("#variety", label="云薯304")
    page.fill("#area_mu", "12.5")
    page.fill("#established_on", "2026-04-10")
    page.click("main button[type=submit]")
    page.select_option("#stage", "harvest")
    page.fill("#observed_on", "2026-09-20")
    page.fill("#yield_kg_per_mu", "2100")
    page.click("main button[type=submit]")
    assert "2100" in page.inner_text(".observations")
    screenshot(page, "envoy-plot")

    # A session made by mistake, deleted after the confirmation.
    page.goto(f"{url}/envoy/sessions/new")
    page.fill("#title", "误建的培训")
    page.fill("#village", "西村")
    page.fill("#starts_at", "2026-11-21 09:00")
    page.click("main button[type=submit]")
    page.click("a.danger")
    screenshot(page, "envoy-delete-session")
    page.click("button[name=confirm]")
    assert "已删除培训" in page.inner_text("main")
    # Named once, in the message: no longer among the sessions.
    assert page.inner_text("main").count("误建的培训") == 1

    # Progress for the year against the envoy's own target, before any sync.
    page.goto(f"{url}/envoy/progress/")
    row = page.locator("tr[data-indicator=trainee_attendances]")
    assert row.locator(".actual").inner_text() == "2" and "4" in row.locator(".target").inner_text()
    assert page.locator("tr[data-indicator=demo_area_mu] .actual").inner_text() == "12.5"
    screenshot(page, "envoy-progress")

    # Sync from the page against the real server: everything waiting is sent, nothing refused.
    page.goto(f"{url}/envoy/sync/")
    waiting = int(page.inner_text("#pending-count"))
    assert waiting > 10
    page.click("#sync-button")
    page.wait_for_selector("#sync-figures")
    figures = {
        key: page.inner_text(f"[data-figure={key}]")
        for key in ("sent", "refused", "pending", "batches")
    }
    assert (
        figures["sent"] == str(waiting) and figures["refused"] == "0" and figures["pending"] == "0"
    )
    assert int(figures["batches"]) >= 2
    screenshot(page, "envoy-sync")

    # The bureau's report shows exactly what was recorded on the page.
    figures = report(server.db_path)
    assert figures["trainee_attendances"] == 2
    assert figures["unique_trainees"] == 2
    assert figures["village_trainings"] == 1
    assert figures["leaflets_distributed"] == 30
    assert figures["demo_plots"] == 1 and figures["demo_area_mu"] == 12.5
    assert figures["technologies_promoted"] == 1 and figures["varieties_introduced"] == 1


ENVOY_PAGES = [
    "/envoy/",
    "/envoy/sessions/new",
    "/envoy/farmers/",
    "/envoy/farmers/new",
    "/envoy/leaflets/",
    "/envoy/plots/new",
    "/envoy/progress/",
    "/envoy/sync/",
    "/envoy/reviews/",
]


@pytest.mark.parametrize("size", ["phone", "desk"])
def test_envoy_pages_fit_a_phone_and_a_laptop(
    bureau_and_device, phone_page, desk_page, size
) -> None:
    """No page scrolls sideways at 360 px or on a laptop; each is in Chinese first."""
    _server, serve = bureau_and_device
    page = phone_page if size == "phone" else desk_page
    page.goto(f"{serve.url}/login")
    page.fill("#pin", PIN)
    page.click("main button[type=submit]")
    for path in ENVOY_PAGES:
        page.goto(f"{serve.url}{path}")
        assert page.evaluate("document.documentElement.lang") == "zh-CN", path
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
        assert "Traceback" not in page.content()
    page.goto(f"{serve.url}/envoy/leaflets/")
    screenshot(page, f"envoy-leaflets-{size}")
