"""Flags on crafted data: outliers by the modified z-score, empty sessions, yields far from target;
deleted records and corrections, review status, and who sees which flags."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.figures.counted import Scope
from server.quality.flags import (
    EMPTY_SESSION,
    HANDOUT_COPIES,
    HEADCOUNT,
    PLOT_AREA,
    YIELD_VS_TARGET,
    Flag,
    FlagRules,
    flags,
    flags_of_record,
)
from server.quality.outlier_stats import usual
from server.store.db import init_db
from shared import protocol as p
from shared.ids import new_id
from tests.helpers import VILLAGE_SOUTH, sign_in
from tests.server.fieldwork import MID_2026, Envoy, report_db

PASSWORD = "correct-horse"
RULES = FlagRules()


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


def found(db: Database, rules: FlagRules = RULES, scope: Scope | None = None) -> list[Flag]:
    """The flags that stand out now (kept ones that no longer do: test_flags_kept.py)."""
    return [flag for flag in flags(db, scope or Scope(2026), MID_2026, rules) if flag.note is None]


def ids(db: Database, kind: str, rules: FlagRules = RULES) -> set[str]:
    return {flag.record_id for flag in found(db, rules) if flag.kind == kind}


def ordinary_plots(envoy: Envoy, areas: list[float]) -> list[str]:
    return [envoy.plot(area_mu=area) for area in areas]


def test_usual_is_the_median_and_mad_or_the_mean_deviation_when_mad_is_zero() -> None:
    spread = usual([8, 9, 10, 11, 12])
    assert (spread.median, spread.scale) == (10, pytest.approx(1 / 0.6745))
    assert spread.z(30) == pytest.approx(0.6745 * 20 / 1)
    flat = usual([10, 10, 10, 10, 30])  # MAD 0: mean absolute deviation 4 times 1.253314
    assert (flat.median, flat.scale) == (10, pytest.approx(4 * 1.253314))
    assert flat.z(30) == pytest.approx(20 / (4 * 1.253314))
    assert usual([7, 7, 7, 7, 7]).z(7) == 0


def test_a_typo_in_a_plots_area_is_flagged_and_an_ordinary_plot_is_not(db: Database) -> None:
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    ordinary = ordinary_plots(zhang, [8, 10, 12, 9, 11])
    ordinary += ordinary_plots(li, [10, 11, 9, 12, 10])
    typo = zhang.plot(area_mu=99999)  # `plot new --area 99999`, issue 14
    [flag] = found(db)
    assert (flag.kind, flag.record_kind, flag.record_id) == (PLOT_AREA, p.PLOT, typo)
    assert (flag.envoy_id, flag.envoy, flag.review, flag.value) == (
        zhang.envoy_id,
        "张三",
        None,
        99999,
    )
    assert flag.z is not None and flag.z > 1000
    assert flag.reason.startswith("面积 99,999 亩，远高于该特派员与全县常见范围（全县中位 10 亩")
    assert "/ area 99,999 mu, far above this envoy's and the county's usual" in flag.reason
    assert not set(ordinary) & {flag.record_id for flag in found(db)}
    # The county is judged on its own records: a township of it sees the same flag.
    assert [f.record_id for f in found(db, scope=Scope(2026, "530102001"))] == [typo]
    assert found(db, scope=Scope(2026, "530102002")) == []


def test_the_threshold_setting_decides(db: Database) -> None:
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    ordinary_plots(zhang, [8, 10, 12, 9, 11])
    ordinary_plots(li, [10, 11, 9, 12, 10])
    large = li.plot(area_mu=16)  # county: median 10, MAD 1 -> z = 0.6745 * 6 = 4.05
    assert ids(db, PLOT_AREA) == {large}
    assert ids(db, PLOT_AREA, FlagRules(z_threshold=4.5)) == set()
    assert ids(db, PLOT_AREA, FlagRules(z_threshold=2.0)) == {large}


def test_mad_zero_falls_back_on_the_mean_absolute_deviation(db: Database) -> None:
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    ordinary_plots(zhang, [10] * 5)
    ordinary_plots(li, [10] * 4)
    odd = li.plot(area_mu=30)  # MAD 0; mean deviation 2, scale 2.5: z 8
    [flag] = found(db)
    assert (flag.record_id, flag.z) == (odd, pytest.approx(20 / (2 * 1.253314), abs=0.1))


def test_what_is_usual_for_the_envoy_counts_too(db: Database) -> None:
    zhang, li, wang = Envoy(db, "张三"), Envoy(db, "李梅"), Envoy(db, "王五")
    for copies in (18, 20, 22, 19, 21):
        zhang.handout(copies)
        li.handout(copies)
    # 王五 always hands out two hundred: far from the county's usual, not from his own.
    for _ in range(5):
        wang.handout(200, unit_code=VILLAGE_SOUTH)
    assert ids(db, HANDOUT_COPIES) == set()
    # One of his far outside his own usual too is flagged.
    huge = wang.handout(5000, unit_code=VILLAGE_SOUTH)
    assert ids(db, HANDOUT_COPIES) == {huge}


def test_an_envoy_with_few_records_is_judged_on_the_county_alone(db: Database) -> None:
    zhang, li, wang = Envoy(db, "张三"), Envoy(db, "李梅"), Envoy(db, "王五")
    for copies in (18, 20, 22, 19, 21):
        zhang.handout(copies)
        li.handout(copies)
    few = [wang.handout(200, unit_code=VILLAGE_SOUTH) for _ in range(3)]
    assert ids(db, HANDOUT_COPIES) == set(few)


def test_a_corrected_hand_out_is_judged_on_its_net_copies(db: Database) -> None:
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    for copies in (18, 20, 22, 19, 21):
        zhang.handout(copies)
        li.handout(copies)
    typo = zhang.handout(2000)
    assert ids(db, HANDOUT_COPIES) == {typo}
    zhang.handout(-1980, correction_of=typo)  # the correction: net 20, and never judged alone
    assert ids(db, HANDOUT_COPIES) == set()


def test_headcounts_are_compared_with_sessions_of_their_kind(db: Database) -> None:
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    for headcount in (30, 32, 28, 31, 29):
        zhang.session(reported_headcount=headcount)
        li.session(reported_headcount=headcount)
        # Large trainings draw hundreds: usual for their kind.
        li.session(kind="large_training", reported_headcount=headcount * 10)
    padded = zhang.session(reported_headcount=300)
    assert ids(db, HEADCOUNT) == {padded}
    [flag] = [flag for flag in found(db) if flag.kind == HEADCOUNT]
    assert flag.record_kind == p.SESSION and flag.value == 300
    assert "上报人数 300 人" in flag.reason and "headcount 300 people" in flag.reason


def test_a_session_with_no_check_ins_and_no_headcount_is_flagged(db: Database) -> None:
    zhang = Envoy(db, "张三")
    empty = zhang.session(starts_at="2026-05-10T02:00:00Z")
    named = zhang.session(starts_at="2026-05-11T02:00:00Z")
    zhang.checkin(named, zhang.farmer("赵大"))
    zhang.session(starts_at="2026-05-12T02:00:00Z", reported_headcount=12)
    zhang.session(kind="tv_lecture", unit_code="530102")  # an audience has no names
    zhang.session(starts_at="2026-07-01T02:00:00Z")  # not yet held (MID_2026 is June 1st)
    gone = zhang.session(starts_at="2026-05-13T02:00:00Z")
    zhang.update(p.SESSION, gone, {"deleted": True})
    [flag] = found(db)
    assert (flag.kind, flag.record_kind, flag.record_id) == (EMPTY_SESSION, p.SESSION, empty)
    assert flag.reason == (
        "培训无人签到，也未上报人数 / session with no check-ins and no reported headcount"
    )


def plot_with_target(envoy: Envoy, target: float) -> str:
    plot_id = new_id()
    fields = {
        "village_code": "530102001001",
        "host_name": "李大户",
        "crop": "马铃薯",
        "area_mu": 10.0,
        "established_on": "2026-03-20",
        "target_yield_kg_per_mu": target,
    }
    envoy.push(p.PLOT, fields, plot_id)
    return plot_id


def observe(envoy: Envoy, plot_id: str, kg: float) -> str:
    observation = new_id()
    fields = {
        "plot_id": plot_id,
        "observed_on": "2026-05-20",
        "stage": "harvest",
        "yield_kg_per_mu": kg,
    }
    envoy.push(p.PLOT_OBSERVATION, fields, observation)
    return observation


def test_a_yield_far_from_its_plots_target_is_flagged(db: Database) -> None:
    zhang = Envoy(db, "张三")
    plot = plot_with_target(zhang, 500)
    low, fair, high = (observe(zhang, plot, kg) for kg in (100, 400, 1600))
    assert ids(db, YIELD_VS_TARGET) == {low, high}
    [flag] = [flag for flag in found(db) if flag.record_id == low]
    assert flag.record_kind == p.PLOT_OBSERVATION and flag.value == 100
    assert flag.reason.startswith("亩产 100 公斤，与目标亩产 500 公斤相差超过 3 倍")
    # The ratio is a setting: at 4 only the fifth of the target is far; at 1.1 all three are.
    assert ids(db, YIELD_VS_TARGET, FlagRules(yield_ratio=4)) == {low}
    assert ids(db, YIELD_VS_TARGET, FlagRules(yield_ratio=1.1)) == {low, fair, high}
    # Observations are append-only on devices; one deleted on the server is not flagged.
    db.execute("UPDATE plot_observations SET deleted = 1 WHERE id = ?", [low])
    db.conn.commit()
    assert ids(db, YIELD_VS_TARGET) == {high}


def test_deleted_records_are_never_flagged_nor_counted_as_usual(db: Database) -> None:
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    ordinary_plots(zhang, [8, 10, 12, 9, 11])
    ordinary_plots(li, [10, 11, 9, 12, 10])
    typo = zhang.plot(area_mu=99999)
    assert ids(db, PLOT_AREA) == {typo}
    zhang.update(p.PLOT, typo, {"deleted": True})
    assert found(db) == []
    # Deleted plots of 16 mu would make 16 usual; deleted, they do not count.
    for plot in ordinary_plots(li, [16] * 8):
        li.update(p.PLOT, plot, {"deleted": True})
    large = li.plot(area_mu=16)
    assert ids(db, PLOT_AREA) == {large}


def review(db: Database, kind: str, record_id: str, status: str) -> None:
    db["reviews"].insert(
        {
            "id": new_id(),
            "record_kind": kind,
            "record_id": record_id,
            "status": status,
            "reviewed_by": "staff",
            "reviewed_at": "2026-06-01T00:00:00Z",
            "server_seq": 0,
        }
    )
    db.conn.commit()


def test_the_review_status_appears_once_reviewed_and_unreviewed_come_first(
    db: Database,
) -> None:
    zhang = Envoy(db, "张三")
    first = zhang.session(starts_at="2026-05-10T02:00:00Z")
    second = zhang.session(starts_at="2026-05-11T02:00:00Z")
    assert [(f.record_id, f.review) for f in found(db)] == [(first, None), (second, None)]
    review(db, p.SESSION, first, "questioned")
    assert [(f.record_id, f.review) for f in found(db)] == [(second, None), (first, "questioned")]


@pytest.fixture
def zhang_user(db_path: str, app: Flask) -> users.User:
    db = init_db(db_path)
    try:
        zhang = db.execute("SELECT id FROM envoys WHERE name = '张三'").fetchone()[0]
        users.add_user(db, "staff", users.STAFF, PASSWORD)
        return users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang)
    finally:
        db.close()


def test_the_api_lists_flags_and_an_envoy_sees_only_their_own(
    app: Flask, db_path: str, zhang_user: users.User
) -> None:
    db = init_db(db_path)
    zhang, wang = Envoy(db, "张三"), Envoy(db, "王五")
    mine = zhang.session(starts_at="2026-05-10T02:00:00Z")
    theirs = wang.session(unit_code=VILLAGE_SOUTH, starts_at="2026-05-10T02:00:00Z")
    review(db, p.SESSION, theirs, "returned")
    db.close()
    path = "/api/v1/reconciliation/2026"
    staff = app.test_client()
    assert sign_in(staff, "staff", PASSWORD).status_code == 302
    listed = staff.get(path).get_json()["flags"]
    assert [(f["record_id"], f["review"]) for f in listed] == [(mine, None), (theirs, "returned")]
    assert {"kind", "record_kind", "record_id", "envoy_id", "reason", "review"} <= set(listed[0])
    assert listed[0]["kind"] == EMPTY_SESSION and listed[0]["envoy_id"] == zhang.envoy_id

    envoy = app.test_client()
    assert sign_in(envoy, "zhang", PASSWORD).status_code == 302
    own = envoy.get(path).get_json()["flags"]
    assert [f["record_id"] for f in own] == [mine]
    # Asking for another envoy's rows is refused, never quietly narrowed (server/api/scope.py).
    refused = envoy.get(f"{path}?envoy={wang.envoy_id}")
    assert refused.status_code == 403 and "flags" not in refused.get_json()


def test_the_threshold_comes_from_the_servers_setting(app: Flask, db_path: str) -> None:
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    ordinary_plots(zhang, [8, 10, 12, 9, 11])
    ordinary_plots(li, [10, 11, 9, 12, 10])
    large = li.plot(area_mu=16)
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    db.close()
    staff = app.test_client()
    assert sign_in(staff, "staff", PASSWORD).status_code == 302
    path = "/api/v1/reconciliation/2026"
    assert [f["record_id"] for f in staff.get(path).get_json()["flags"]] == [large]
    app.config["FLAG_Z_THRESHOLD"] = 5.0
    # Raised under the old setting, it stays listed (not reviewed yet), saying it no longer
    # stands out; nothing stands out under the new one.
    [kept] = staff.get(path).get_json()["flags"]
    assert kept["record_id"] == large and kept["note"].startswith("现已不再突出")


def test_one_records_flags_agree_with_the_list(db: Database) -> None:
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    ordinary = ordinary_plots(zhang, [8, 10, 12, 9, 11])
    ordinary_plots(li, [10, 11, 9, 12, 10])
    typo = zhang.plot(area_mu=99999)
    empty = li.session(starts_at="2026-05-10T02:00:00Z")
    plot = plot_with_target(zhang, 500)
    low = observe(zhang, plot, 100)
    for kind, record_id in ((p.PLOT, typo), (p.SESSION, empty), (p.PLOT_OBSERVATION, low)):
        [flag] = flags_of_record(db, kind, record_id, MID_2026, RULES)
        assert flag in found(db)
    assert flags_of_record(db, p.PLOT, ordinary[0], MID_2026, RULES) == []
    assert flags_of_record(db, p.PLOT, "no-such-plot", MID_2026, RULES) == []
    assert flags_of_record(db, p.FARMER, typo, MID_2026, RULES) == []
