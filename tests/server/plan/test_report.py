"""Unit tests of every indicator build_report reconciles against the county's targets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from server.farmers import matching as farmers
from server.plan.report import UnknownUnit, build_report
from server.plan.target_files import load_targets_file
from server.reference import load as reference
from server.store.db import write_transaction
from server.sync import apply_push
from shared import protocol as p
from shared.clock import CHINA, wall_ms
from shared.ids import attendance_id, new_id
from shared.indicators import INDICATOR_KEYS
from tests.helpers import (
    TECH_MAIZE,
    TECH_POTATO,
    VARIETY_POTATO,
    VILLAGE_EAST,
    VILLAGE_SOUTH,
    VILLAGE_WEST,
    results_of,
)
from tests.server.fieldwork import MID_2026, Envoy, report_db

VARIETY_MAIZE = reference.catalogue_id("variety", "玉米正大619")


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


@pytest.fixture
def zhang(db: Database) -> Envoy:
    return Envoy(db, "张三")


@pytest.fixture
def wang(db: Database) -> Envoy:
    return Envoy(db, "王五")


def line(
    db: Database, key: str, year: int = 2026, unit: str | None = None, now: datetime = MID_2026
) -> dict[str, Any]:
    report = build_report(db, year, unit, now)
    [found] = [item for item in report["indicators"] if item["key"] == key]
    return found


def actual(db: Database, key: str, year: int = 2026, unit: str | None = None) -> float:
    return line(db, key, year, unit)["actual"]


def set_targets(
    db: Database, tmp_path: Path, targets: dict[str, tuple[str, float]], year: int = 2026
) -> None:
    rows = "\n".join(
        f'  - {{indicator: {key}, comparator: "{comparator}", value: {value}}}'
        for key, (comparator, value) in targets.items()
    )
    path = tmp_path / f"targets-{year}.yaml"
    path.write_text(f'year: {year}\nunit_code: "530102"\ntargets:\n{rows}\n', encoding="utf-8")
    load_targets_file(db, str(path))


# ---------------------------------------------------------------- shape


def test_report_lists_every_indicator_once_in_order(db: Database) -> None:
    report = build_report(db, 2026, None, MID_2026)
    assert report["year"] == 2026
    assert report["unit"] == {"code": "530102000000", "name": "示范县"}
    assert report["as_of"] == "2026-05-31T16:00:00Z"
    assert [item["key"] for item in report["indicators"]] == list(INDICATOR_KEYS)
    for item in report["indicators"]:
        assert item["label_zh"] and item["label_en"]
        assert item["actual"] == 0


def test_unknown_unit_is_refused(db: Database) -> None:
    with pytest.raises(UnknownUnit):
        build_report(db, 2026, "530199", MID_2026)


# ---------------------------------------------------------------- person-times and people


def test_one_farmer_at_three_sessions_is_three_person_times_and_one_trainee(
    db: Database, zhang: Envoy
) -> None:
    farmer = zhang.farmer()
    for _ in range(3):
        zhang.checkin(zhang.session(), farmer)
    attendances = line(db, "trainee_attendances")
    assert (attendances["actual"], attendances["verified"], attendances["reported"]) == (3, 3, 0)
    assert actual(db, "unique_trainees") == 1


def test_the_same_checkin_twice_counts_once(db: Database, zhang: Envoy) -> None:
    session, farmer = zhang.session(), zhang.farmer()
    assert zhang.checkin(session, farmer)["s"] == p.APPLIED
    # Scanned again on the same phone, and again on the envoy's second device.
    assert zhang.checkin(session, farmer)["s"] == p.MERGED
    second_phone = Envoy(db, "张三")
    assert second_phone.checkin(session, farmer)["s"] == p.MERGED
    rows = list(db.query("SELECT id, seen_by FROM attendances"))
    assert [row["id"] for row in rows] == [attendance_id(session, farmer)]
    assert actual(db, "trainee_attendances") == 1
    assert actual(db, "unique_trainees") == 1


def test_typed_headcount_is_reported_never_verified(db: Database, zhang: Envoy) -> None:
    zhang.session(reported_headcount=40)
    checked = zhang.session()
    for name in ("赵大", "钱二"):
        zhang.checkin(checked, zhang.farmer(name))
    attendances = line(db, "trainee_attendances")
    assert attendances["verified"] == 2
    assert attendances["reported"] == 40
    # The target is judged on named check-ins only; the typed figure sits beside it.
    assert attendances["actual"] == 2
    assert actual(db, "unique_trainees") == 2


def test_a_typed_headcount_beside_check_ins_is_reported_not_added(
    db: Database, zhang: Envoy
) -> None:
    """5 names scanned, 40 typed: the gap is what staff need to see, so neither figure hides it."""
    session = zhang.session(reported_headcount=40)
    for n in range(5):
        zhang.checkin(session, zhang.farmer(f"学员{n}"))
    zhang.session(reported_headcount=12)
    attendances = line(db, "trainee_attendances")
    assert (attendances["verified"], attendances["reported"]) == (5, 52)
    assert attendances["reported_without_names"] == 12
    assert attendances["actual"] == 5


def test_tv_lectures_are_counted_apart_from_person_times(db: Database, zhang: Envoy) -> None:
    lecture = zhang.session(kind="tv_lecture", unit_code="530102", reported_headcount=5000)
    zhang.session(kind="tv_lecture", unit_code="530102", reported_headcount=1200)
    # Even a check-in recorded against a lecture is not a training person-time.
    zhang.checkin(lecture, zhang.farmer())
    tv = line(db, "tv_lectures")
    assert (tv["actual"], tv["audience_estimate"]) == (2, 6200)
    attendances = line(db, "trainee_attendances")
    assert (attendances["actual"], attendances["verified"], attendances["reported"]) == (0, 0, 0)
    assert actual(db, "unique_trainees") == 0
    assert actual(db, "village_trainings") == 0


def test_session_kinds_are_counted_separately(db: Database, zhang: Envoy) -> None:
    for kind in ("village_training", "village_training", "large_training", "field_day"):
        zhang.checkin(zhang.session(kind=kind), zhang.farmer())
    assert actual(db, "village_trainings") == 2
    assert actual(db, "large_trainings") == 1
    assert actual(db, "tv_lectures") == 0
    # A field day is no village training, but its trainees are still person-times.
    assert actual(db, "trainee_attendances") == 4


def test_deleted_sessions_and_withdrawn_checkins_do_not_count(db: Database, zhang: Envoy) -> None:
    farmer = zhang.farmer()
    kept, dropped = zhang.session(), zhang.session()
    zhang.checkin(kept, farmer)
    zhang.checkin(dropped, farmer)
    other = zhang.farmer("钱二")
    zhang.checkin(kept, other)
    assert actual(db, "trainee_attendances") == 3
    zhang.update(p.SESSION, dropped, {"deleted": True})
    zhang.update(p.ATTENDANCE, attendance_id(kept, other), {"deleted": True})
    assert actual(db, "trainee_attendances") == 1
    assert actual(db, "unique_trainees") == 1
    assert actual(db, "village_trainings") == 1


# ---------------------------------------------------------------- leaflets


def test_leaflets_sum_handouts_with_negative_corrections(db: Database, zhang: Envoy) -> None:
    session = zhang.session()
    first = zhang.handout(300)
    zhang.handout(200, unit_code=None, session_id=session)
    zhang.handout(-50, correction_of=first)
    stock = zhang.receipt(1000)
    zhang.receipt(-100, correction_of=stock)
    leaflets = line(db, "leaflets_distributed")
    assert leaflets["actual"] == 450
    assert leaflets["received"] == 900


# ---------------------------------------------------------------- technologies, varieties, plots


def test_technologies_are_distinct_across_sessions_and_plots(db: Database, zhang: Envoy) -> None:
    zhang.session(technology_ids=[TECH_POTATO])
    zhang.session(technology_ids=[TECH_POTATO])
    assert actual(db, "technologies_promoted") == 1
    zhang.plot(technology_ids=[TECH_POTATO])
    assert actual(db, "technologies_promoted") == 1
    zhang.plot(technology_ids=[TECH_MAIZE])
    assert actual(db, "technologies_promoted") == 2
    zhang.session(technology_ids=[TECH_MAIZE, TECH_POTATO])
    assert actual(db, "technologies_promoted") == 2


def test_varieties_are_distinct(db: Database, zhang: Envoy) -> None:
    zhang.plot(variety_id=VARIETY_POTATO)
    zhang.plot(variety_id=VARIETY_POTATO)
    assert actual(db, "varieties_introduced") == 1
    zhang.plot(variety_id=VARIETY_MAIZE)
    zhang.plot(variety_id=None)
    assert actual(db, "varieties_introduced") == 2


def test_demo_plots_and_area_within_the_year(db: Database, zhang: Envoy) -> None:
    zhang.plot(area_mu=12.5)
    zhang.plot(area_mu=30)
    zhang.plot(area_mu=7.25, established_on="2026-12-31")
    zhang.plot(area_mu=100, established_on="2025-12-31")
    zhang.plot(area_mu=100, established_on="2027-01-01")
    assert actual(db, "demo_plots") == 3
    assert actual(db, "demo_area_mu") == 49.75
    assert actual(db, "demo_plots", year=2027) == 1


# ---------------------------------------------------------------- periods and units


def test_year_is_counted_in_china_time(db: Database, zhang: Envoy) -> None:
    farmer = zhang.farmer()
    # 00:30 on 1 January in Beijing: the new year, though still 2026 in UTC.
    new_year = zhang.session(starts_at="2026-12-31T16:30:00Z")
    zhang.checkin(new_year, farmer)
    # 23:59:59 on 31 December in Beijing: the old year.
    old_year = zhang.session(starts_at="2026-12-31T15:59:59Z")
    zhang.checkin(old_year, farmer)
    # Typed without a zone on the device: China time.
    zhang.session(starts_at="2027-01-01T00:10:00")
    zhang.handout(10, at="2026-12-31T16:30:00Z")
    zhang.handout(7, at="2026-12-31T15:59:59Z")
    assert actual(db, "village_trainings", 2026) == 1
    assert actual(db, "trainee_attendances", 2026) == 1
    assert actual(db, "leaflets_distributed", 2026) == 7
    assert actual(db, "village_trainings", 2027) == 2
    assert actual(db, "trainee_attendances", 2027) == 1
    assert actual(db, "leaflets_distributed", 2027) == 10


def test_unit_filter_by_township_and_village(db: Database, zhang: Envoy, wang: Envoy) -> None:
    east = zhang.session(unit_code=VILLAGE_EAST)
    west = zhang.session(unit_code=VILLAGE_WEST)
    south = wang.session(unit_code=VILLAGE_SOUTH)
    for session, envoy in ((east, zhang), (west, zhang), (south, wang)):
        envoy.checkin(session, envoy.farmer())
    zhang.handout(100, unit_code=VILLAGE_EAST)
    wang.handout(40, unit_code=None, session_id=south)
    zhang.plot(area_mu=10, village_code=VILLAGE_WEST)
    wang.plot(area_mu=3, village_code=VILLAGE_SOUTH)

    expected = {
        None: (3, 3, 140, 2, 13.0),
        "530102001": (2, 2, 100, 1, 10.0),
        "530102002": (1, 1, 40, 1, 3.0),
        VILLAGE_EAST: (1, 1, 100, 0, 0),
        VILLAGE_WEST: (1, 1, 0, 1, 10.0),
    }
    for unit, figures in expected.items():
        got = tuple(
            actual(db, key, unit=unit)
            for key in (
                "village_trainings",
                "trainee_attendances",
                "leaflets_distributed",
                "demo_plots",
                "demo_area_mu",
            )
        )
        assert got == figures, unit
    township = build_report(db, 2026, "530102001", MID_2026)
    assert township["unit"] == {"code": "530102001000", "name": "城关镇"}
    # The county's targets are not the township's.
    assert all(item["target"] is None for item in township["indicators"])


# ---------------------------------------------------------------- targets


def test_more_than_3000_is_not_met_at_exactly_3000(db: Database, zhang: Envoy) -> None:
    """The seed's '培训人员超过3000人次': strictly more than."""
    session = zhang.session(kind="large_training", unit_code="530102")
    stamp = wall_ms()
    changes = []
    for number in range(3000):
        farmer_id = new_id()
        changes.append(
            {
                "q": 2 * number + 1000,
                "k": p.FARMER,
                "i": farmer_id,
                "h": f"{stamp:013d}.{2 * number:05d}",
                "f": {"name": f"学员{number}", "village_code": VILLAGE_EAST},
            }
        )
        changes.append(
            {
                "q": 2 * number + 1001,
                "k": p.ATTENDANCE,
                "h": f"{stamp:013d}.{2 * number + 1:05d}",
                "f": {
                    "session_id": session,
                    "farmer_id": farmer_id,
                    "checked_in_at": "2026-05-10T02:20:00Z",
                    "method": "roster",
                },
            }
        )
    results = results_of(apply_push(db, zhang.device, changes))
    assert {result["s"] for result in results} == {p.APPLIED}
    attendances = line(db, "trainee_attendances")
    assert (attendances["comparator"], attendances["target"]) == (">", 3000)
    assert attendances["actual"] == 3000
    assert attendances["percent"] == 100.0
    assert attendances["met"] is False
    zhang.checkin(zhang.session(), zhang.farmer())
    assert line(db, "trainee_attendances")["met"] is True


