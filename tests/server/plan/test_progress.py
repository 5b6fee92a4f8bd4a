"""Progress: cumulative months in China time, the pace line, the damped projection, statuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlite_utils import Database

from server.farmers import matching as farmers
from server.plan.progress import projection
from server.plan.report import build_report
from server.store.db import write_transaction
from shared import protocol as p
from shared.clock import CHINA
from shared.ids import attendance_id
from tests.helpers import (
    TECH_MAIZE,
    TECH_POTATO,
    VILLAGE_EAST,
    VILLAGE_SOUTH,
    VILLAGE_WEST,
)
from tests.server.fieldwork import MID_2026, Envoy, report_db


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


@pytest.fixture
def zhang(db: Database) -> Envoy:
    return Envoy(db, "张三")


@pytest.fixture
def season(db: Database, zhang: Envoy) -> dict[str, Any]:
    """Merged farmers at one session, a deleted check-in, a deleted session, leaflets, plots."""
    wang = Envoy(db, "王五")
    original = zhang.farmer("孙梅", mobile="13812345678")
    duplicate = zhang.farmer("孙梅")
    others = [zhang.farmer(f"学员{n}") for n in range(4)]
    first = zhang.session(technology_ids=[TECH_POTATO], starts_at="2026-01-31T16:30:00Z")
    second = zhang.session(unit_code=VILLAGE_WEST, technology_ids=[TECH_MAIZE])
    dropped = zhang.session()
    south = wang.session(unit_code=VILLAGE_SOUTH, reported_headcount=25)
    for farmer in (original, duplicate, *others):
        zhang.checkin(first, farmer)
    zhang.checkin(second, duplicate)
    zhang.checkin(second, others[0])
    zhang.checkin(dropped, others[1])
    wang.checkin(south, wang.farmer("南村甲", village_code=VILLAGE_SOUTH))
    zhang.update(p.ATTENDANCE, attendance_id(second, others[0]), {"deleted": True})
    zhang.update(p.SESSION, dropped, {"deleted": True})
    with write_transaction(db):
        farmers.merge_farmers(db, duplicate, original)
    zhang.handout(120, unit_code=VILLAGE_EAST)
    zhang.handout(30, unit_code=None, session_id=second)
    # Hand-outs are events: a mistake is taken back by a correction, not deleted.
    wrong = wang.handout(99, unit_code=VILLAGE_SOUTH)
    wang.handout(-99, unit_code=VILLAGE_SOUTH, correction_of=wrong)
    zhang.plot(area_mu=20, technology_ids=[TECH_MAIZE])
    wang.plot(area_mu=5.5, village_code=VILLAGE_SOUTH)
    return {"first": first, "second": second, "south": south, "original": original}


# ---------------------------------------------------------------- progress


def test_cumulative_months_and_the_pace_line(db: Database, season: dict[str, Any]) -> None:
    report = build_report(db, 2026, None, MID_2026)
    lines = {line["key"]: line for line in report["indicators"]}
    people = lines["trainee_attendances"]
    # February's 5, then May's 2 (the second session and the south one, on 10 May).
    assert people["monthly"][:6] == [0, 5, 5, 5, 7, 7]
    assert people["monthly"][6:] == [None] * 6  # months to come
    # Unique trainees grow by first appearance: 5 in February, 1 new in May.
    assert lines["unique_trainees"]["monthly"][:5] == [0, 5, 5, 5, 6]
    assert people["pace_line"][-1] == 3000
    assert people["verified"] == 7 and people["reported"] == 25


def test_projection_is_damped_early_and_follows_pace_later() -> None:
    # Two weeks in (share 0.04), 100 done against a plan of 5000: mostly the plan,
    # 100 + 0.96 * (0.16 * 2500 + 0.84 * 5000), where the pace alone would say 2500.
    assert projection(100, 0.04, 5000) == 4516
    # The naive pace would say 2500; without a plan the damping keeps it near what is done.
    assert projection(100, 0.04, None) == pytest.approx(100 + 0.96 * 0.16 * 2500, abs=0.1)
    # Half way: the pace alone.
    assert projection(1000, 0.5, 5000) == 2000
    assert projection(300, 1.0, 5000) == 300
    assert projection(300, 0.0, 5000) is None


def test_statuses_through_the_year(db: Database, zhang: Envoy) -> None:
    for n in range(3):
        zhang.session(starts_at=f"2026-0{n + 1}-10T02:00:00Z")

    def status(now: datetime) -> str:
        [found] = [
            line
            for line in build_report(db, 2026, None, now, monthly=False)["indicators"]
            if line["key"] == "village_trainings"
        ]
        return found["status"]

    assert status(datetime(2026, 3, 20, tzinfo=CHINA)) == "on_track"
    assert status(datetime(2026, 9, 1, tzinfo=CHINA)) == "behind"
    assert status(datetime(2027, 1, 1, tzinfo=CHINA) + timedelta(seconds=1)) == "not_met"
