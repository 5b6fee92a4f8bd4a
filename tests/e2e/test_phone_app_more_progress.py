"""The envoy's progress on the phone app counts by field_client/progress.py's rules: the same
records (made on a tianjian-field device and on the phone, synced both ways) give every
indicator and every target line the same value in the browser's progress.js, in
field_client/progress.py and in the server's figures; offline, the phone counts what it has
not sent yet."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from field_client import operations as ops
from field_client import progress
from field_client.store import FieldStore
from server.figures import count as figures
from server.figures.counted import Scope
from server.plan import targets
from server.store.db import init_db, open_db
from shared import protocol as p
from shared.indicators import INDICATOR_KEYS
from tests.browser import screenshot
from tests.e2e.phone_more import open_screen, phone, sync, waiting_changes
from tests.helpers import VILLAGE_EAST, LiveServer, enrolled_store, fast_client

POTATO = "马铃薯脱毒种薯技术"
MAIZE = "玉米高产栽培"
LEAFLET = "马铃薯晚疫病防治"


def field_records(store: FieldStore) -> None:
    """A year and a bit of an envoy's work touching every counting rule."""

    def farmer(name: str, mobile: str) -> str:
        return ops.register_farmer(store, name=name, village=VILLAGE_EAST, mobile=mobile)

    def session(title: str, starts: str, kind: str = "village_training", **more: Any) -> str:
        return ops.open_session(
            store, title=title, unit="东村", kind=kind, starts_at=starts, **more
        )

    village = session("马铃薯培训", "2026-03-10 09:00", technologies=[POTATO])
    large = session("玉米大会", "2026-05-01 09:00", "large_training", headcount=300)
    new_year = session("年初培训", "2026-01-01 07:00")  # 31 December in UTC
    tv = session("电视讲座", "2026-06-01 20:00", "tv_lecture")
    last_year = session("去年", "2025-11-01 09:00", technologies=[MAIZE])
    dropped = session("建错了", "2026-04-01 09:00")
    li = farmer("李四", "13800138001")
    twin = farmer("李四", "13800138001")  # merged into 李四 on arrival
    wang = farmer("王五", "13800138002")
    gone = farmer("赵六", "13800138003")
    undone = farmer("钱七", "13800138004")
    for at in (village, large, new_year, tv, last_year, dropped):
        ops.check_in(store, at, li)
    for at in (village, large, tv):
        ops.check_in(store, at, twin)
    for at in (village, tv, last_year):
        ops.check_in(store, at, wang)
    ops.check_in(store, village, gone)
    store.delete(p.FARMER, gone)
    ops.check_in(store, large, undone)
    ops.undo_checkin(store, large, undone)
    ops.delete_session(store, dropped)
    ops.receive_leaflets(store, title=LEAFLET, copies=500, received_on="2026-02-01")
    given = ops.give_leaflets(
        store, title=LEAFLET, copies=120, session=village, at="2026-03-10 10:00"
    )
    ops.give_leaflets(
        store,
        title=LEAFLET,
        copies=-20,
        session=village,
        at="2026-03-11 10:00",
        correction_of=given,
    )
    ops.give_leaflets(store, title=LEAFLET, copies=9, village="东村", at="2025-12-02 10:00")
    for crop, variety, area, on in (
        ("马铃薯", "云薯304", 12.5, "2026-03-20"),
        ("玉米", None, 8.0, "2025-05-20"),
    ):
        ops.new_plot(
            store,
            village="东村",
            host_name="李四",
            crop=crop,
            area_mu=area,
            variety=variety,
            technologies=[POTATO] if crop == "马铃薯" else [MAIZE],
            established_on=on,
        )
    deleted_plot = ops.new_plot(
        store, village="东村", host_name="王五", crop="玉米", area_mu=4, established_on="2026-05-05"
    )
    store.delete(p.PLOT, deleted_plot)


def set_targets(db_path: str, envoy: str) -> None:
    db = init_db(db_path)
    for indicator, values in (
        ("leaflets_distributed", {"value": 100}),
        ("village_trainings", {"value": 2, "comparator": ">"}),
        ("trainee_attendances", {"growth_percent": 50}),  # last year's 2 people, plus half
        ("demo_area_mu", {"growth_percent": 10}),
        ("tv_lectures", {"growth_percent": 10}),  # none last year: no basis
    ):
        targets.set_target(db, {"year": 2026, "indicator": indicator, "envoy_id": envoy, **values})
    db.close()


def phone_progress(page: Any, year: int) -> dict[str, Any]:
    """progress.js's actuals and target lines for `year`, on the phone's IndexedDB records."""
    answer: dict[str, Any] = page.evaluate(
        """async (year) => {
            const m = await import('/app/js/progress.js');
            const { RULES } = await import('/app/js/rules.js');
            const who = await (await import('/app/js/store.js')).identity();
            const data = await m.gatherRecords();
            const made = m.envoyProgress(data, RULES, who.envoyId, year);
            return {
                actuals: m.actuals(data, RULES, who.envoyId, year),
                lines: made.lines.map((l) => [l.indicator.key, l.comparator, l.target, l.actual,
                                              l.basis, l.met, l.percent]),
                hasTargets: made.hasTargets,
            };
        }""",
        year,
    )
    return answer


