"""One scope for every figures page and report API (server/api/scope.py), over the real app on
a real SQLite file: an envoy user asking for nobody gets their own rows, asking for another
envoy or a unit is refused; bad years, units and envoys get one bilingual error each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from server.accounts import users
from server.api.scope import (
    NoEnvoyLinked,
    OthersRecord,
    OthersRows,
    ViewScope,
    YearNotANumber,
    held_to,
    scope_of,
    year_of,
)
from server.figures.counted import Scope
from server.plan.report import UnknownYear
from server.reference.lookups import UnknownEnvoy, UnknownUnit
from server.store.db import init_db
from shared import protocol as p
from shared.errors import TianjianError
from shared.ids import new_id
from tests.helpers import VILLAGE_WEST, LiveServer, report_token, sign_in
from tests.server.fieldwork import Envoy

PASSWORD = "scope-password"
COUNTY = "530102"
# Every page an envoy user may open that reads a scope, and every report API.
PAGES = [
    "/progress?year=2026",
    "/records/sessions?year=2026",
    "/records/checkins?year=2026",
    "/records/handouts?year=2026",
    "/performance?year=2026",
    "/reconciliation/?year=2026",
    "/flags?year=2026",
]
APIS = [
    "/api/v1/reports/2026?monthly=false",
    "/api/v1/reports/2026/breakdown?by=envoy",
    "/api/v1/reconciliation/2026?margin=30",
]
# The bureau's own pages, which read the same scope.
BUREAU_PAGES = ["/breakdowns?year=2026&by=village", "/summary?year=2026"]


@pytest.fixture
def world(app: Flask, db_path: str) -> Iterator[dict[str, Any]]:
    """张三 trains three farmers and hands out leaflets in 东村; 李梅 two in 西村, and hands out
    too. zhang is 张三's account, staff the bureau's, lost an envoy account linked to nobody."""
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    east = zhang.session()
    for name in ("赵大", "钱二", "孙三"):
        zhang.checkin(east, zhang.farmer(name))
    zhang.handout(100, session_id=east)
    west = li.session(unit_code=VILLAGE_WEST)
    for name in ("周四", "吴五"):
        li.checkin(west, li.farmer(name, village_code=VILLAGE_WEST))
    li.handout(50, session_id=west)
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang.envoy_id)
    lost = users.add_user(db, "lost", users.ENVOY, PASSWORD, li.envoy_id)
    # An account whose envoy link was lost (no form makes one; a hand-edited database can).
    db.execute("UPDATE users SET envoy_id = NULL WHERE id = ?", [lost.id])
    db.conn.commit()
    yield {"db": db, "zhang": zhang.envoy_id, "li": li.envoy_id, "li_device": li, "west": west}
    db.close()


def client_of(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, name, PASSWORD).status_code == 302
    return client


def shown(response: Any) -> str:
    """What a person or a program reads: the page, or the JSON with its Chinese as written."""
    if response.is_json:
        return json.dumps(response.get_json(), ensure_ascii=False)
    return str(response.get_data(as_text=True))


def error_text(response: Any) -> str:
    """The error's own words: the JSON's message and reasons, or the page's alert and list."""
    if response.is_json:
        body = response.get_json()
        return json.dumps([body["message"], body["errors"]], ensure_ascii=False)
    page = shown(response)
    return page[page.index('role="alert"') : page.index("</section>")]


def refused_as(response: Any, error: type[TianjianError], status: int) -> None:
    """Answered with this error's status and message: whole in JSON, its Chinese half on a page."""
    assert response.status_code == status, shown(response)[:300]
    message = error.message
    if response.is_json:
        assert response.get_json()["message"] == message
    else:
        assert message.split(" / ")[0] in shown(response)


# ------------------------------------------------------------------ an envoy user


@pytest.mark.parametrize("path", PAGES + APIS)
def test_an_envoy_asking_for_nobody_gets_their_own_rows(
    app: Flask, world: dict[str, Any], path: str
) -> None:
    answer = client_of(app, "zhang").get(path)
    assert answer.status_code == 200, shown(answer)[:300]
    assert "张三" in shown(answer) and "李梅" not in shown(answer)


