"""The performance page's person-times and people of every envoy listed for a unit above a county
read from the summaries (server/summaries/read.py envoys_trained): the same rows and numbers as
counted from the check-ins (server/figures/performance.py), over two provinces, three cities and
five counties, with and without records under question; counted from the check-ins again when
the summaries are turned off or stale."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.farmers import merges
from server.figures.counted import Scope
from server.figures.performance import Performance, performance
from server.quality import reviews
from server.store.db import set_state
from server.summaries import maintain
from server.summaries import read as summaries_read
from server.summaries.keep import STALE
from shared import review_status as rs
from tests.helpers import VILLAGE_EAST, sign_in
from tests.server.fieldwork import Envoy
from tests.server.summaries.test_levels import VILLAGES, five_counties
from tests.server.summaries.test_levels import fieldwork as levels_fieldwork

# Units above a county and their prefixes (None: the whole server, the page's unit when none
# is named).
ABOVE_COUNTY = {None: "", "530000": "53", "540000": "54", "530100": "5301", "532300": "5323"}
ABOVE_COUNTY["540100"] = "5401"
PASSWORD = "trained-password"


@pytest.fixture
def db(tmp_path: Path, db_path: str) -> Iterator[Database]:
    database = five_counties(tmp_path, db_path)
    yield database
    database.close()


def fieldwork(db: Database, doubted: bool) -> None:
    """test_levels' work in every county (a person trained in three counties of two provinces,
    a TV lecture's audience, sessions under question), and besides: one person registered twice
    checking in twice at one session and merged, a check-in of a farmer since deleted."""
    levels_fieldwork(db)
    li = Envoy(db, "李梅")
    session = li.session(unit_code=VILLAGES["540202"], starts_at="2026-09-01T02:00:00Z")
    twice = [li.farmer("孙七", village_code=VILLAGES["540202"]) for _ in range(2)]
    for farmer in twice:
        li.checkin(session, farmer)
    gone = li.farmer("周八", village_code=VILLAGES["540202"])
    li.checkin(session, gone)
    db.conn.commit()
    merges.merge(db, twice[1], twice[0], "staff-cli")
    li.update("farmer", gone, {"deleted": True})
    db.conn.commit()
    if doubted:
        reviews.set_review(db, "staff-cli", "farmer", twice[0], rs.QUESTIONED, "重复")
    else:
        # Every record levels' fieldwork put under question is approved: none is left.
        for kind, record in db.execute("SELECT record_kind, record_id FROM reviews").fetchall():
            reviews.set_review(db, "staff-cli", kind, record, rs.APPROVED, "属实")
    db.conn.commit()
    under = db.execute(
        "SELECT count(*) FROM reviews WHERE status IN ('questioned', 'returned')"
    ).fetchone()[0]
    assert bool(under) == doubted


def rows(found: Performance) -> list[dict[str, Any]]:
    return [row.row() for row in found.rows]


@pytest.mark.parametrize("doubted", (False, True))
def test_envoys_above_a_county_from_summaries_are_the_records(db: Database, doubted: bool) -> None:
    fieldwork(db, doubted)
    envoys = [envoy for (envoy,) in db.execute("SELECT id FROM envoys ORDER BY name")]
    for unit, prefix in ABOVE_COUNTY.items():
        kept = summaries_read.envoys_trained(db, Scope(2026, prefix), envoys)
        assert kept is not None, unit
        for year in (2026, 2025):  # and a year with nothing
            read = performance(db, year, unit, trained=summaries_read.envoys_trained)
            counted = performance(db, year, unit)
            assert rows(read) == rows(counted), (unit, year)
        # 李梅 serves townships of 示范县 (5301) and 远县 (5401) only.
        listed = {"张三"} if unit == "532300" else {"张三", "李梅"}
        assert {row.envoy for row in read.rows} == listed, unit
    nation = {row.envoy: row for row in performance(db, 2026).rows}
    # 张三: 1+2+3+4+5 of each county's own, and 赵大 in three counties (one person), the TV
    # lecture's audience aside. 李梅: 3 at the large training, 赵大, 孙七 once, 周八 deleted.
    assert (nation["张三"].verified, nation["张三"].trainees) == (15 + 3, 15 + 1)
    assert (nation["李梅"].verified, nation["李梅"].trainees) == (3 + 1 + 1, 3 + 1 + 1)
    assert maintain.check(db) is None


def test_a_county_and_one_envoy_count_the_checkins(db: Database) -> None:
    """Below a province's city, one county's few sessions are counted from the records, as is
    one envoy's year."""
    fieldwork(db, doubted=True)
    zhang = db.execute("SELECT id FROM envoys WHERE name = '张三'").fetchone()[0]
    assert summaries_read.envoys_trained(db, Scope(2026, "530102"), [zhang]) is None
    assert summaries_read.envoys_trained(db, Scope(2026, "", zhang), [zhang]) is None
    for unit, envoy in (("530102", None), (None, zhang), ("540202001", None)):
        read = performance(db, 2026, unit, envoy, trained=summaries_read.envoys_trained)
        assert rows(read) == rows(performance(db, 2026, unit, envoy)), (unit, envoy)


def test_the_page_reads_the_summaries_unless_off_or_stale(
    app: Flask, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person-time added to 张三's summary rows alone (as no write path would) shows on the
    nation's page; with summaries turned off, or stale, the page counts the check-ins again."""
    fieldwork(db, doubted=True)
    users.add_user(db, "admin", users.ADMIN, PASSWORD)
    maintain.refresh(db)
    db.execute(
        "UPDATE summary_figures SET value = value + 1 WHERE year = 2026 AND unit_code = ? "
        "AND envoy_id = (SELECT id FROM envoys WHERE name = '张三') AND figure = 'person_times' "
        "AND q = 0",
        [VILLAGE_EAST],
    )
    db.conn.commit()
    client = app.test_client()
    sign_in(client, "admin", PASSWORD)

    def zhang_verified(unit: str = "") -> int:
        text = client.get(f"/performance?year=2026&unit={unit}&format=csv").get_data().decode()
        header, *lines = [line.split(",") for line in text.lstrip("\ufeff").splitlines()[1:]]
        [zhang] = [line for line in lines if line[0] == "张三"]
        return int(zhang[header.index("核实人次（实名签到）")])

    assert zhang_verified() == 18 + 1
    assert zhang_verified("540000") == 18 + 1
    assert zhang_verified("530102") == 18  # a county: counted from the check-ins
    app.config["SUMMARIES"] = 0
    assert zhang_verified() == 18
    app.config["SUMMARIES"] = 1
    set_state(db, STALE, 1)
    db.conn.commit()
    assert zhang_verified() == 18
