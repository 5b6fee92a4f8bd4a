"""Demonstration plots and observations on the phone app at 360 px: made, edited (only what
differs is sent) and observed, placed by the phone's position, synced to the real server; the
server's records equal those the same changes made through tianjian-field, and the bureau's
figures count them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from field_client import operations as ops
from server.figures import count as figures
from server.figures.counted import Scope
from server.store.db import open_db
from server.store.records import row_to_state
from shared import protocol as p
from tests.browser import screenshot
from tests.e2e.conftest import comparable
from tests.e2e.phone_more import open_screen, phone, sync
from tests.helpers import (
    TECH_POTATO,
    VARIETY_POTATO,
    VILLAGE_EAST,
    LiveServer,
    enrolled_store,
    fast_client,
)
from tests.shared.test_photos import camera_jpeg

PLACE = {"latitude": 25.0431, "longitude": 102.7089, "accuracy": 12.0}


def server_row(db: Database, kind: str, record_id: str) -> dict[str, Any]:
    row = next(db.query(f"SELECT * FROM [{p.TABLES[kind]}] WHERE id = ?", [record_id]))
    return json.loads(comparable(kind, row_to_state(kind, row)))


def test_a_plot_made_edited_and_observed_on_the_phone_reaches_the_bureau(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    with phone(browser, live_server, geolocation=PLACE) as page:
        open_screen(page, "plots", "#plot-new")
        page.click("#plot-new")
        page.wait_for_selector("#plot-form")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # Required fields named before anything is written.
        page.click("#plot-save")
        assert page.inner_text("[data-error-for='host_name']") == "必填"
        page.select_option("#plot-village_code", VILLAGE_EAST)
        page.fill("#plot-host_name", "李四")
        page.fill("#plot-crop", "马铃薯")
        page.select_option("#plot-variety_id", VARIETY_POTATO)
        page.check(f"#plot-technologies input[value='{TECH_POTATO}']")
        page.fill("#plot-area_mu", "0")
        page.fill("#plot-target_yield_kg_per_mu", "2500")
        page.fill("#plot-established_on", "2026-03-20")
        page.click("#plot-here")
        page.wait_for_function("() => document.querySelector('#plot-latitude').value !== ''")
        page.click("#plot-save")
        assert page.inner_text("[data-error-for='area_mu']") == "应大于0"
        page.fill("#plot-area_mu", "１２.５")
        page.click("#plot-save")
        page.wait_for_selector("#plot-page")

        # An edit sends only the field that changed.
        page.click("#plot-edit")
        page.wait_for_selector("#plot-form")
        page.fill("#plot-area_mu", "13")
        page.click("#plot-save")
        page.wait_for_selector("#plot-page")
        edits = page.evaluate(
            """async () => (await (await import('/app/js/store.js')).outboxEntries())
                .filter((e) => e.kind === 'plot' && !e.is_create).map((e) => e.fields)"""
        )
        assert edits == [{"area_mu": 13}]

        page.select_option("#obs-stage", "seedling")
        page.fill("#obs-observed_on", "2026-04-20")
        page.fill("#obs-survival_rate", "101")
        page.click("#obs-save")
        assert "0到100" in page.inner_text("[data-error-for='survival_rate']")
        page.fill("#obs-survival_rate", "96.5")
        page.fill("#obs-notes", "出苗整齐")
        page.click("#obs-save")
        page.wait_for_selector("#observation-list li")
        assert "出苗" in page.inner_text("#observation-list")
        screenshot(page, "phone-plot-360")

        # A photo of the observation: its one kind, placed by the phone.
        page.click("#observation-list li .more-photo-link")
        page.wait_for_selector("#photo-file")
        assert page.eval_on_selector_all("#photo-kind option", "os => os.map((o) => o.value)") == [
            "observation"
        ]
        picture = tmp_path / "seedlings.jpg"
        picture.write_bytes(camera_jpeg(1200, 900))
        page.set_input_files("#photo-file", str(picture))
        page.wait_for_selector("#photo-gallery li img")

        report = sync(page)
        assert report["statuses"] == {"applied": 4}, report
        page.evaluate("history.back()")
        page.wait_for_selector("#observation-list li")
        plot_id = page.evaluate(
            "async () => (await (await import('/app/js/store.js')).listRecords('plot'))[0].id"
        )
        observation_id = page.get_attribute("#observation-list li", "data-id")

    # The same plot and observation through tianjian-field on a device of the same envoy.
    store = enrolled_store(live_server, str(tmp_path / "field.db"), "张三")
    field_plot = ops.new_plot(
        store,
        village=VILLAGE_EAST,
        host_name="李四",
        crop="马铃薯",
        area_mu=12.5,
        variety=VARIETY_POTATO,
        technologies=[TECH_POTATO],
        latitude=PLACE["latitude"],
        longitude=PLACE["longitude"],
        target_yield=2500,
        established_on="2026-03-20",
    )
    ops.edit_plot(store, field_plot, area_mu=13)
    field_observation = ops.observe_plot(
        store,
        field_plot,
        stage="出苗",
        observed_on="2026-04-20",
        survival_rate=96.5,
        notes="出苗整齐",
    )
    fast_client(store).sync()
    store.close()

    db = open_db(live_server.db_path)
    assert server_row(db, p.PLOT, plot_id) == server_row(db, p.PLOT, field_plot)
    phone_seen = server_row(db, p.PLOT_OBSERVATION, observation_id)
    field_seen = server_row(db, p.PLOT_OBSERVATION, field_observation)
    assert phone_seen.pop("plot_id") == plot_id and field_seen.pop("plot_id") == field_plot
    assert phone_seen == field_seen
    [photo] = db.query("SELECT * FROM photos")
    assert (photo["subject_kind"], photo["subject_id"], photo["photo_kind"]) == (
        "observation",
        observation_id,
        "observation",
    )
    assert (photo["latitude"], photo["accuracy_m"]) == (PLACE["latitude"], PLACE["accuracy"])
    assert db.execute("SELECT complete FROM media").fetchone() == (1,)
    envoy = db.execute("SELECT id FROM envoys WHERE name = '张三'").fetchone()[0]
    bureau = figures.compute(db, Scope(2026, envoy_id=envoy)).total()
    assert (bureau["demo_plots"], bureau["demo_area_mu"], bureau["varieties_introduced"]) == (
        2,
        26.0,
        1,
    )
