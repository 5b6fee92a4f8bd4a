"""The device's own progress and the server's figures count by the same rules: the same records,
made on a real field client and synced to a real server, give every indicator the same value on
both sides (server/figures/counted.py and field_client/progress.py)."""

from __future__ import annotations

from pathlib import Path

from field_client import operations as ops
from field_client import progress
from field_client.store import FieldStore
from server.figures import count as figures
from server.figures.counted import Scope
from server.store.db import init_db
from shared import protocol as p
from shared.indicators import INDICATOR_KEYS
from tests.helpers import VILLAGE_EAST, LiveServer, enrolled_store, fast_client

POTATO = "马铃薯脱毒种薯技术"
MAIZE = "玉米高产栽培"
LEAFLET = "马铃薯晚疫病防治"


def farmer(store: FieldStore, name: str, mobile: str) -> str:
    return ops.register_farmer(store, name=name, village=VILLAGE_EAST, mobile=mobile)


def test_every_indicator_is_the_same_on_the_device_and_the_server(
    live_server: LiveServer, tmp_path: Path
) -> None:
    store = enrolled_store(live_server, str(tmp_path / "field.db"), "张三")
    envoy = store.get("envoy_id")
    village = ops.open_session(
        store, title="马铃薯培训", unit="东村", starts_at="2026-03-10 09:00", technologies=[POTATO]
    )
    large = ops.open_session(
        store,
        title="玉米大会",
        unit="东村",
        kind="large_training",
        starts_at="2026-05-01 09:00",
        headcount=300,
        technologies=[MAIZE],
    )
    # 1 January 07:00 in China is 31 December in UTC: the session is 2026's on both sides.
    new_year = ops.open_session(store, title="年初培训", unit="东村", starts_at="2026-01-01 07:00")
    tv = ops.open_session(
        store, title="电视讲座", unit="东村", kind="tv_lecture", starts_at="2026-06-01 20:00"
    )
    last_year = ops.open_session(
        store, title="去年", unit="东村", starts_at="2025-11-01 09:00", technologies=[MAIZE]
    )
    dropped = ops.open_session(store, title="建错了", unit="东村", starts_at="2026-04-01 09:00")
    li = farmer(store, "李四", "13800138001")
    twin = farmer(store, "李四", "13800138001")  # the same person again: merged on arrival
    wang = farmer(store, "王五", "13800138002")
    gone = farmer(store, "赵六", "13800138003")
    undone = farmer(store, "钱七", "13800138004")
    for session in (village, large, new_year, tv, last_year, dropped):
        ops.check_in(store, session, li)
    for session in (village, large, tv):
        ops.check_in(store, session, twin)
    for session in (village, tv, last_year):
        ops.check_in(store, session, wang)
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
    ops.give_leaflets(store, title=LEAFLET, copies=35, village="东村", at="2026-07-02 10:00")
    ops.give_leaflets(store, title=LEAFLET, copies=9, village="东村", at="2025-12-02 10:00")
    for crop, variety, area, on in (
        ("马铃薯", "云薯304", 12.5, "2026-03-20"),
        ("马铃薯", "云薯304", 3.25, "2026-04-20"),
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

    pushed = fast_client(store).sync()
    fast_client(store).sync()  # brings back the merge of 李四's two records
    assert not pushed.statuses.get(p.REJECTED) and store.counts().get("pending", 0) == 0
    assert store.aliases() == {twin: li}, "the server merged 李四's two records"

    db = init_db(live_server.db_path)
    for year in (2025, 2026):
        device = progress.actuals(store, year)
        server = figures.compute(db, Scope(year, envoy_id=envoy)).total()
        assert {key: device[key] for key in INDICATOR_KEYS} == {
            key: server[key] for key in INDICATOR_KEYS
        }, year
    assert progress.actuals(store, 2026) == {
        # 李四 at village, large, new year (his twin's check-ins at village and large are
        # the same person there); 王五 at village; TV lecture, deleted farmer, undone
        # check-in and the deleted session left out.
        "trainee_attendances": 4,
        "unique_trainees": 2,
        "leaflets_distributed": 135,
        "village_trainings": 2,
        "large_trainings": 1,
        "tv_lectures": 1,
        "technologies_promoted": 2,
        "varieties_introduced": 1,
        "demo_plots": 2,
        "demo_area_mu": 15.75,
    }
