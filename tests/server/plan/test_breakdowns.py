"""Breakdowns: grouped queries whose additive rows add up to the unit's total, with targets per row."""

from __future__ import annotations

import io
from collections.abc import Iterator

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlite_utils import Database

from server.accounts import users
from server.plan import targets
from server.plan.breakdowns import BY, UnknownDimension, breakdown
from server.plan.report import build_report
from tests.helpers import (
    TECH_MAIZE,
    TECH_POTATO,
    VILLAGE_EAST,
    VILLAGE_SOUTH,
    VILLAGE_WEST,
    report_token,
    sign_in,
)
from tests.server.fieldwork import MID_2026, Envoy, report_db

TOWNSHIP_EAST = "530102001000"


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


@pytest.fixture
def zhang(db: Database) -> Envoy:
    return Envoy(db, "张三")


@pytest.fixture
def wang(db: Database) -> Envoy:
    return Envoy(db, "王五")


@pytest.fixture
def busy(db: Database, zhang: Envoy, wang: Envoy) -> Database:
    """A county's spring: sessions of each kind in three villages, a township event, a county TV
    lecture, check-ins of women and men, leaflets in villages and at sessions, plots."""
    women = [zhang.farmer(f"女{n}") for n in range(3)]
    men = [wang.farmer(f"男{n}", village_code=VILLAGE_SOUTH) for n in range(2)]
    with_gender = {**dict.fromkeys(women, "female"), **dict.fromkeys(men, "male")}
    for farmer, gender in with_gender.items():
        db.execute("UPDATE farmers SET gender = ? WHERE id = ?", [gender, farmer])
    db.conn.commit()
    east = zhang.session(technology_ids=[TECH_POTATO], starts_at="2026-03-10T02:00:00Z")
    west = zhang.session(unit_code=VILLAGE_WEST, technology_ids=[TECH_POTATO, TECH_MAIZE])
    big = zhang.session(
        kind="large_training", unit_code="530102001", starts_at="2026-04-02T02:00:00Z"
    )
    south = wang.session(unit_code=VILLAGE_SOUTH, reported_headcount=30)
    wang.session(kind="tv_lecture", unit_code="530102", reported_headcount=900)
    for farmer in women:
        zhang.checkin(east, farmer)
        zhang.checkin(big, farmer)
    zhang.checkin(west, women[0])
    for farmer in men:
        wang.checkin(south, farmer)
        # Check-ins go into a session only from its own envoys: 张三 runs the large training.
        zhang.checkin(big, farmer)
    zhang.handout(100, unit_code=VILLAGE_EAST)
    zhang.handout(40, unit_code=None, session_id=big)
    wang.handout(25, unit_code="530102002")
    zhang.plot(area_mu=12.5, village_code=VILLAGE_WEST, technology_ids=[TECH_MAIZE])
    wang.plot(area_mu=3, village_code=VILLAGE_SOUTH)
    return db


@pytest.mark.parametrize("by", BY)
def test_additive_rows_add_up_to_the_unit_total(busy: Database, by: str) -> None:
    table = breakdown(busy, 2026, by, now=MID_2026)
    report = {
        line["key"]: line["actual"]
        for line in build_report(busy, 2026, None, MID_2026)["indicators"]
    }
    assert table["total"]["trainee_attendances"] == report["trainee_attendances"] == 11
    for key in table["additive"]:
        rows_sum = sum(row["values"][key] for row in table["rows"])
        if by == "technology":
            # A session teaching two technologies counts under both: never less than the total.
            assert rows_sum >= report[key], key
        else:
            assert rows_sum == pytest.approx(report[key]), (by, key)
    for key in {"unique_trainees", "technologies_promoted"} & set(table["total"]):
        values = [row["values"][key] for row in table["rows"]]
        # Distinct counts: no row above the total, the rows together at least the total.
        assert max(values) <= report[key] <= sum(values), key


