"""Reconciliation's shared_phone reason: one phone checking many farmers in at one session."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlite_utils import Database

from server import create_app
from server.accounts import users
from server.farmers.matching import merge_farmers
from server.figures.counted import Scope
from server.quality.reconciliation import checkin_page, checkins
from server.quality.shared_phones import shared_phone_sql
from server.settings import BY_NAME
from server.store.db import init_db
from server.web.reconciliation import REASON_WORDS
from shared import protocol as p
from tests.helpers import load_demo_reference, sign_in
from tests.server.fieldwork import Envoy, report_db

FAMILY = "00112233445566aa"
NEIGHBOUR = "00112233445566bb"
STALL = "00112233445566cc"


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


def checkin(envoy: Envoy, session: str, farmer: str, phone: str | None) -> None:
    fields = {
        "session_id": session,
        "farmer_id": farmer,
        "checked_in_at": "2026-05-10T02:15:00Z",
        "method": "qr_self" if phone else "roster",
    }
    if phone:
        fields["phone"] = phone
    envoy.push(p.ATTENDANCE, fields)


def crafted(db: Database) -> dict[str, object]:
    """A session where one phone checked in three farmers, another two, and a third checked in
    three records of which two are one farmer merged; a second session where the first phone
    checked in one."""
    zhang = Envoy(db, "张三")
    session = zhang.session(starts_at="2026-05-10T02:00:00Z")
    other = zhang.session(starts_at="2026-05-20T02:00:00Z")
    farmers = [zhang.farmer(f"农户{n}") for n in range(9)]
    for farmer in farmers[:3]:
        checkin(zhang, session, farmer, FAMILY)
    for farmer in farmers[3:5]:
        checkin(zhang, session, farmer, NEIGHBOUR)
    for farmer in farmers[5:8]:
        checkin(zhang, session, farmer, STALL)
    checkin(zhang, session, farmers[8], None)  # a roster check-in: no phone
    checkin(zhang, other, farmers[0], FAMILY)
    merge_farmers(db, farmers[7], farmers[6])
    db.conn.commit()
    return {"session": session, "other": other, "farmers": farmers}


def shared(db: Database, farmers: int | None = None) -> set[tuple[str, str, int]]:
    return {
        (line.farmer_id, line.phone or "", line.phone_farmers or 0)
        for line in checkins(db, Scope(2026), 120, farmers)
        if line.reason == "shared_phone"
    }


def test_a_phone_with_n_distinct_farmers_at_a_session_is_listed_not_one_with_n_minus_1(
    db: Database,
) -> None:
    made = crafted(db)
    farmers = made["farmers"]
    assert isinstance(farmers, list)
    # Default 3: the family's phone (3 farmers) is listed with its count, on each check-in;
    # the neighbour's (2) is not; the stall's three records are two farmers once merged; the
    # family phone's single check-in at the other session is not listed.
    assert shared(db) == {(farmer, FAMILY, 3) for farmer in farmers[:3]}
    lines = [line for line in checkins(db, Scope(2026), 120) if line.reason == "shared_phone"]
    assert {line.session_id for line in lines} == {made["session"]}
    assert all(line.minutes_off is None and line.session for line in lines)
    # Listed, never refused: the figures keep every check-in.
    count = db.execute("SELECT count(*) FROM attendances WHERE deleted = 0").fetchone()[0]
    assert count == 10


def test_a_page_of_check_ins_runs_on_from_those_outside_their_window_to_shared_phones(
    db: Database,
) -> None:
    # The family phone's check-in at the other session was made ten days before it started.
    crafted(db)
    every = checkins(db, Scope(2026), 120)
    assert [line.reason for line in every] == ["outside_window", *["shared_phone"] * 3]
    pages = [checkin_page(db, Scope(2026), 120, None, 2, offset) for offset in (0, 2, 4)]
    assert [page.lines for page in pages] == [every[:2], every[2:], []]
    assert {(page.total, page.shared_phones) for page in pages} == {(4, True)}
    # None outside its window in 2025, nor a shared phone: an empty first page.
    empty = checkin_page(db, Scope(2025), 120, None, 2, 0)
    assert (empty.lines, empty.total, empty.shared_phones) == ([], 0, False)


def test_the_setting_decides_how_many_farmers_make_a_shared_phone(db: Database) -> None:
    farmers = crafted(db)["farmers"]
    assert isinstance(farmers, list)
    assert BY_NAME["CHECKIN_SHARED_PHONE_FARMERS"].default == 3
    two = shared(db, 2)
    assert {(farmer, NEIGHBOUR, 2) for farmer in farmers[3:5]} <= two
    assert {(farmer, STALL, 2) for farmer in farmers[5:8]} <= two
    assert len(two) == 3 + 2 + 3
    assert shared(db, 4) == set()


def test_the_api_lists_shared_phones_by_the_setting_from_the_environment(
    db_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_demo_reference(db_path)
    db = init_db(db_path)
    crafted(db)
    users.add_user(db, "staff", users.STAFF, "correct-horse")
    db.conn.commit()
    db.close()

    def listed(app: Flask) -> dict[str, int]:
        client = app.test_client()
        assert sign_in(client, "staff", "correct-horse").status_code == 302
        body = client.get("/api/v1/reconciliation/2026").get_json()
        found: dict[str, int] = {}
        for line in body["checkins"]:
            if line["reason"] == "shared_phone":
                found[line["phone"]] = line["phone_farmers"]
        return found

    assert listed(create_app({"DATABASE": db_path, "TESTING": True})) == {FAMILY: 3}
    monkeypatch.setenv("TIANJIAN_CHECKIN_SHARED_PHONE_FARMERS", "2")
    assert listed(create_app({"DATABASE": db_path, "TESTING": True})) == {
        FAMILY: 3,
        NEIGHBOUR: 2,
        STALL: 2,
    }


def test_the_reason_has_a_chinese_first_label_and_is_described_in_the_api(db_path: str) -> None:
    assert REASON_WORDS["shared_phone"] == ("多人同一手机", "many farmers from one phone")
    app = create_app({"DATABASE": db_path, "TESTING": True})
    spec = app.test_client().get("/api/openapi.json").get_json()
    line = spec["components"]["schemas"]["CheckinLine"]["properties"]
    assert "shared_phone" in line["reason"]["description"]
    assert "多人同一手机" in line["reason"]["description"]


def test_the_query_reads_only_check_ins_a_phone_made_through_the_index(tmp_path: Path) -> None:
    # SQLite's plan, on a SQLite file whichever engine the other tests use (PostgreSQL plans
    # for itself from its statistics).
    for db in report_db(str(tmp_path / "plan.db")):
        crafted(db)
        db.execute("ANALYZE")
        scope = Scope(2026)
        params = {**scope.params(), "min_farmers": 3}
        plan = " ".join(
            row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {shared_phone_sql(scope)}", params)
        )
        assert "idx_attendances_session_phone" in plan, plan


def test_the_reconciliation_page_lists_them_with_their_label_and_count(
    app: Flask, db_path: str
) -> None:
    db = init_db(db_path)
    farmers = crafted(db)["farmers"]
    assert isinstance(farmers, list)
    users.add_user(db, "staff", users.STAFF, "correct-horse")
    db.conn.commit()
    db.close()
    client = app.test_client()
    assert sign_in(client, "staff", "correct-horse").status_code == 302
    page = client.get("/reconciliation/?year=2026")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    rows = [row for row in re.findall(r"<tr[^>]*>(.*?)</tr>", text, re.S) if "多人同一手机" in row]
    assert len(rows) == 3  # the family phone's three check-ins, each with the count
    assert all(re.search(r">\s*3\s*<", row) for row in rows)
    assert "同一手机签到农户数" in text