def python_lines(store: FieldStore, year: int) -> list[list[Any]]:
    made = progress.envoy_progress(store, year)
    return [
        [line.indicator.key, line.comparator, line.target, line.actual, line.basis, line.met]
        + [line.percent]
        for line in made.lines
    ]


def agree(page: Any, store: FieldStore, db_path: str, envoy: str) -> dict[str, Any]:
    """Every indicator, both years, equal on the phone, the field client and the server."""
    server_db = open_db(db_path)
    for year in (2025, 2026):
        on_phone = phone_progress(page, year)
        on_device = progress.actuals(store, year)
        on_server = figures.compute(server_db, Scope(year, envoy_id=envoy)).total()
        assert set(on_phone["actuals"]) == set(INDICATOR_KEYS)
        assert on_phone["actuals"] == {k: on_device[k] for k in INDICATOR_KEYS}, year
        assert on_phone["actuals"] == {k: on_server[k] for k in INDICATOR_KEYS}, year
        assert on_phone["lines"] == python_lines(store, year), year
    return phone_progress(page, 2026)


def test_progress_on_the_phone_equals_the_field_client_and_the_server(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    store = enrolled_store(live_server, str(tmp_path / "field.db"), "张三")
    envoy = store.get("envoy_id")
    field_records(store)
    set_targets(live_server.db_path, envoy)
    fast_client(store).sync()
    fast_client(store).sync()  # brings back the merge of 李四's two records
    assert store.counts().get("pending", 0) == 0 and store.aliases()

    with phone(browser, live_server) as page:
        first = agree(page, store, live_server.db_path, envoy)
        assert first["actuals"]["trainee_attendances"] == 4
        assert first["actuals"]["leaflets_distributed"] == 100
        lines = {line[0]: line for line in first["lines"]}
        assert lines["leaflets_distributed"][2:] == [100, 100, "value", True, 100]
        assert lines["trainee_attendances"][2:] == [3, 4, "growth", True, 133]
        assert lines["tv_lectures"][2:] == [None, 1, "growth", None, None]

        # Offline, the phone counts what it has not sent: two more copies and a plot.
        page.context.set_offline(True)
        open_screen(page, "progress", "#progress-table")
        row = "#progress-table tr[data-indicator='{}'] td.{}"
        assert page.inner_text(row.format("leaflets_distributed", "actual")) == "100"
        assert page.inner_text(row.format("leaflets_distributed", "status")) == "已达标"
        assert page.inner_text(row.format("tv_lectures", "target")) == "无上年数据"
        screenshot(page, "phone-progress-360")
        assert page.inner_text(row.format("trainee_attendances", "target")) == "≥ 3 (比上年增长)"
        page.evaluate(
            """async (village) => {
                const m = await import('/app/js/store.js');
                const titles = await m.listReference('leaflet_title');
                await m.saveRecord('leaflet_handout', {
                    leaflet_title_id: titles.find((t) => t.title === '马铃薯晚疫病防治').id,
                    copies: 2, unit_code: village, session_id: null,
                    handed_out_at: '2026-08-01T02:00:00Z', correction_of: null,
                });
                await m.saveRecord('plot', {
                    village_code: village, host_name: '王五', crop: '玉米', area_mu: 3.25,
                    established_on: '2026-04-20', technology_ids: [], variety_id: null,
                });
            }""",
            VILLAGE_EAST,
        )
        open_screen(page, "plots", "#plot-list")
        open_screen(page, "progress", "#progress-table")
        assert page.inner_text(row.format("leaflets_distributed", "actual")) == "102"
        assert page.inner_text(row.format("demo_area_mu", "actual")) == "15.75"
        assert page.inner_text(row.format("demo_plots", "actual")) == "2"
        assert "2 条尚未发送" in page.inner_text("#progress-unsent")
        assert waiting_changes(page) == 2

        page.context.set_offline(False)
        sync(page)
        fast_client(store).sync()
        after = agree(page, store, live_server.db_path, envoy)
        assert after["actuals"]["demo_area_mu"] == 15.75
    store.close()


def test_rounding_on_the_phone_is_pythons(browser: Any, live_server: LiveServer) -> None:
    """Area sums, growth targets and percentages round as Python's round() does, ties to even
    included (16.125 is 16.12, 0.5 is 0)."""
    rng = random.Random(22)
    values = [i / 8 for i in range(-40, 400)] + [rng.uniform(0, 5000) for _ in range(300)]
    values += [2.675, 1.005, 8.345, 0.125, 16.125, 1234.5]
    with phone(browser, live_server) as page:
        on_phone = page.evaluate(
            """async (values) => {
                const m = await import('/app/js/more_common.js');
                return values.map((v) => [m.pyRound(v, 0), m.pyRound(v, 2)]);
            }""",
            values,
        )
    assert on_phone == [[round(v), round(v, 2)] for v in values]
