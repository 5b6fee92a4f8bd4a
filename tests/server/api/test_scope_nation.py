"""What a reader with no area asking for no unit sees (server/reference/lookups.py `home_unit`):
the smallest unit holding every county on the server. A county server's county, a
one-province server's province, and across provinces the whole server, 全国 ("whole country" in
English), counted from the summaries' own key; over real HTTP to the real server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlite_utils import Database

from server.accounts import areas, users
from server.reference import load as reference
from server.reference.lookups import home_unit
from server.store import dialect
from server.store.db import init_db
from tests.helpers import DATA, LiveServer, load_demo_reference, report_token
from tests.server.summaries.test_nation import fieldwork, two_provinces

PASSWORD = "nation-password"


@pytest.fixture
def nation(tmp_path: Path, db_path: str) -> Iterator[LiveServer]:
    """A server holding counties of two provinces, with field work in both; an admin with no
    area and a county user of 示范县."""
    db = two_provinces(tmp_path, db_path)
    fieldwork(db)
    users.add_user(db, "admin", users.ADMIN, PASSWORD)
    county_user = users.add_user(db, "county", users.STAFF, PASSWORD)
    db.conn.commit()
    areas.set_area(db, county_user.id, "county", "530102")
    db.close()
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def signed_in(server: LiveServer, name: str) -> requests.Session:
    """A browser's session signed in through the real form, CSRF token and all."""
    session = requests.Session()
    page = session.get(f"{server.url}/signin", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    answer = session.post(
        f"{server.url}/signin",
        data={"name": name, "password": PASSWORD, "csrf_token": token.group(1)},
        timeout=10,
    )
    assert answer.ok and "/signin" not in answer.url
    return session


def actual(report: dict[str, Any], key: str) -> Any:
    return next(line["actual"] for line in report["indicators"] if line["key"] == key)


def test_a_reader_with_no_area_asking_for_no_unit_gets_the_whole_country(
    nation: LiveServer, db_path: str
) -> None:
    token = report_token(db_path)
    report = requests.get(f"{nation.url}/api/v1/reports/2026", headers=token, timeout=30).json()
    assert report["unit"] == {"code": "", "name": "全国"}
    # Both provinces' check-ins; 赵大, who came in both, once.
    assert actual(report, "trainee_attendances") == 4
    assert actual(report, "unique_trainees") == 3
    county = requests.get(
        f"{nation.url}/api/v1/reports/2026?unit=530102", headers=token, timeout=30
    ).json()
    assert actual(county, "trainee_attendances") == 2


def test_the_whole_country_is_named_in_the_pages_language(nation: LiveServer) -> None:
    admin = signed_in(nation, "admin")
    page = admin.get(f"{nation.url}/progress?year=2026", timeout=30)
    assert page.status_code == 200 and "<h1>全国 · " in page.text
    # The unit chooser offers it first, as what no unit shows.
    chooser = page.text[page.text.index('<select name="unit">') :]
    assert chooser.split("<option", 2)[1].startswith(' value="">全国</option>')
    admin.get(f"{nation.url}/lang/en", timeout=10)
    page = admin.get(f"{nation.url}/progress?year=2026", timeout=30)
    assert page.status_code == 200 and "<h1>whole country · " in page.text


def test_a_reader_with_an_area_still_gets_their_area(nation: LiveServer) -> None:
    page = signed_in(nation, "county").get(f"{nation.url}/progress?year=2026", timeout=30)
    assert page.status_code == 200 and "<h1>示范县 · " in page.text


def _units(db: Database, tmp_path: Path, rows: str) -> None:
    (tmp_path / "more.csv").write_text("code,name,parent_code,level\n" + rows, encoding="utf-8")
    reference.load_units(db, str(tmp_path / "more.csv"))
    db.conn.commit()


def test_the_smallest_unit_holding_every_county(tmp_path: Path, db_path: str) -> None:
    """A county server: its county, as every county page always had. Another county of its city,
    the city loaded: the city; one of another city: the province; without the province's row,
    the whole server (the figure is every record's either way)."""
    load_demo_reference(db_path)
    db = init_db(db_path)
    try:
        assert home_unit(db) == {
            "code": "530102000000",
            "name": "示范县",
            "level": "county",
            "prefix": "530102",
        }
        _units(db, tmp_path, "5301,某市,,city\n530103,邻县,5301,county\n")
        assert (home_unit(db)["prefix"], home_unit(db)["level"]) == ("5301", "city")
        _units(db, tmp_path, "532301,楚雄县,,county\n")
        assert home_unit(db)["level"] == "nation"  # no row of province 53 loaded
        _units(db, tmp_path, "53,某省,,province\n")
        assert home_unit(db) == {
            "code": "530000000000",
            "name": "某省",
            "level": "province",
            "prefix": "53",
        }
        _units(db, tmp_path, "540102,远县,,county\n")
        assert home_unit(db) == {"code": "", "name": "全国", "level": "nation", "prefix": ""}
    finally:
        db.close()


def test_a_server_with_no_county_says_so(db_path: str) -> None:
    db = init_db(db_path)
    try:
        with pytest.raises(Exception, match="unknown unit"):
            home_unit(db)
    finally:
        db.close()


def test_the_demo_data_is_one_county() -> None:
    """Every county page and test reads the demo county as today (tests/data/units.csv)."""
    counties = [
        line
        for line in (DATA / "units.csv").read_text(encoding="utf-8").splitlines()
        if line.endswith(",county")
    ]
    assert len(counties) == 1


def test_the_ends_of_the_counties_are_a_seek_not_a_read_of_every_unit(db_path: str) -> None:
    """m027's index by level and code: on a nation's 700,000 villages, finding the first and last
    county read them all (24 ms every report asked for no unit)."""
    load_demo_reference(db_path)
    db = init_db(db_path)
    try:
        if dialect.is_postgresql(db):
            found = db.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_units_level'"
            ).fetchone()
            assert found is not None and "(level, code)" in found[0]
        else:
            plan = " ".join(
                str(row[-1])
                for row in db.execute(
                    "EXPLAIN QUERY PLAN SELECT code FROM units WHERE level = 'county' "
                    "ORDER BY code DESC LIMIT 1"
                ).fetchall()
            )
            assert "idx_units_level" in plan and "TEMP B-TREE" not in plan
    finally:
        db.close()