@pytest.mark.parametrize("path", PAGES + APIS)
def test_an_envoy_naming_themselves_gets_the_same_rows(
    app: Flask, world: dict[str, Any], path: str
) -> None:
    answer = client_of(app, "zhang").get(f"{path}&envoy={world['zhang']}")
    assert answer.status_code == 200 and "李梅" not in shown(answer)


@pytest.mark.parametrize("path", PAGES + APIS)
def test_an_envoy_asking_for_another_envoy_is_refused_before_any_look_up(
    app: Flask, world: dict[str, Any], path: str
) -> None:
    zhang = client_of(app, "zhang")
    # Another envoy's id, an id nobody has and a word: the same refusal, so it tells nothing.
    for other in (world["li"], new_id(), "nobody"):
        answer = zhang.get(f"{path}&envoy={other}")
        refused_as(answer, OthersRows, 403)
        assert "李梅" not in shown(answer) and "周四" not in shown(answer)


@pytest.mark.parametrize("path", PAGES + APIS)
def test_an_envoy_asking_for_a_unit_is_refused(
    app: Flask, world: dict[str, Any], path: str
) -> None:
    zhang = client_of(app, "zhang")
    for asked in (f"&unit={COUNTY}", f"&unit={VILLAGE_WEST}&envoy={world['zhang']}"):
        refused_as(zhang.get(f"{path}{asked}"), OthersRows, 403)


def test_an_envoys_ledger_is_their_own_on_the_page_and_in_the_api(
    app: Flask, world: dict[str, Any]
) -> None:
    zhang = client_of(app, "zhang")
    mine = zhang.get("/ledger/")
    assert mine.status_code == 302 and mine.headers["Location"].endswith(world["zhang"])
    for path in ("/ledger/{}", "/api/v1/reconciliation/2026/ledger/{}"):
        assert zhang.get(path.format(world["zhang"])).status_code == 200
        for other in (world["li"], new_id()):
            refused_as(zhang.get(path.format(other)), OthersRows, 403)


def test_an_envoy_opens_the_sessions_they_lead_or_co_run_and_no_other(
    app: Flask, world: dict[str, Any]
) -> None:
    """A session 李梅 leads with 张三 as co-envoy is his to open, as his co-run list links it
    and his device pulls it; 李梅's own session is not (the review page says the same)."""
    co_run = new_id()
    fields = {
        "kind": "village_training",
        "title": "合办培训",
        "unit_code": VILLAGE_WEST,
        "starts_at": "2026-05-11T02:00:00Z",
        "lead_envoy_id": world["li"],
        "co_envoy_ids": [world["zhang"]],
        "technology_ids": [],
    }
    world["li_device"].push(p.SESSION, fields, co_run)
    zhang = client_of(app, "zhang")
    listed = shown(zhang.get("/records/sessions?year=2026&co_run=1"))
    assert f"/records/session/{co_run}" in listed
    for path in ("/records/session/{}", "/review/session/{}"):
        assert zhang.get(path.format(co_run)).status_code == 200
        refused_as(zhang.get(path.format(world["west"])), OthersRecord, 403)
    assert client_of(app, "staff").get(f"/records/session/{world['west']}").status_code == 200
    refused_as(client_of(app, "lost").get(f"/records/session/{co_run}"), NoEnvoyLinked, 403)


@pytest.mark.parametrize(
    "path", [*PAGES, *APIS, "/ledger/", "/api/v1/reconciliation/2026/ledger/x"]
)
def test_an_envoy_account_linked_to_nobody_sees_nothing(
    app: Flask, world: dict[str, Any], path: str
) -> None:
    answer = client_of(app, "lost").get(path)
    refused_as(answer, NoEnvoyLinked, 403)
    assert "张三" not in shown(answer) and "李梅" not in shown(answer)


@pytest.mark.parametrize("path", BUREAU_PAGES)
def test_the_bureaus_own_pages_stay_closed_to_envoys(
    app: Flask, world: dict[str, Any], path: str
) -> None:
    assert client_of(app, "zhang").get(path).status_code == 403


# ------------------------------------------------------------------ the bureau