def test_township_rows_with_their_own_targets(busy: Database) -> None:
    targets.set_target(
        busy,
        {
            "year": 2026,
            "indicator": "trainee_attendances",
            "comparator": ">",
            "value": 8,
            "unit_code": "530102001",
        },
    )
    table = breakdown(busy, 2026, "township", now=MID_2026)
    rows = {row["key"]: row for row in table["rows"]}
    # Both townships listed; the county's TV lecture sits above them.
    assert set(rows) == {TOWNSHIP_EAST, "530102002000", "530102000000"}
    east = rows[TOWNSHIP_EAST]
    assert east["label_zh"] == "城关镇"
    assert east["values"]["trainee_attendances"] == 9
    assert east["values"]["village_trainings"] == 2
    assert east["values"]["large_trainings"] == 1
    assert east["values"]["leaflets_distributed"] == 140
    assert east["targets"]["trainee_attendances"]["met"] is True
    assert east["targets"]["trainee_attendances"]["target"] == 8
    assert rows["530102002000"]["targets"] == {}
    assert rows["530102000000"]["values"]["tv_lectures"] == 1


def test_gender_month_and_kind(busy: Database) -> None:
    by_gender = {
        r["key"]: r["values"] for r in breakdown(busy, 2026, "gender", now=MID_2026)["rows"]
    }
    assert by_gender["female"] == {"trainee_attendances": 7, "unique_trainees": 3}
    assert by_gender["male"] == {"trainee_attendances": 4, "unique_trainees": 2}
    by_month = {r["key"]: r["values"] for r in breakdown(busy, 2026, "month", now=MID_2026)["rows"]}
    assert len(by_month) == 12
    assert by_month[3]["trainee_attendances"] == 3
    assert by_month[4]["large_trainings"] == 1
    by_kind = {r["key"]: r for r in breakdown(busy, 2026, "kind", now=MID_2026)["rows"]}
    assert by_kind["large_training"]["values"]["leaflets_distributed"] == 40
    assert by_kind[None]["label_zh"] == "非培训场合"
    assert by_kind[None]["values"]["leaflets_distributed"] == 125


def test_envoy_rows_are_their_own_work(busy: Database, zhang: Envoy, wang: Envoy) -> None:
    rows = {r["key"]: r for r in breakdown(busy, 2026, "envoy", now=MID_2026)["rows"]}
    assert rows[zhang.envoy_id]["label_zh"] == "张三"
    assert rows[zhang.envoy_id]["values"]["trainee_attendances"] == 9
    assert rows[wang.envoy_id]["values"]["trainee_attendances"] == 2
    assert rows[wang.envoy_id]["values"]["tv_lectures"] == 1
    # 李梅 serves the county too and has done nothing yet: listed with zeros.
    assert any(
        r["label_zh"] == "李梅" and r["values"]["trainee_attendances"] == 0 for r in rows.values()
    )


def test_unknown_dimension_is_refused(db: Database) -> None:
    with pytest.raises(UnknownDimension) as caught:
        breakdown(db, 2026, "weather")
    assert "by" in caught.value.errors


def test_breakdown_over_http(client: FlaskClient, busy: Database, db_path: str) -> None:
    del busy
    path = "/api/v1/reports/2026/breakdown?by=village&unit=530102"
    assert client.get(path).status_code == 401
    token = report_token(db_path)
    response = client.get(path, headers=token)
    assert response.status_code == 200
    body = response.get_json()
    assert {row["key"] for row in body["rows"]} >= {VILLAGE_EAST, VILLAGE_WEST, VILLAGE_SOUTH}
    # The county's own targets travel with the total, as on the page.
    assert body["total_targets"]["trainee_attendances"]["target"] == 3000
    bad = client.get("/api/v1/reports/2026/breakdown?by=weather", headers=token)
    assert bad.status_code == 422
    assert "by" in bad.get_json()["errors"]["query"]


