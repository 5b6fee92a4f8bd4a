"""Figures that confused a new user (issue 19.11), on crafted data: a correction counts in the
month of the hand-out it corrects; what is expected by now is a whole count; the drill-down's
headcount sum leaves TV audiences out as progress does, and says how many distinct
technologies and varieties its sessions and plots hold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.figures import drilldown
from server.figures.counted import Scope
from server.plan import targets
from server.plan.breakdowns import breakdown
from server.plan.report import build_report
from server.store.db import init_db
from shared import protocol as p
from shared.clock import CHINA
from shared.ids import new_id
from tests.helpers import TECH_MAIZE, TECH_POTATO, VILLAGE_EAST, sign_in
from tests.server.fieldwork import MID_2026, Envoy, report_db

END_OF_YEAR = datetime(2026, 12, 31, 12, tzinfo=CHINA)


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


@pytest.fixture
def zhang(db: Database) -> Envoy:
    return Envoy(db, "张三")


def leaflets(db: Database) -> dict[str, object]:
    report = build_report(db, 2026, None, END_OF_YEAR)
    [line] = [i for i in report["indicators"] if i["key"] == "leaflets_distributed"]
    return line


def test_a_december_correction_counts_in_novembers_month(db: Database, zhang: Envoy) -> None:
    november = zhang.handout(100, at="2026-11-20T03:00:00Z")
    zhang.handout(-40, correction_of=november, at="2026-12-03T03:00:00Z")
    zhang.handout(10, at="2026-12-05T03:00:00Z")
    line = leaflets(db)
    # Cumulative: 60 by November's end (100 less the correction), never down in December.
    assert line["monthly"][10:] == [60, 70]
    assert line["actual"] == 70
    months = {row["key"]: row["values"] for row in breakdown(db, 2026, "month")["rows"]}
    assert (months[11]["leaflets_distributed"], months[12]["leaflets_distributed"]) == (60, 10)
    # November's row drills to both records that make its 60.
    found = drilldown.handouts(db, Scope(2026), drilldown.Filters(month=11), 50, 0)
    assert (found.total, found.sums["copies"]) == (2, 60)


def test_a_correction_of_last_years_hand_out_counts_in_its_own_month(
    db: Database, zhang: Envoy
) -> None:
    last_year = zhang.handout(100, at="2025-12-20T03:00:00Z")
    zhang.handout(-40, correction_of=last_year, at="2026-01-05T03:00:00Z")
    zhang.handout(10, at="2026-03-05T03:00:00Z")
    line = leaflets(db)
    assert line["monthly"][:3] == [-40, -40, -30] and line["actual"] == -30


def test_expected_by_now_is_a_whole_count_and_an_area_keeps_its_decimal(
    db: Database, zhang: Envoy
) -> None:
    for indicator, value in (("trainee_attendances", 6000), ("demo_area_mu", 101)):
        targets.set_target(
            db, {"year": 2026, "indicator": indicator, "value": value, "unit_code": "530102"}
        )
    zhang.plot(area_mu=3.3)
    report = build_report(db, 2026, None, MID_2026)
    lines = {line["key"]: line for line in report["indicators"]}
    share = lines["trainee_attendances"]["expected_share"]
    assert not float(6000 * share).is_integer()  # the share makes a fraction
    people = lines["trainee_attendances"]
    assert people["expected_by_now"] == round(6000 * share)
    assert all(float(v).is_integer() for v in people["pace_line"])
    area = lines["demo_area_mu"]
    assert area["expected_by_now"] == round(101 * share, 1)
    assert not float(area["expected_by_now"]).is_integer()


def test_headcount_sums_leave_tv_audiences_apart(db: Database, zhang: Envoy) -> None:
    zhang.session(reported_headcount=26, technology_ids=[TECH_POTATO, TECH_MAIZE])
    zhang.session(reported_headcount=20, technology_ids=[TECH_POTATO], unit_code=VILLAGE_EAST)
    zhang.session(kind="tv_lecture", reported_headcount=3500)
    found = drilldown.sessions(db, Scope(2026), drilldown.Filters(), 50, 0)
    assert found.sums["reported_headcount"] == 46
    assert found.sums["audience_estimate"] == 3500
    assert found.sums["technologies"] == 2
    report = build_report(db, 2026, None, MID_2026)
    [people] = [i for i in report["indicators"] if i["key"] == "trainee_attendances"]
    assert people["reported"] == found.sums["reported_headcount"]
    for area in (5, 6, 7):
        zhang.plot(area_mu=area)
    plots = drilldown.plots(db, Scope(2026), drilldown.Filters(), 50, 0)
    assert (plots.total, plots.sums["varieties"]) == (3, 1)


def test_candidate_pairs_print_birth_years_without_separators(app: Flask, db_path: str) -> None:
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    for envoy, name in ((zhang, "郑六"), (li, "郑陆")):
        envoy.push(
            p.FARMER,
            {
                "name": name,
                "village_code": VILLAGE_EAST,
                "mobile": "13700001111",
                "birth_year": 1975,
            },
            new_id(),
        )
    users.add_user(db, "staff", users.STAFF, "correct-horse")
    db.conn.commit()
    db.close()
    staff = app.test_client()
    assert sign_in(staff, "staff", "correct-horse").status_code == 302
    page = staff.get("/staff/candidates").get_data(as_text=True)
    assert "郑六" in page and "1975" in page and "1,975" not in page
