"""Breakdowns by province, city and county read from the summaries' keys of those levels
(server/summaries/read.py compute_by): the same groups as counted from the records, over two
provinces, three cities and five counties, with and without records under question, for a unit
at every level and for an envoy; and the breakdown page offering 省 only for the whole server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.figures import count as figures
from server.figures.counted import Scope
from server.plan import targets
from server.plan.breakdowns import breakdown
from server.quality import reviews
from server.reference import load as reference
from server.store.db import init_db
from server.summaries import maintain
from server.summaries import read as summaries_read
from shared import review_status as rs
from tests.helpers import DATA, TECH_MAIZE, TECH_POTATO, VILLAGE_EAST, sign_in
from tests.server.fieldwork import MID_2026, Envoy
from tests.server.summaries.test_state_machine import _groups

# County -> one of its villages: 昆明市 (5301) holds two counties, 楚雄州 (5323) one, province
# 54 two counties in two cities (5401 loaded with its province, 5402 not loaded at all).
VILLAGES = {
    "530102": VILLAGE_EAST,
    "530103": "530103001001",
    "532301": "532301001001",
    "540102": "540102001001",
    "540202": "540202001001",
}
NAMES = {"530103": "邻县", "532301": "楚雄市", "540102": "远县", "540202": "北县"}
PASSWORD = "levels-password"


def five_counties(folder: Path, db_path: str) -> Database:
    units = (DATA / "units.csv").read_text(encoding="utf-8") + (
        "530000,云南省,,province\n530100,昆明市,530000,city\n532300,楚雄州,530000,city\n"
        "540000,远省,,province\n540100,远市,540000,city\n"
    )
    for county, village in VILLAGES.items():
        if county in NAMES:
            units += (
                f"{county},{NAMES[county]},,county\n{village[:9]},{NAMES[county]}镇,{county},"
                f"township\n{village},{NAMES[county]}村,{village[:9]},village\n"
            )
    (folder / "units.csv").write_text(units, encoding="utf-8")
    townships = ";".join(village[:9] for village in VILLAGES.values())
    (folder / "envoys.csv").write_text(
        f"name,mobile,township_codes\n张三,13800138000,{townships}\n"
        "李梅,13900139000,530102001;540102001\n",
        encoding="utf-8",
    )
    db = init_db(db_path)
    reference.load_units(db, str(folder / "units.csv"))
    reference.load_catalogue(db, str(DATA / "catalog.csv"))
    reference.load_envoys(db, str(folder / "envoys.csv"))
    db.conn.commit()
    return db


@pytest.fixture
def db(tmp_path: Path, db_path: str) -> Iterator[Database]:
    database = five_counties(tmp_path, db_path)
    yield database
    database.close()


def fieldwork(db: Database) -> None:
    """Work in every county: trainings of each kind, a county-level TV lecture, one farmer
    trained in three counties of two provinces, hand-outs, plots; some of it under question."""
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    wanderer = zhang.farmer("赵大")
    for n, (county, village) in enumerate(VILLAGES.items()):
        session = zhang.session(
            unit_code=village,
            starts_at=f"2026-0{n + 3}-10T02:00:00Z",
            technology_ids=[(TECH_POTATO, TECH_MAIZE)[n % 2]],
        )
        for m in range(n + 1):
            zhang.checkin(session, zhang.farmer(f"农{county}{m}", village_code=village))
        if n % 2 == 0:
            zhang.checkin(session, wanderer)
        zhang.handout(10 * (n + 1), unit_code=village)
        zhang.plot(area_mu=2.5 + n, village_code=village, technology_ids=[TECH_MAIZE])
    zhang.session(kind="tv_lecture", unit_code="530103", reported_headcount=500)
    large = li.session(kind="large_training", unit_code="540102001", technology_ids=[TECH_POTATO])
    for m in range(3):
        li.checkin(large, li.farmer(f"远农{m}", village_code=VILLAGES["540102"]))
    doubted = li.session(unit_code=VILLAGE_EAST, technology_ids=[TECH_MAIZE])
    li.checkin(doubted, wanderer)
    li.handout(7, unit_code=VILLAGE_EAST)
    db.conn.commit()
    reviews.set_review(db, "staff-cli", "session", doubted, rs.QUESTIONED, "核实")
    reviews.set_review(db, "staff-cli", "session", large, rs.RETURNED, "人数不对")
    db.conn.commit()


SCOPES = ("", "53", "54", "5301", "5323", "530102", "540202", "530102001", VILLAGE_EAST)


@pytest.mark.parametrize("by", ("province", "city", "county"))
def test_a_breakdown_by_level_from_summaries_is_the_records(db: Database, by: str) -> None:
    fieldwork(db)
    envoys = [row[0] for row in db.execute("SELECT id FROM envoys ORDER BY name")]
    scopes = [Scope(2026, prefix) for prefix in SCOPES]
    scopes += [Scope(2026, prefix, envoy) for envoy in envoys for prefix in ("", "530102")]
    scopes += [Scope(2025, ""), Scope(2025, "53")]  # a year with nothing
    for scope in scopes:
        for exclude in (False, True):
            of = Scope(scope.year, scope.prefix, scope.envoy_id, exclude_questioned=exclude)
            kept = summaries_read.compute_by(db, of, by)
            if kept is None:
                # Only one envoy across the whole server by city or province: no key per city.
                assert of.envoy_id and not of.prefix and by != "county", (of, by)
                continue
            counted = figures.compute(db, of, by)
            assert _groups(kept) == _groups(counted), (of, by)
            assert set(kept.groups) == set(counted.groups), (of, by)
    assert maintain.check(db) is None


def test_the_nation_by_province_and_by_county(db: Database) -> None:
    """What the groups hold, so equality above is not two empty answers agreeing."""
    fieldwork(db)
    nation = summaries_read.compute_by(db, Scope(2026, ""), "province")
    assert nation is not None
    east, far = nation.groups["530000000000"], nation.groups["540000000000"]
    # 2+3 (5301's two counties), 3 (楚雄市) and the wanderer in all three: 9 check-ins in 53.
    assert east["trainee_attendances"] == 1 + 1 + 2 + 1 + 3 + 1
    assert far["trainee_attendances"] == 4 + 5 + 1 + 3
    # 赵大 is one person in each province he came in: counted once per province, once in all.
    assert east["unique_trainees"] == 1 + 2 + 3 + 1
    assert nation.questioned["530000000000"]["trainee_attendances"] == 1
    assert nation.questioned["540000000000"]["large_trainings"] == 1
    without = summaries_read.compute_by(db, Scope(2026, "", exclude_questioned=True), "province")
    assert without is not None
    assert without.groups["540000000000"]["trainee_attendances"] == 4 + 5 + 1
    counties = summaries_read.compute_by(db, Scope(2026, "53"), "county")
    assert counties is not None
    assert sorted(counties.groups) == ["530102000000", "530103000000", "532301000000"]
    assert counties.groups["530103000000"]["tv_lectures"] == 1


def test_a_breakdown_by_province_reads_the_summaries(db: Database) -> None:
    """The rows come from the provinces' own summary rows: a person-time added to province
    54's sums alone (as no write path would) shows in its row, the records unchanged."""
    fieldwork(db)
    maintain.refresh(db)
    before = breakdown(db, 2026, "province", "", now=MID_2026)
    db.execute(
        "UPDATE summary_rollup SET value = value + 1 WHERE year = 2026 AND scope_key = '54' "
        "AND figure = 'person_times' AND q = 0 AND month = 6"
    )
    db.conn.commit()
    after = breakdown(db, 2026, "province", "", now=MID_2026)
    assert [(row["key"], row["label_zh"]) for row in after["rows"]] == [
        ("530000000000", "云南省"),
        ("540000000000", "远省"),
    ]
    figures_of = [
        [row["values"]["trainee_attendances"] for row in data["rows"]] for data in (before, after)
    ]
    assert figures_of == [[9, 13], [9, 14]]


