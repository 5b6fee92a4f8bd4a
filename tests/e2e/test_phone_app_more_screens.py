"""The leaflets, plots, photos and progress screens at 360 px with records on them: nothing wider
than the phone, Chinese first, and every word in English once the envoy switches."""

from __future__ import annotations

from typing import Any

from tests.e2e.phone_app import call
from tests.e2e.phone_more import new_session, phone
from tests.helpers import LEAFLET_POTATO, VILLAGE_EAST, LiveServer

WORK = """
  const who = await m.identity();
  await m.saveRecord('leaflet_receipt', {leaflet_title_id: arg.title, copies: 40,
    received_on: '2026-03-01', correction_of: null});
  await m.saveRecord('leaflet_handout', {leaflet_title_id: arg.title, copies: 60,
    session_id: arg.session, unit_code: null, handed_out_at: '2026-03-10T02:00:00Z',
    correction_of: null});
  const plot = await m.saveRecord('plot', {village_code: arg.village, host_name: '李四',
    crop: '马铃薯', area_mu: 12.5, established_on: '2026-03-20', technology_ids: []});
  const seen = await m.saveRecord('plot_observation', {plot_id: plot.id, stage: 'seedling',
    observed_on: '2026-04-20', survival_rate: 96, notes: '出苗整齐出苗整齐出苗整齐出苗整齐'});
  return [plot.id, seen.id, who.envoyId];
"""

# Words of each screen in Chinese, and the same places in English.
SCREENS = {
    "leaflets": ("库存", "Held"),
    "plots?plot_id={plot}": ("添加观察记录", "Add an observation"),
    "plots?plot_id={plot}&edit=1": ("目标亩产", "Target yield"),
    "plots?new=1": ("新建示范田", "New plot"),
    "photos": ("我的培训", "My sessions"),
    "photos?subject_kind=session&subject_id={session}": ("个人信息", "personal information"),
    "photos?subject_kind=observation&subject_id={seen}": ("观察照片", "observation photo"),
    "progress": ("培训人次", "Trainee attendances"),
}


def visit(page: Any, address: str, words: str) -> None:
    page.evaluate(f"location.hash = '#{address}'")
    page.wait_for_function(
        "(words) => document.querySelector('main .screen')?.innerText.includes(words)", arg=words
    )
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360, address


def test_each_screen_fits_360_px_in_chinese_and_in_english(
    browser: Any, live_server: LiveServer
) -> None:
    with phone(browser, live_server) as page:
        session = new_session(
            page, "一个很长很长很长很长很长很长很长的培训标题", VILLAGE_EAST, "2026-03-10T01:00:00Z"
        )
        plot, seen, _envoy = call(
            page,
            "store.js",
            WORK,
            {"title": LEAFLET_POTATO, "session": session, "village": VILLAGE_EAST},
        )
        ids = {"plot": plot, "seen": seen, "session": session}
        for address, (chinese, _english) in SCREENS.items():
            visit(page, address.format(**ids), chinese)
            assert "Held" not in page.inner_text("main")
        visit(page, "leaflets", "库存")
        assert page.inner_text("#leaflet-stock td.held") == "-20"

        page.click("#menu-button")
        page.click("[data-lang=en]")
        for address, (_chinese, english) in SCREENS.items():
            visit(page, address.format(**ids), english)
        page.click("#menu-button")
        for name, title in (
            ("leaflets", "Leaflets"),
            ("plots", "Plots"),
            ("photos", "Photos"),
            ("progress", "My progress"),
        ):
            assert page.inner_text(f"#menu [data-go={name}]") == title
