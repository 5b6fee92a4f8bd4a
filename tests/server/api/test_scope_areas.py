"""A bureau user's level and area (server/accounts/areas.py) on every figures page and report API,
through the one scope (server/api/scope.py), over the real app on a real SQLite file: a province
user sees every county, a city user the counties of the city, a county user only the county."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.accounts import areas, users
from server.api.scope import OutsideArea
from server.reference import load as reference
from server.store.db import init_db
from tests.helpers import csrf_token, sign_in
from tests.server.api.test_scope import APIS, BUREAU_PAGES, PAGES, refused_as, shown
from tests.server.fieldwork import Envoy
from tests.server.media.devices import add_photo, noise_jpeg
from tests.server.media.test_photo_pages import upload

PASSWORD = "areas-password"
# The demo county 示范县 (530102) lies in 昆明市 (5301); 楚雄市 (532301) in 楚雄州 (5323).
VILLAGE_B = "532301001001"
EVERY_PATH = [*PAGES, *BUREAU_PAGES, *APIS, "/records/checkins?year=2026&format=csv"]


@pytest.fixture
def province(app: Flask, db_path: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """张三 trains three farmers in 示范县; 赵丽 two in 楚雄市. One staff user per level."""
    db = init_db(db_path)
    units = tmp_path / "units-province.csv"
    units.write_text(
        "code,name,parent_code,level\n530000,云南省,,province\n530100,昆明市,530000,city\n"
        "532300,楚雄州,530000,city\n532301,楚雄市,532300,county\n"
        "532301001,鹿城镇,532301,township\n532301001001,北村,532301001,village\n",
        encoding="utf-8",
    )
    reference.load_units(db, str(units))
    reference.ensure_envoy(db, "赵丽", ["532301001"])
    zhang, zhao = Envoy(db, "张三"), Envoy(db, "赵丽")
    east = zhang.session()
    for name in ("赵大", "钱二", "孙三"):
        zhang.checkin(east, zhang.farmer(name))
    north = zhao.session(unit_code=VILLAGE_B)
    for name in ("周四", "吴五"):
        zhao.checkin(north, zhao.farmer(name, village_code=VILLAGE_B))
    # A site photo of each session, whole.
    shots = {"east": noise_jpeg(300, 200, seed=50), "north": noise_jpeg(300, 200, seed=51)}
    add_photo(zhang, east, shots["east"])
    add_photo(zhao, north, shots["north"])
    upload(app, zhang, shots["east"])
    upload(app, zhao, shots["north"])
    users.add_user(db, "admin", users.ADMIN, PASSWORD)
    for name, level, area in (
        ("prov", "province", "530000"),
        ("city", "city", "530100"),
        ("county_a", "county", "530102"),
        ("county_b", "county", "532301"),
    ):
        areas.set_area(db, users.add_user(db, name, users.STAFF, PASSWORD).id, level, area)
    users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang.envoy_id)
    db.conn.commit()
    yield {
        "db": db,
        "zhang": zhang.envoy_id,
        "zhao": zhao.envoy_id,
        "east": east,
        "north": north,
        "photos": {key: hashlib.sha256(data).hexdigest() for key, data in shots.items()},
    }
    db.close()


def client_of(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, name, PASSWORD).status_code == 302
    return client


def attendances(client: FlaskClient, query: str = "") -> float:
    answer = client.get(f"/api/v1/reports/2026?monthly=false{query}")
    assert answer.status_code == 200, shown(answer)[:300]
    lines = {line["key"]: line for line in answer.get_json()["indicators"]}
    return float(lines["trainee_attendances"]["actual"])


@pytest.mark.parametrize("path", EVERY_PATH)
def test_a_county_user_sees_only_their_county_on_every_page_and_api(
    app: Flask, province: dict[str, Any], path: str
) -> None:
    # A file lists the farmers checked in; pages and answers name the county and its envoy.
    in_a, in_b = ("示范县", "张三", "孙三"), ("楚雄", "赵丽", "周四")
    for user, mine, theirs in (("county_a", in_a, in_b), ("county_b", in_b, in_a)):
        answer = client_of(app, user).get(path)
        assert answer.status_code == 200, shown(answer)[:300]
        text = shown(answer)
        assert any(word in text for word in mine), (user, path)
        assert not any(word in text for word in theirs), (user, path)


@pytest.mark.parametrize("path", PAGES + BUREAU_PAGES + APIS)
def test_a_unit_or_envoy_outside_the_area_is_refused_not_narrowed(
    app: Flask, province: dict[str, Any], path: str
) -> None:
    county_a, city = client_of(app, "county_a"), client_of(app, "city")
    for client, asked in (
        (county_a, "&unit=532301"),
        (county_a, "&unit=530000"),
        (county_a, f"&envoy={province['zhao']}"),
        (city, "&unit=532301"),
        (city, "&unit=53"),
        (city, f"&envoy={province['zhao']}"),
    ):
        answer = client.get(f"{path}{asked}")
        refused_as(answer, OutsideArea, 403)
        assert "赵丽" not in shown(answer) and "周四" not in shown(answer)
    for client, asked in ((county_a, "&unit=530102001"), (city, "&unit=530102")):
        assert client.get(f"{path}{asked}").status_code == 200


def test_each_level_counts_its_own_area(app: Flask, province: dict[str, Any]) -> None:
    prov, city = client_of(app, "prov"), client_of(app, "city")
    county_a, county_b = client_of(app, "county_a"), client_of(app, "county_b")
    assert attendances(county_a) == 3 and attendances(county_b) == 2
    # The province as a whole by default, and each county on asking.
    assert attendances(prov) == 5
    assert attendances(prov, "&unit=530102") == 3 and attendances(prov, "&unit=532301") == 2
    assert attendances(city) == 3
    # A user with no area sees the whole server, as before levels: the first county by default.
    assert attendances(client_of(app, "admin"), "&unit=53") == 5
    # Breakdown by county on the province: both counties.
    page = shown(prov.get("/breakdowns?year=2026&by=county"))
    assert "示范县" in page and "楚雄市" in page
    # The menus offer only the area's units.
    menu = shown(city.get("/progress?year=2026"))
    assert "示范县" in menu and "楚雄" not in menu


def test_one_record_and_a_ledger_outside_the_area_are_refused(
    app: Flask, province: dict[str, Any]
) -> None:
    county_a, prov = client_of(app, "county_a"), client_of(app, "prov")
    for path in ("/records/session/{}", "/review/session/{}"):
        assert county_a.get(path.format(province["east"])).status_code == 200
        refused_as(county_a.get(path.format(province["north"])), OutsideArea, 403)
        assert prov.get(path.format(province["north"])).status_code == 200
    for path in ("/ledger/{}", "/api/v1/reconciliation/2026/ledger/{}"):
        assert county_a.get(path.format(province["zhang"])).status_code == 200
        refused_as(county_a.get(path.format(province["zhao"])), OutsideArea, 403)
    listed = shown(county_a.get("/ledger/"))
    assert "张三" in listed and "赵丽" not in listed
    assert "赵丽" in shown(prov.get("/ledger/"))
    # A photo is one record's: its county's users and the province's see it, no other county's.
    east, north = province["photos"]["east"], province["photos"]["north"]
    for path in ("/media/{}", "/media/{}/thumb"):
        assert county_a.get(path.format(east)).status_code == 200
        assert county_a.get(path.format(north)).status_code == 403
        assert prov.get(path.format(north)).status_code == 200
        assert client_of(app, "county_b").get(path.format(north)).status_code == 200


def test_an_admin_sets_a_users_level_and_area(app: Flask, province: dict[str, Any]) -> None:
    admin = client_of(app, "admin")
    db = province["db"]
    target = users.user_by_name(db, "county_a")
    token = csrf_token(admin, "/admin/users")
    url = f"/admin/users/{target.id}/area"
    answer = admin.post(url, data={"level": "city", "area": "532300", "csrf_token": token})
    assert answer.status_code == 302
    assert users.user_by_name(db, "county_a").area == "532300000000"
    assert attendances(client_of(app, "county_a")) == 2
    # A county level with a province's code, an unknown code, an unknown level: refused whole.
    for form, words in (
        ({"level": "county", "area": "530000"}, "不是县级单位"),
        ({"level": "county", "area": "999999"}, "没有这个单位"),
        ({"level": "nation", "area": "530000"}, "级别须为"),
        ({"level": "county", "area": "53'--"}, "请填写区划代码"),
    ):
        refused = admin.post(url, data={**form, "csrf_token": token})
        assert refused.status_code == 422 and words in shown(refused)
        assert users.user_by_name(db, "county_a").area == "532300000000"
    # An envoy user has no area; no level clears one.
    zhang = users.user_by_name(db, "zhang")
    envoy = admin.post(
        f"/admin/users/{zhang.id}/area",
        data={"level": "county", "area": "530102", "csrf_token": token},
    )
    assert envoy.status_code == 422 and "特派员用户只看自己的数据" in shown(envoy)
    assert admin.post(url, data={"level": "", "area": "", "csrf_token": token}).status_code == 302
    assert users.user_by_name(db, "county_a").level is None
    assert "查看范围" in shown(admin.get("/admin/users"))
    # Only an admin may, and only with the form's token.
    prov = client_of(app, "prov")
    own_token = csrf_token(prov, "/progress")
    assert prov.post(url, data={"level": "", "csrf_token": own_token}).status_code == 403
    assert admin.post(url, data={"level": "county", "area": "530102"}).status_code in (400, 403)
    logged = db.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'user.area' AND target_id = ?",
        [str(target.id)],
    ).fetchone()[0]
    assert logged >= 2
