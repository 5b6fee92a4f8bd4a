"""Check-ins made on the server from the phone app's QR: within the held limits of the QR's own
device, numbered apart from the phone's changes, and stored once when two requests race."""

from __future__ import annotations

import threading

import pytest
from flask import Flask

from server.store.db import init_db
from server.sync import qr_checkin
from server.sync.batch import HeldLimits
from shared.checkin_rules import ForgedToken
from shared.clock import parse_iso
from shared.ids import new_id
from tests.helpers import VILLAGE_EAST
from tests.server.qr_phone import Phone, push_session, session_now


def ticket(phone: Phone, session: dict[str, object], db_path: str) -> qr_checkin.QrTicket:
    path = phone.qr_path(session).split("/")
    db = init_db(db_path)
    try:
        times = (int(path[4]), int(path[5]), int(path[6]))
        return qr_checkin.open_ticket(db, path[2], path[3], times, path[7])
    finally:
        db.close()


def farmer(name: str, mobile: str) -> dict[str, object]:
    return {"name": name, "village_code": VILLAGE_EAST, "mobile": mobile}


def test_held_check_ins_past_the_limit_are_refused_and_nothing_is_written(
    app: Flask, db_path: str
) -> None:
    phone = Phone(app.test_client(), db_path)
    qr = ticket(phone, session_now(phone.envoy_id), db_path)
    db = init_db(db_path)
    try:
        limits = HeldLimits(changes=1, bytes=1_000_000)
        first = qr_checkin.check_in(db, qr, None, farmer("甲", "13900000001"), "a" * 32, "", limits)
        assert first.new
        with pytest.raises(qr_checkin.HeldFull) as refused:
            qr_checkin.check_in(db, qr, None, farmer("乙", "13900000002"), "b" * 32, "", limits)
        assert "特派员" in refused.value.message and "envoy" in refused.value.message
        # Nothing of the refused one was written: no farmer left registered and unchecked-in.
        names = [row[0] for row in db.execute("SELECT name FROM farmers").fetchall()]
        assert names == ["甲"]
        # The QR's changes are numbered apart from the phone's, which still syncs as before.
        rows = db.execute("SELECT DISTINCT device_id FROM device_change_runs").fetchall()
        assert [row[0] for row in rows] == [qr_checkin.qr_device_id(phone.device_id)]
    finally:
        db.close()
    session = session_now(phone.envoy_id)
    assert {a["s"] for a in push_session(phone, session)} == {"applied"}


def test_two_requests_at_once_both_check_in_and_one_farmer_twice_counts_once(
    app: Flask, db_path: str
) -> None:
    phone = Phone(app.test_client(), db_path)
    session = session_now(phone.envoy_id)
    push_session(phone, session)
    qr = ticket(phone, session, db_path)
    done: list[object] = []

    def register(n: int) -> None:
        db = init_db(db_path)
        try:
            values = farmer(f"农户{n}", f"1390000{n:04d}")
            done.append(qr_checkin.check_in(db, qr, None, values, f"{n:032d}", "10.0.0.1"))
        finally:
            db.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(done) == 4
    db = init_db(db_path)
    try:
        assert db.execute("SELECT count(*) FROM attendances").fetchone()[0] == 4
        one = db.execute("SELECT farmer_id FROM attendances LIMIT 1").fetchone()[0]
        again = qr_checkin.check_in(db, qr, one, None, "x" * 32, "10.0.0.1")
        assert not again.new and parse_iso(again.checked_in_at)
        assert db.execute("SELECT count(*) FROM attendances").fetchone()[0] == 4
    finally:
        db.close()


def test_a_qr_naming_no_uuid_or_impossible_times_is_forged(app: Flask, db_path: str) -> None:
    phone = Phone(app.test_client(), db_path)
    db = init_db(db_path)
    try:
        for session_id, times in (
            ("not-a-uuid", (1_800_000_000, 0, 60)),
            (new_id(), (0, 0, 60)),
            (new_id(), (1_800_000_000, 1_700_000_000, 60)),
            (new_id(), (1_800_000_000, 0, 100_000)),
        ):
            with pytest.raises(ForgedToken):
                qr_checkin.open_ticket(db, phone.device_id, session_id, times, "23456789AB")
    finally:
        db.close()