def test_at_least_5000_leaflets_is_met_at_exactly_5000(db: Database, zhang: Envoy) -> None:
    zhang.handout(4999)
    leaflets = line(db, "leaflets_distributed")
    assert (leaflets["comparator"], leaflets["target"]) == (">=", 5000)
    assert leaflets["met"] is False
    zhang.handout(1)
    leaflets = line(db, "leaflets_distributed")
    assert leaflets["actual"] == 5000
    assert leaflets["met"] is True
    assert leaflets["percent"] == 100.0


def test_strict_and_inclusive_targets_from_a_targets_file(
    db: Database, zhang: Envoy, tmp_path: Path
) -> None:
    set_targets(db, tmp_path, {"trainee_attendances": (">", 3), "village_trainings": (">=", 3)})
    farmer = zhang.farmer()
    sessions = [zhang.session() for _ in range(3)]
    for session in sessions:
        zhang.checkin(session, farmer)
    assert (line(db, "trainee_attendances")["met"], line(db, "village_trainings")["met"]) == (
        False,
        True,
    )
    zhang.checkin(sessions[0], zhang.farmer("钱二"))
    assert line(db, "trainee_attendances")["met"] is True
    # Untouched lines of the seed are still there; lines with no target judge nothing.
    assert line(db, "leaflets_distributed")["target"] == 5000
    assert line(db, "demo_plots")["met"] is None


