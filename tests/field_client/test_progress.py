"""The envoy's progress on the device: the server's rules for one envoy, synced and unsent alike."""

from __future__ import annotations

from field_client import operations as ops
from field_client import progress
from shared import protocol as p
from tests.field_client.web.conftest import ENVOY, make_store, new_farmer
from tests.field_client.web.envoy_forms import OTHER_ENVOY, TECH, TITLE_NAME, VARIETY, add_reference


def targets(store, year: int) -> None:
    store.apply_pull(
        [
            {
                "k": p.TARGET,
                "r": {
                    "id": f"t-{key}",
                    "year": year,
                    "unit_code": None,
                    "envoy_id": envoy,
                    "indicator": key,
                    "comparator": ">=",
                    "value": value,
                    "basis": "value",
                },
            }
            for key, value, envoy in (
                ("trainee_attendances", 3, ENVOY),
                ("leaflets_distributed", 100, ENVOY),
                ("demo_plots", 1, ENVOY),
                ("village_trainings", 9, OTHER_ENVOY),
            )
        ],
        5,
    )


def test_progress_counts_this_envoys_year_against_their_targets(tmp_path) -> None:
    store = make_store(str(tmp_path / "f.db"))
    add_reference(store)
    year = ops.today(store).year
    targets(store, year)
    session = ops.open_session(store, title="培训", unit="东村", technologies=[TECH])
    tv = ops.open_session(store, title="电视讲座", unit="东村", kind="tv_lecture")
    last_year = ops.open_session(
        store, title="去年", unit="东村", starts_at=f"{year - 1}-05-01 09:00"
    )
    farmers = [
        new_farmer(store, name, mobile)
        for name, mobile in (("甲", "13800000001"), ("乙", "13800000002"))
    ]
    for farmer in farmers:
        ops.check_in(store, session, farmer)
        ops.check_in(store, tv, farmer)
        ops.check_in(store, last_year, farmer)
    undone = new_farmer(store, "丙", "13800000003")
    ops.check_in(store, session, undone)
    ops.undo_checkin(store, session, undone)
    ops.receive_leaflets(store, title=TITLE_NAME, copies=200)
    ops.give_leaflets(store, title=TITLE_NAME, copies=40, session=session)
    ops.new_plot(
        store, village="东村", host_name="李四", crop="马铃薯", area_mu=12.5, variety=VARIETY
    )
    figures = progress.envoy_progress(store)
    lines = {line.indicator.key: line for line in figures.lines}
    assert figures.year == year and figures.has_targets and figures.unsent > 0
    assert lines["trainee_attendances"].actual == 2  # TV lecture and last year left out
    assert lines["trainee_attendances"].target == 3 and lines["trainee_attendances"].met is False
    assert lines["trainee_attendances"].percent == 67
    assert lines["unique_trainees"].actual == 2 and lines["unique_trainees"].target is None
    assert lines["leaflets_distributed"].actual == 40
    assert lines["village_trainings"].actual == 1 and lines["village_trainings"].target is None
    assert lines["tv_lectures"].actual == 1
    assert lines["technologies_promoted"].actual == 1 and lines["varieties_introduced"].actual == 1
    assert lines["demo_plots"].met is True and lines["demo_area_mu"].actual == 12.5
    assert progress.actuals(store, year - 1)["trainee_attendances"] == 2


def test_growth_targets_use_last_years_actual_here(tmp_path) -> None:
    store = make_store(str(tmp_path / "f.db"))
    year = ops.today(store).year
    store.apply_pull(
        [
            {
                "k": p.TARGET,
                "r": {
                    "id": "g",
                    "year": year,
                    "unit_code": None,
                    "envoy_id": ENVOY,
                    "indicator": "village_trainings",
                    "comparator": ">=",
                    "value": 0,
                    "basis": "growth",
                    "growth_percent": 50,
                },
            }
        ],
        5,
    )
    for month in ("03", "04"):
        ops.open_session(store, title="去年", unit="东村", starts_at=f"{year - 1}-{month}-01 09:00")
    [line] = [
        x for x in progress.envoy_progress(store).lines if x.indicator.key == "village_trainings"
    ]
    assert line.target == 3 and line.actual == 0 and line.basis == "growth"
