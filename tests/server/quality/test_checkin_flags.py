"""Flags on farmers' own check-ins that need no cookie (issue 18.3), on crafted data pushed
through the sync engine: many farmers from one address, bursts faster than a queue, sessions
whose farmers were never seen elsewhere. Each rule flags what it should and leaves ordinary
sessions alone; the settings decide."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.figures.counted import Scope
from server.quality.checkin_flags import (
    CHECKIN_BURST,
    ONE_TIME_FARMERS,
    SHARED_ADDRESS,
    CheckinRules,
)
from server.quality.flags import FlagRules, flags
from server.settings import BY_NAME
from server.store.db import init_db
from shared import protocol as p
from tests.helpers import sign_in
from tests.server.fieldwork import MID_2026, Envoy, report_db

RULES = FlagRules()
NET_A, NET_B = "a" * 16, "b" * 16


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


def self_checkin(envoy: Envoy, session_id: str, farmer_id: str, at: str, net: str | None) -> None:
    fields = {
        "session_id": session_id,
        "farmer_id": farmer_id,
        "checked_in_at": at,
        "method": "qr_self",
        "phone": "0123456789abcdef",
    }
    if net:
        fields["net"] = net
    envoy.push(p.ATTENDANCE, fields)


def moment(minute: int, second: int = 0) -> str:
    return f"2026-05-10T02:{minute:02d}:{second:02d}Z"


def flagged(db: Database, kind: str, rules: FlagRules = RULES) -> dict[str, float | None]:
    return {
        f.record_id: f.value
        for f in flags(db, Scope(2026), MID_2026, rules)
        if f.kind == kind and f.record_kind == p.SESSION
    }


def test_the_thresholds_are_settings() -> None:
    assert BY_NAME["CHECKIN_SHARED_ADDRESS_FARMERS"].default == 6
    assert BY_NAME["CHECKIN_BURST_CHECKINS"].default == 30
    assert BY_NAME["CHECKIN_BURST_SECONDS"].default == 60
    assert BY_NAME["CHECKIN_ONE_TIME_SHARE"].default == 0.8
    assert BY_NAME["CHECKIN_ONE_TIME_MIN_FARMERS"].default == 10
    assert BY_NAME["CHECKIN_ONE_TIME_AFTER_DAYS"].default == 90


def test_many_farmers_from_one_address_flag_the_session(db: Database) -> None:
    zhang = Envoy(db, "张三")
    crowded, family = zhang.session(), zhang.session()
    for n in range(7):  # seven farmers, each a new cookie, one address
        self_checkin(zhang, crowded, zhang.farmer(f"甲{n}"), moment(n * 3), NET_A)
    for n in range(3):  # a family of three on one phone: usual
        self_checkin(zhang, family, zhang.farmer(f"乙{n}"), moment(n * 3), NET_B)
    assert flagged(db, SHARED_ADDRESS) == {crowded: 7}
    stricter = replace(RULES, checkin=replace(RULES.checkin, address_farmers=3))
    assert flagged(db, SHARED_ADDRESS, stricter) == {crowded: 7, family: 3}
    [flag] = [f for f in flags(db, Scope(2026), MID_2026, RULES) if f.kind == SHARED_ADDRESS]
    assert flag.reason.startswith("同一网络地址为 7 位农户自助签到")
    assert flag.envoy == "张三" and flag.review is None


def test_check_ins_faster_than_a_queue_flag_the_session(db: Database) -> None:
    zhang = Envoy(db, "张三")
    rushed, queued = zhang.session(), zhang.session()
    rules = replace(RULES, checkin=CheckinRules(burst_checkins=10, burst_seconds=60))
    for n in range(12):  # twelve in 24 seconds, each from its own address
        self_checkin(zhang, rushed, zhang.farmer(f"丙{n}"), moment(0, n * 2), f"{n:016x}")
    for n in range(12):  # twelve over twelve minutes
        self_checkin(zhang, queued, zhang.farmer(f"丁{n}"), moment(n), f"{n + 100:016x}")
    assert flagged(db, CHECKIN_BURST, rules) == {rushed: 12}
    assert not flagged(db, CHECKIN_BURST)  # 30 a minute by default
    # Roster check-ins made by the envoy are not farmers' own: never a burst.
    roster = zhang.session()
    for n in range(12):
        zhang.push(
            p.ATTENDANCE,
            {
                "session_id": roster,
                "farmer_id": zhang.farmer(f"戊{n}"),
                "checked_in_at": moment(0, n),
                "method": "roster",
            },
        )
    assert roster not in flagged(db, CHECKIN_BURST, rules)


def test_a_session_of_farmers_never_seen_again_is_flagged_once_old_enough(db: Database) -> None:
    zhang = Envoy(db, "张三")
    regulars = [zhang.farmer(f"常{n}") for n in range(10)]
    first, second = zhang.session(), zhang.session(starts_at="2026-05-20T02:00:00Z")
    for farmer_id in regulars:
        zhang.checkin(first, farmer_id)
        zhang.checkin(second, farmer_id)
    ghosts = zhang.session()
    for n in range(10):
        self_checkin(zhang, ghosts, zhang.farmer(f"鬼{n}"), moment(n), None)
    # 1 June is too soon after 10 May to say "never seen again" (90 days by default).
    assert not flagged(db, ONE_TIME_FARMERS)
    later = replace(RULES, checkin=replace(RULES.checkin, one_time_after_days=7))
    assert flagged(db, ONE_TIME_FARMERS, later) == {ghosts: 10}
    # Eight of ten one-time farmers still flag it; seven do not (share 0.8).
    zhang.checkin(first, _farmer_of(db, ghosts, "鬼0"))
    zhang.checkin(first, _farmer_of(db, ghosts, "鬼1"))
    assert flagged(db, ONE_TIME_FARMERS, later) == {ghosts: 8}
    zhang.checkin(second, _farmer_of(db, ghosts, "鬼2"))
    assert not flagged(db, ONE_TIME_FARMERS, later)
    # Ten one-time farmers the envoy checked in by roster: not farmers' own, never judged.
    rostered = zhang.session()
    for n in range(10):
        zhang.checkin(rostered, zhang.farmer(f"名单{n}"))
    assert rostered not in flagged(db, ONE_TIME_FARMERS, later)


def _farmer_of(db: Database, session_id: str, name: str) -> str:
    row = db.execute(
        "SELECT f.id FROM farmers f JOIN attendances a ON a.farmer_id = f.id "
        "WHERE a.session_id = ? AND f.name = ?",
        [session_id, name],
    ).fetchone()
    return str(row[0])


def test_a_deleted_session_is_not_flagged(db: Database) -> None:
    zhang = Envoy(db, "张三")
    crowded = zhang.session()
    for n in range(7):
        self_checkin(zhang, crowded, zhang.farmer(f"甲{n}"), moment(n), NET_A)
    zhang.update(p.SESSION, crowded, {"deleted": True})
    assert not flagged(db, SHARED_ADDRESS)


def test_the_flags_page_lists_the_session_in_chinese(app: Flask, db_path: str) -> None:
    db = init_db(db_path)
    zhang = Envoy(db, "张三")
    crowded = zhang.session()
    for n in range(7):
        self_checkin(zhang, crowded, zhang.farmer(f"甲{n}"), moment(n), NET_A)
    users.add_user(db, "staff", users.STAFF, "correct-horse")
    db.conn.commit()
    db.close()
    client = app.test_client()
    assert sign_in(client, "staff", "correct-horse").status_code == 302
    page = client.get(f"/flags?year=2026&kind={SHARED_ADDRESS}").get_data(as_text=True)
    assert "同一地址多人签到" in page and "同一网络地址为 7 位农户自助签到" in page
    assert f"/review/session/{crowded}" in page