# ---------------------------------------------------------------- one person registered twice


def test_merged_farmer_is_one_trainee_with_every_person_time(db: Database, zhang: Envoy) -> None:
    first, second = zhang.session(), zhang.session()
    original = zhang.farmer("孙梅")
    duplicate = Envoy(db, "张三").farmer("孙梅")
    zhang.checkin(first, original)
    zhang.checkin(second, duplicate)
    assert (actual(db, "unique_trainees"), actual(db, "trainee_attendances")) == (2, 2)
    with write_transaction(db):
        farmers.merge_farmers(db, duplicate, original)
    assert (actual(db, "unique_trainees"), actual(db, "trainee_attendances")) == (1, 2)


def test_merged_farmer_at_the_same_session_is_one_person_time(db: Database, zhang: Envoy) -> None:
    session = zhang.session()
    original, duplicate = zhang.farmer("孙梅"), zhang.farmer("孙梅")
    zhang.checkin(session, original)
    zhang.checkin(session, duplicate)
    assert actual(db, "trainee_attendances") == 2
    with write_transaction(db):
        farmers.merge_farmers(db, duplicate, original)
    assert (actual(db, "unique_trainees"), actual(db, "trainee_attendances")) == (1, 1)


def test_same_mobile_and_name_on_two_devices_is_merged_automatically(
    db: Database, zhang: Envoy
) -> None:
    phone = Envoy(db, "张三")
    original = zhang.farmer("周强", mobile="13812345678")
    # The record made first is canonical: made in the same millisecond, with the same counter,
    # the two would tie and the device ids (random) would decide.
    time.sleep(0.005)
    duplicate = phone.farmer("周强", mobile="138 1234 5678")
    zhang.checkin(zhang.session(), original)
    phone.checkin(phone.session(), duplicate)
    # Made within a millisecond or two on two devices: the record with the earlier clock stamp
    # is canonical (farmers.creation_key), whichever that is.
    rows = db.query("SELECT * FROM farmers WHERE id IN (?, ?)", [original, duplicate])
    first, second = (row["id"] for row in sorted(rows, key=farmers.creation_key))
    assert farmers.canonical_id(db, second) == first
    assert farmers.canonical_id(db, first) == first
    assert (actual(db, "unique_trainees"), actual(db, "trainee_attendances")) == (1, 2)


