"""Reconciliation on crafted data: receipts per unit, leaflet stock, headcounts, who may read."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.figures.counted import Scope
from server.plan.report import build_report
from server.quality.reconciliation import (
    checkins,
    headcounts,
    headcounts_by_envoy,
    leaflet_page,
    leaflets,
    silent_devices,
)
from server.store.db import init_db
from shared import protocol as p
from tests.helpers import LEAFLET_POTATO, VILLAGE_EAST, VILLAGE_SOUTH, VILLAGE_WEST, sign_in
from tests.server.fieldwork import MID_2026, Envoy, report_db

TOWNSHIP_1 = "530102001"
TOWNSHIP_2 = "530102002"
PASSWORD = "correct-horse"


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


def serve_both_townships(db: Database, envoy: Envoy) -> None:
    codes = [TOWNSHIP_1.ljust(12, "0"), TOWNSHIP_2.ljust(12, "0")]
    db["envoys"].update(envoy.envoy_id, {"township_codes": json.dumps(codes)})
    db.conn.commit()


def received(db: Database, unit: str | None) -> float:
    report = build_report(db, 2026, unit, MID_2026)
    [line] = [item for item in report["indicators"] if item["key"] == "leaflets_distributed"]
    return line["received"]


def test_receipts_count_toward_the_units_their_envoys_serve(db: Database) -> None:
    # 张三 serves township 1 (two villages); 王五 serves townships 1 and 2 (one village).
    zhang, wang = Envoy(db, "张三"), Envoy(db, "王五")
    serve_both_townships(db, wang)
    zhang.receipt(1000)
    wang.receipt(600)
    wang.receipt(200, on="2025-12-30")  # another year: counted in neither
    assert received(db, None) == 1600  # the county: each receipt once
    assert received(db, TOWNSHIP_1) == 1000 + 300  # 王五's shared evenly by his two townships
    assert received(db, TOWNSHIP_2) == 300
    # A village: its township's share split evenly among the township's villages.
    assert received(db, VILLAGE_EAST) == 650
    assert received(db, VILLAGE_WEST) == 650
    assert received(db, VILLAGE_SOUTH) == 300


def test_leaflet_stock_per_envoy_and_title_flags_over_distribution(db: Database) -> None:
    zhang, wang = Envoy(db, "张三"), Envoy(db, "王五")
    zhang.receipt(100, on="2025-11-01")  # stock carries over into 2026
    zhang.receipt(50)
    zhang.handout(120)
    wang.receipt(30)
    wang.handout(40, unit_code=VILLAGE_SOUTH)
    wang.handout(5, unit_code=VILLAGE_SOUTH, at="2027-01-05T03:00:00Z")  # after the year
    lines = {line.envoy: line for line in leaflets(db, Scope(2026))}
    assert set(lines) == {"张三", "王五"}
    z, w = lines["张三"], lines["王五"]
    assert (z.title_id, z.title) == (LEAFLET_POTATO, "马铃薯晚疫病防治")
    assert (z.received, z.handed_out, z.in_hand, z.over) == (150, 120, 30, False)
    assert (w.received, w.handed_out, w.in_hand, w.over) == (30, 40, -10, True)
    # A township lists the envoys serving it (or handing out in it) with their whole stock.
    assert [line.envoy for line in leaflets(db, Scope(2026, TOWNSHIP_1))] == ["张三"]
    assert [line.envoy for line in leaflets(db, Scope(2026, TOWNSHIP_2))] == ["王五"]
    assert [line.envoy for line in leaflets(db, Scope(2026, VILLAGE_EAST))] == ["张三"]
    assert [line.envoy for line in leaflets(db, Scope(2026, envoy_id=wang.envoy_id))] == ["王五"]


def test_leaflet_pages_are_the_lines_in_order_with_the_count_of_all(db: Database) -> None:
    # Two envoys of one name (two counties' 张三 on a province): told apart by id, in one order.
    zhang, wang = Envoy(db, "张三"), Envoy(db, "王五")
    db["envoys"].update(wang.envoy_id, {"name": "张三"})
    db.conn.commit()
    for envoy in (zhang, wang, zhang):
        envoy.receipt(10)
    every = leaflets(db, Scope(2026))
    assert len(every) == 2
    pages = [leaflet_page(db, Scope(2026), 1, offset) for offset in (0, 1)]
    assert [lines for lines, _ in pages] == [every[:1], every[1:]]
    assert [total for _, total in pages] == [2, 2]
    # Past the last line: nothing, and still how many there are.
    assert leaflet_page(db, Scope(2026), 1, 5) == ([], 2)
    assert leaflet_page(db, Scope(2025), 5, 0) == ([], 0)  # nothing received before 2026


def test_headcounts_far_above_check_ins_or_without_names_are_listed(db: Database) -> None:
    zhang = Envoy(db, "张三")
    named = zhang.session(reported_headcount=3, starts_at="2026-05-10T02:00:00Z")
    padded = zhang.session(reported_headcount=50, starts_at="2026-05-11T02:00:00Z")
    nameless = zhang.session(reported_headcount=20, starts_at="2026-05-12T02:00:00Z")
    unreported = zhang.session(starts_at="2026-05-13T02:00:00Z")
    zhang.session(kind="tv_lecture", unit_code="530102", reported_headcount=5000)
    for session in (named, padded, unreported):
        for name in ("赵大", "钱二"):
            zhang.checkin(session, zhang.farmer(name))
    lines = {line.session_id: line for line in headcounts(db, Scope(2026))}
    assert set(lines) == {named, padded, nameless, unreported}  # a TV audience is an estimate
    assert (lines[named].reported, lines[named].checked_in) == (3, 2)
    assert lines[named].verified_share == pytest.approx(0.667)
    assert not lines[named].doubtful
    assert lines[padded].doubtful and lines[padded].verified_share == 0.04
    assert lines[nameless].doubtful and lines[nameless].checked_in == 0
    assert lines[unreported].verified_share is None and not lines[unreported].doubtful
    [envoy] = headcounts_by_envoy(list(lines.values()))
    assert (envoy.envoy, envoy.sessions, envoy.reported, envoy.checked_in) == ("张三", 4, 73, 6)
    assert envoy.doubtful_sessions == 2
    assert envoy.verified_share == pytest.approx(round((2 + 2 + 0) / 73, 3))


def checkin_at(envoy: Envoy, session: str, farmer: str, at: str) -> None:
    envoy.push(
        p.ATTENDANCE,
        {"session_id": session, "farmer_id": farmer, "checked_in_at": at, "method": "qr_self"},
    )


def test_check_ins_outside_their_window_or_at_a_deleted_session_are_listed(db: Database) -> None:
    zhang = Envoy(db, "张三")
    session = zhang.session(starts_at="2026-05-10T02:00:00Z")  # 10:00 China time, no end
    early, on_time, late, far = (zhang.farmer(name) for name in ("赵大", "钱二", "孙三", "李四"))
    checkin_at(zhang, session, early, "2026-05-09T23:30:00Z")  # 150 minutes before
    checkin_at(zhang, session, on_time, "2026-05-10T03:59:00Z")  # 119 minutes after
    checkin_at(zhang, session, late, "2026-05-10T04:01:00Z")  # 121 minutes after
    gone = zhang.session(starts_at="2026-05-12T02:00:00Z")
    checkin_at(zhang, gone, far, "2026-05-12T02:10:00Z")
    zhang.update(p.SESSION, gone, {"deleted": True})
    found = {
        (line.farmer_id, line.reason, line.minutes_off) for line in checkins(db, Scope(2026), 120)
    }
    assert found == {
        (early, "outside_window", 150),
        (late, "outside_window", 121),
        (far, "deleted_session", None),
    }
    # A wider margin lets the late one through; the deleted session's stays listed.
    wider = {line.farmer_id for line in checkins(db, Scope(2026), 180)}
    assert wider == {far}


def test_devices_silent_longer_than_the_setting_are_listed(db: Database) -> None:
    zhang, wang = Envoy(db, "张三"), Envoy(db, "王五")
    db.execute(
        "UPDATE devices SET last_seen_at = ? WHERE id = ?",
        ["2026-05-01T00:00:00Z", zhang.device.id],
    )
    db.execute(
        "UPDATE devices SET last_seen_at = ? WHERE id = ?", ["2026-05-25T00:00:00Z", wang.device.id]
    )
    db.conn.commit()
    [silent] = silent_devices(db, Scope(2026), MID_2026, 14)
    assert (silent.envoy, silent.days_silent) == ("张三", 30)
    assert silent_devices(db, Scope(2026, TOWNSHIP_2), MID_2026, 14) == []
    assert len(silent_devices(db, Scope(2026), MID_2026, 5)) == 2


@pytest.fixture
def people(db_path: str, app: Flask) -> dict[str, users.User]:
    db = init_db(db_path)
    try:
        zhang = db.execute("SELECT id FROM envoys WHERE name = '张三'").fetchone()[0]
        return {
            "staff": users.add_user(db, "staff", users.STAFF, PASSWORD),
            "envoy": users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang),
        }
    finally:
        db.close()


def test_the_reconciliation_api_needs_a_reader_and_shows_an_envoy_only_their_own(
    app: Flask, db_path: str, people: dict[str, users.User]
) -> None:
    db = init_db(db_path)
    zhang, wang = Envoy(db, "张三"), Envoy(db, "王五")
    zhang.receipt(10)
    zhang.session(reported_headcount=9)
    wang.receipt(20)
    wang.handout(25, unit_code=VILLAGE_SOUTH)
    db.conn.commit()
    path = "/api/v1/reconciliation/2026"
    refused = app.test_client().get(path)
    assert refused.status_code == 401
    assert refused.get_json()["message"].startswith("需要登录")

    staff = app.test_client()
    assert sign_in(staff, "staff", PASSWORD).status_code == 302
    body = staff.get(path).get_json()
    assert {line["envoy"] for line in body["leaflets"]} == {"张三", "王五"}
    [over] = [line for line in body["leaflets"] if line["over"]]
    assert over == {
        "envoy_id": wang.envoy_id,
        "envoy": "王五",
        "title_id": LEAFLET_POTATO,
        "title": "马铃薯晚疫病防治",
        "received": 20,
        "handed_out": 25,
        "in_hand": -5,
        "over": True,
    }
    [session] = body["headcounts"]["sessions"]
    assert (session["reported"], session["checked_in"], session["doubtful"]) == (9, 0, True)
    south = staff.get(f"{path}?unit={TOWNSHIP_2}").get_json()
    assert [line["envoy"] for line in south["leaflets"]] == ["王五"]
    assert staff.get(f"{path}?unit=999999").status_code == 404

    envoy = app.test_client()
    assert sign_in(envoy, "zhang", PASSWORD).status_code == 302
    # Asking for nobody in particular gives one's own rows; for another envoy's, a refusal
    # (server/api/scope.py), never one's own rows under the other's name.
    own = envoy.get(path).get_json()
    assert own["envoy_id"] == zhang.envoy_id
    assert [line["envoy"] for line in own["leaflets"]] == ["张三"]
    assert [line["envoy"] for line in own["headcounts"]["envoys"]] == ["张三"]
    assert own["checkins"] == [] and own["devices"] == []  # devices enrolled just now
    other = envoy.get(f"{path}?envoy={wang.envoy_id}")
    assert other.status_code == 403 and other.get_json()["message"].startswith("特派员只能")
    assert envoy.get(f"{path}?unit={TOWNSHIP_2}").status_code == 403
    assert staff.get(f"{path}?margin=-1").status_code == 422