def test_the_total_carries_the_units_own_targets_judged_as_progress(busy: Database) -> None:
    """The county's targets sit on the total, as the progress page judges them; the row of
    records in no township (the county's TV lecture) has none and says what it is."""
    for indicator, value in (("trainee_attendances", 20), ("tv_lectures", 1)):
        targets.set_target(
            busy,
            {
                "year": 2026,
                "indicator": indicator,
                "comparator": ">=",
                "value": value,
                "unit_code": "530102",
            },
        )
    for by in ("township", "village"):
        table = breakdown(busy, 2026, by, now=MID_2026)
        lines = {
            line["key"]: line for line in build_report(busy, 2026, None, MID_2026)["indicators"]
        }
        assert set(table["total_targets"]) == {k for k, line in lines.items() if line["comparator"]}
        assert {"trainee_attendances", "tv_lectures"} <= set(table["total_targets"])
        for key, judged in table["total_targets"].items():
            for name in ("target", "status", "percent", "met", "expected_by_now"):
                assert judged[name] == lines[key][name], (by, key, name)
        assert table["total_targets"]["trainee_attendances"]["met"] is False
        assert table["total_targets"]["tv_lectures"]["met"] is True
        assert table["total"]["reported"] == lines["trainee_attendances"]["reported"] == 30
        above = [row for row in table["rows"] if row["above"]]
        assert len(above) == 1 and above[0]["targets"] == {}
        assert "上级单位" not in above[0]["label_zh"]
        assert above[0]["label_zh"].startswith("不属任何乡镇" if by == "township" else "不属任何村")
        assert above[0]["values"]["tv_lectures"] == 1


@pytest.mark.parametrize("by", ("province", "city", "county"))
def test_a_level_the_unit_lies_within_is_its_own_records_under_that_units_name(
    busy: Database, by: str
) -> None:
    """The county by city (or province, or county) is one row: the county's own figures under
    the enclosing unit's code and name, not "in no city", and without that unit's targets,
    which are for all its counties' work, not this one's."""
    enclosing = {"province": "530000000000", "city": "530100000000", "county": "530102000000"}
    busy.execute(
        "INSERT INTO units (code, name, level) VALUES ('530000000000', '云南省', 'province'), "
        "('530100000000', '昆明市', 'city')"
    )
    for unit in ("530000", "530100", "530102"):
        targets.set_target(
            busy,
            {
                "year": 2026,
                "indicator": "trainee_attendances",
                "comparator": ">=",
                "value": 5,
                "unit_code": unit,
            },
        )
    busy.conn.commit()
    table = breakdown(busy, 2026, by, "530102", now=MID_2026)
    [row] = table["rows"]
    names = {"province": "云南省", "city": "昆明市", "county": "示范县"}
    assert (row["key"], row["label_zh"], row["above"]) == (enclosing[by], names[by], False)
    assert row["values"]["trainee_attendances"] == table["total"]["trainee_attendances"] == 11
    assert row["targets"] == {}
    assert table["total_targets"]["trainee_attendances"]["met"] is True


def test_an_envoy_users_breakdown_by_envoy_names_no_other_envoy(
    app: Flask, busy: Database, zhang: Envoy
) -> None:
    """Issue 18.12: 张三 signed in sees his own row, never 李梅's or 王五's name, in the API,
    on the page or in its CSV/XLSX export."""
    users.add_user(busy, "zhang", users.ENVOY, "zhang-password", zhang.envoy_id)
    client = app.test_client()
    assert sign_in(client, "zhang", "zhang-password").status_code == 302
    others = ("李梅", "王五")
    answer = client.get(f"/api/v1/reports/2026/breakdown?by=envoy&envoy={zhang.envoy_id}")
    assert answer.status_code == 200
    assert [row["label_zh"] for row in answer.get_json()["rows"]] == ["张三"]
    assert not any(name in answer.get_data(as_text=True) for name in others)
    assert answer.get_json()["rows"][0]["values"]["trainee_attendances"] == 9
    for fmt in ("", "&format=csv", "&format=xlsx"):
        page = client.get(f"/breakdowns?year=2026&by=envoy&envoy={zhang.envoy_id}{fmt}")
        assert page.status_code in (200, 403)
        text = (
            "".join(
                str(c)
                for row in openpyxl.load_workbook(io.BytesIO(page.data)).active.values
                for c in row
            )
            if fmt.endswith("xlsx") and page.status_code == 200
            else page.get_data(as_text=True)
        )
        assert not any(name in text for name in others), fmt
    # Staff asking for one envoy's figures by envoy get that envoy's row; by the county, all.
    staff = breakdown(busy, 2026, "envoy", envoy_id=zhang.envoy_id, now=MID_2026)
    assert [row["key"] for row in staff["rows"]] == [zhang.envoy_id]
    everyone = breakdown(busy, 2026, "envoy", now=MID_2026)
    assert {row["label_zh"] for row in everyone["rows"]} >= {"张三", "李梅", "王五"}