# ---------------------------------------------------------------- pace


def test_pace_with_a_fixed_now(db: Database, zhang: Envoy) -> None:
    zhang.handout(300)
    zhang.plot(area_mu=4)
    # 73 of 2026's 365 days have passed in China time: a fifth of the year.
    now = datetime(2026, 1, 1, tzinfo=CHINA) + timedelta(days=73)
    report = build_report(db, 2026, None, now)
    assert report["year_elapsed"] == 0.2
    assert report["as_of"] == "2026-03-14T16:00:00Z"
    lines = {item["key"]: item for item in report["indicators"]}
    assert lines["leaflets_distributed"]["expected_by_now"] == 1000.0
    # A fifth of the year is short of the quarter from which the pace alone counts: the rest
    # of the year is 0.8 pace (300 / 0.2 = 1500) and 0.2 plan (5000): 300 + 0.8 * 2200.
    assert lines["leaflets_distributed"]["projected_year_end"] == 2060.0
    assert lines["leaflets_distributed"]["percent"] == 6.0
    assert lines["leaflets_distributed"]["status"] == "behind"
    assert lines["leaflets_distributed"]["status_zh"] == "落后"
    assert lines["trainee_attendances"]["expected_by_now"] == 600.0
    # No target, no expectation and no plan to lean on; the projection is still worth showing:
    # 1 + 0.8 * (0.8 * 5).
    assert lines["demo_plots"]["expected_by_now"] is None
    assert lines["demo_plots"]["status"] is None
    # 4.2 plots, counted as plots are: whole (issue 19.11).
    assert lines["demo_plots"]["projected_year_end"] == 4.0


def test_pace_before_and_after_the_year(db: Database, zhang: Envoy) -> None:
    zhang.handout(300)
    before = {
        item["key"]: item
        for item in build_report(db, 2026, None, datetime(2025, 12, 31, 15, 0, tzinfo=UTC))[
            "indicators"
        ]
    }
    assert before["leaflets_distributed"]["expected_by_now"] == 0.0
    assert before["leaflets_distributed"]["projected_year_end"] is None
    after = {
        item["key"]: item
        for item in build_report(db, 2026, None, datetime(2026, 12, 31, 16, 0, tzinfo=UTC))[
            "indicators"
        ]
    }
    assert after["leaflets_distributed"]["expected_by_now"] == 5000.0
    assert after["leaflets_distributed"]["projected_year_end"] == 300.0