@pytest.mark.parametrize("path", PAGES + APIS + BUREAU_PAGES)
def test_the_bureau_asks_for_any_envoy_or_unit(
    app: Flask, world: dict[str, Any], path: str
) -> None:
    staff = client_of(app, "staff")
    county = staff.get(path)
    li = staff.get(f"{path}&envoy={world['li']}")
    west = staff.get(f"{path}&unit={VILLAGE_WEST}")
    assert (county.status_code, li.status_code, west.status_code) == (200, 200, 200)
    if "赵大" in shown(county):  # the lists that name farmers name only the asked-for ones
        assert "赵大" not in shown(li) and "赵大" not in shown(west)
        assert "周四" in shown(li) and "周四" in shown(west)


def test_an_api_token_reads_as_the_bureau(app: Flask, world: dict[str, Any], db_path: str) -> None:
    client, token = app.test_client(), report_token(db_path)
    for path in APIS:
        answer = client.get(f"{path}&envoy={world['li']}", headers=token)
        assert answer.status_code == 200 and "张三" not in shown(answer)
    # A bad token is refused, never read as an envoy's or the bureau's.
    bad = client.get(APIS[0], headers={"Authorization": "Bearer tjr_nothing"})
    assert bad.status_code == 401


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("path", PAGES + BUREAU_PAGES)
def test_a_year_that_is_not_a_number_is_one_error(
    app: Flask, world: dict[str, Any], path: str
) -> None:
    staff = client_of(app, "staff")
    base = path.replace("year=2026", "")
    for year in ("abc", "2026.5", "-2026", "２０２6年", "9" * 5000):
        answer = staff.get(f"{base}&year={year}")
        assert answer.status_code == 422, year
        said = error_text(answer)
        assert "年份应为 2000–2200 之间的整数" in said and "year" in said
        assert "9" * 100 not in said  # a crafted query is not echoed whole
    # Typed with a Chinese input method's full-width digits, a year is a year.
    assert staff.get(f"{base}&year=２０２６").status_code == 200


@pytest.mark.parametrize("path", PAGES + BUREAU_PAGES)
def test_a_year_out_of_range_is_one_error(app: Flask, world: dict[str, Any], path: str) -> None:
    staff = client_of(app, "staff")
    base = path.replace("year=2026", "")
    for year in ("1999", "2201", "0"):
        answer = staff.get(f"{base}&year={year}")
        assert answer.status_code == 404, year
        assert f"没有 {year} 年的数据" in shown(answer)


@pytest.mark.parametrize("path", APIS)
def test_the_apis_year_out_of_range_is_the_same_error(
    app: Flask, world: dict[str, Any], path: str
) -> None:
    answer = client_of(app, "staff").get(path.replace("2026", "1999", 1))
    assert answer.status_code == 404
    assert answer.get_json()["message"] == UnknownYear(1999).message


@pytest.mark.parametrize("path", PAGES + APIS + BUREAU_PAGES)
def test_an_unknown_unit_is_one_error(app: Flask, world: dict[str, Any], path: str) -> None:
    staff = client_of(app, "staff")
    for unit in ("530199", "99999x", "５３０１０２", "1", "530102\n", "<b>" * 50):
        answer = staff.get(f"{path}&unit={quote(unit)}")
        assert answer.status_code == 404, unit
        said = error_text(answer)
        assert "未知的区划代码" in said
        assert "<b>" * 20 not in said and "&lt;b&gt;" * 20 not in said
        assert answer.is_json or "<b><b>" not in said
        if answer.is_json:
            assert answer.get_json()["errors"] == {"unit": "未知的区划代码 / unknown unit"}


@pytest.mark.parametrize("path", PAGES + APIS + BUREAU_PAGES)
def test_an_unknown_envoy_is_one_error(app: Flask, world: dict[str, Any], path: str) -> None:
    staff = client_of(app, "staff")
    for envoy in (new_id(), "nobody", "x" * 500):
        answer = staff.get(f"{path}&envoy={quote(envoy)}")
        assert answer.status_code == 404, envoy
        said = error_text(answer)
        assert "没有这位特派员" in said and "x" * 100 not in said
        if answer.is_json:
            assert answer.get_json()["errors"] == {"envoy": "没有这位特派员 / no such envoy"}


def test_looking_writes_nothing(app: Flask, world: dict[str, Any]) -> None:
    db = world["db"]
    before = {table: db[table].count for table in ("sessions", "attendances", "audit_log")}
    zhang, staff = client_of(app, "zhang"), client_of(app, "staff")
    for path in PAGES + APIS:
        zhang.get(f"{path}&envoy={world['li']}")
        staff.get(f"{path}&year=abc")
        staff.get(f"{path}&unit=530199")
    assert {table: db[table].count for table in before} == before