def test_each_province_row_carries_its_own_targets(db: Database) -> None:
    """A province's row is judged against the province's own target, as a county's row is."""
    fieldwork(db)
    targets.set_target(
        db,
        {
            "year": 2026,
            "indicator": "trainee_attendances",
            "comparator": ">=",
            "value": 10,
            "unit_code": "540000",
        },
    )
    db.conn.commit()
    rows = {row["key"]: row for row in breakdown(db, 2026, "province", "", now=MID_2026)["rows"]}
    assert rows["530000000000"]["targets"] == {}
    judged = rows["540000000000"]["targets"]["trainee_attendances"]
    assert (judged["target"], judged["met"]) == (10, True)  # 13 person-times
    assert not rows["540000000000"]["above"]


def test_the_page_offers_by_province_for_the_whole_server(
    app: Flask, db: Database, db_path: str
) -> None:
    """The nation's page has a 省 tab and rows per province; a province's page has none (it
    would be one row, its own), though asked for by address it still answers."""
    fieldwork(db)
    users.add_user(db, "admin", users.ADMIN, PASSWORD)
    db.conn.commit()
    client = app.test_client()
    sign_in(client, "admin", PASSWORD)
    page = client.get("/breakdowns?year=2026&by=province").get_data(as_text=True)
    assert "按省分组" in page and "云南省" in page and "远省" in page
    assert 'by=province" aria-current="page">省</a>' in page
    province = client.get("/breakdowns?year=2026&by=county&unit=530000").get_data(as_text=True)
    assert "楚雄市" in province and "by=province" not in province
    one = client.get("/breakdowns?year=2026&by=province&unit=530000").get_data(as_text=True)
    table = one[one.index("<table") :]
    assert "云南省" in table and "远省" not in table
    csv = client.get("/breakdowns?year=2026&by=province&table=breakdown-province&format=csv")
    text = csv.get_data().decode("utf-8")
    assert text.startswith("\ufeff") and "云南省" in text and "远省" in text
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("按省分组") and "单位：全国" in lines[0]
    assert any(line.startswith("省,") for line in lines), lines[:4]
    client.get("/lang/en")
    english = client.get("/breakdowns?year=2026&by=province").get_data(as_text=True)
    assert "By province" in english and 'aria-current="page">province</a>' in english