# ------------------------------------------------------------------ the function itself


def reader(role: str, envoy_id: str | None = None) -> users.User:
    return users.User(1, "someone", role, envoy_id)


def test_scope_of_applies_the_one_policy(app: Flask, world: dict[str, Any]) -> None:
    zhang, li = world["zhang"], world["li"]
    envoy, staff = reader(users.ENVOY, zhang), reader(users.STAFF)
    with app.test_request_context():
        own = scope_of({"year": "2026"}, envoy)
        assert (own.envoy, own.unit, own.own, own.place, own.name) == (
            zhang,
            None,
            True,
            None,
            "张三",
        )
        assert own.figures() == Scope(2026, "", zhang)
        assert scope_of({"year": "2026", "envoy": zhang}, envoy) == own
        for asked in ({"envoy": li}, {"unit": COUNTY}, {"unit": COUNTY, "envoy": zhang}):
            with pytest.raises(OthersRows):
                scope_of({"year": "2026", **asked}, envoy)
        with pytest.raises(NoEnvoyLinked):
            scope_of({}, reader(users.ENVOY))

        county = scope_of({"year": "2026"}, staff)
        assert (county.unit, county.envoy, county.own, county.name) == (None, None, False, "示范县")
        assert county.figures(exclude_questioned=True) == Scope(2026, COUNTY, None, None, True)
        village = scope_of({"year": "2026", "unit": VILLAGE_WEST, "envoy": li}, staff)
        assert village.figures() == Scope(2026, VILLAGE_WEST, li)
        # An API token (no reader) reads as the bureau does.
        assert scope_of({"envoy": li}, None, 2026).envoy == li
        for args, error in (
            ({"unit": "530199"}, UnknownUnit),
            ({"unit": "5301O2"}, UnknownUnit),
            ({"envoy": new_id()}, UnknownEnvoy),
            ({"year": "二〇二六"}, YearNotANumber),
            ({"year": "1999"}, UnknownYear),
        ):
            with pytest.raises(error):
                scope_of(args, staff)


def test_links_keep_the_scope_and_changes_drop_what_is_set_to_none() -> None:
    scope = ViewScope(2026, COUNTY, "e1")
    assert scope.query() == {"year": 2026, "unit": COUNTY, "envoy": "e1"}
    assert scope.query(unit=None, by="village") == {"year": 2026, "envoy": "e1", "by": "village"}


def test_year_of_reads_typed_digits_and_defaults_to_this_year() -> None:
    assert year_of("２０２６") == year_of(" 2026 ") == year_of(2026) == 2026
    assert 2000 <= year_of(None) == year_of("") <= 2200
    with pytest.raises(UnknownYear):
        year_of(2201)


def test_held_to_is_the_ledgers_check_too() -> None:
    assert held_to(None, "e2") == "e2" and held_to(reader(users.ADMIN), None) is None
    assert held_to(reader(users.ENVOY, "e1"), None) == held_to(reader(users.ENVOY, "e1"), "e1")
    with pytest.raises(OthersRows):
        held_to(reader(users.ENVOY, "e1"), "e2")


# ------------------------------------------------------------------ over real HTTP


def test_the_policy_holds_on_the_real_server(world: dict[str, Any], db_path: str) -> None:
    """The real server (waitress, its own process) on loopback: an envoy signed in through the
    form gets their own figures and is refused another's, with the same words."""
    server = LiveServer(db_path).start()
    try:
        http = requests.Session()
        form = http.get(f"{server.url}/signin", timeout=10).text
        token = form.split('name="csrf_token" value="')[1].split('"')[0]
        signed = http.post(
            f"{server.url}/signin",
            data={"name": "zhang", "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )
        assert signed.status_code == 302
        for path in PAGES + APIS:
            mine = http.get(server.url + path, timeout=30)
            assert mine.status_code == 200 and "李梅" not in mine.text, path
            other = http.get(f"{server.url}{path}&envoy={world['li']}", timeout=30)
            assert other.status_code == 403, path
            assert OthersRows.message.split(" / ")[0] in (
                other.json()["message"] if "/api/" in path else other.text
            )
    finally:
        server.stop()
