"""The phone a farmer checked in from travels with the check-in: a keyed hash, never a number."""

from __future__ import annotations

import json
import re

from field_client import local, phones, qr_checkin
from field_client import operations as ops
from field_client.migrations import m005_checkin_phone_field
from field_client.push_body import changes_text as _changes
from field_client.store import FieldStore
from field_client.sync import SyncClient
from shared import protocol as p
from shared.ids import attendance_id
from shared.schemas.field import PHONE_HASH
from tests.field_client.web.conftest import new_farmer, new_session
from tests.helpers import VILLAGE_WEST


def qr_path(store: FieldStore, session_id: str) -> str:
    ticket = qr_checkin.poster(store, session_id)
    return f"/c/{ticket.code}/{ticket.token}"


def new_farmer_form(name: str, mobile: str) -> dict[str, str]:
    return {
        "action": "new",
        "name": name,
        "mobile": mobile,
        "village_code": VILLAGE_WEST,
        "gender": "female",
        "birth_year": "1970",
        "consent": "1",
    }


def pending_fields(store: FieldStore, record_id: str) -> dict[str, object]:
    [row] = store.db.execute(
        "SELECT fields FROM outbox WHERE kind = ? AND id = ? AND is_create = 1",
        [p.ATTENDANCE, record_id],
    ).fetchall()
    return dict(json.loads(row[0]))


def test_check_ins_from_one_phone_carry_its_hash_up_and_roster_ones_carry_none(
    client, store
) -> None:
    session_id = new_session(store)
    path = qr_path(store, session_id)
    mobiles = ("13900001111", "13900002222", "13900003333")
    for n, mobile in enumerate(mobiles):
        answer = client.post(path, data=new_farmer_form(f"王{n}", mobile))
        assert 'data-answer="green"' in answer.get_data(as_text=True)
    cookie = client.get_cookie("tj_phone").value
    farmers = [f for f in store.records(p.FARMER) if f["mobile"] in mobiles]
    ids = [attendance_id(session_id, f["id"]) for f in farmers]
    hashes = {store.record(p.ATTENDANCE, record_id)["phone"] for record_id in ids}
    # One phone, one hash: 16 hex digits under this device's own key, of the kept hash of the
    # cookie; neither the cookie nor the kept hash, and never any of the numbers typed.
    [phone] = hashes
    assert PHONE_HASH.fullmatch(phone)
    key = store.get(phones.PHONE_KEY)
    assert key and phone == phones.checkin_phone(key, local.phone_hash(cookie))
    assert phone not in (cookie, local.phone_hash(cookie)) and not re.search(r"1[3-9]\d{9}", phone)
    # Stamped like the rest of the check-in, and queued with its create.
    for record_id in ids:
        record = store.record(p.ATTENDANCE, record_id)
        assert record["_stamps"]["phone"] == record["hlc"]
        assert pending_fields(store, record_id)["phone"] == phone

    # A roster check-in by the envoy carries no phone: its change is the four fields it was.
    roster = ops.check_in(store, session_id, new_farmer(store, "李四", "13812345678"))
    assert "phone" not in store.record(p.ATTENDANCE, roster.id)
    assert set(pending_fields(store, roster.id)) == {
        "session_id",
        "farmer_id",
        "checked_in_at",
        "method",
    }


def test_the_phone_is_pushed_only_to_a_server_that_takes_it(client, store) -> None:
    session_id = new_session(store)
    client.post(qr_path(store, session_id), data=new_farmer_form("王五", "13900001111"))
    entries = store.pending(100)
    checkins = [entry for entry in entries if entry["kind"] == p.ATTENDANCE]
    assert len(checkins) == 1
    sent = [json.loads(text)["f"] for text in _changes(checkins)]
    held_back = [json.loads(text)["f"] for text in _changes(checkins, ("phone", "net"))]
    assert PHONE_HASH.fullmatch(sent[0]["phone"]) and PHONE_HASH.fullmatch(sent[0]["net"])
    assert held_back == [{k: v for k, v in sent[0].items() if k not in ("phone", "net")}]

    sync = SyncClient(store)
    # Not yet heard from the server since check-ins carried phones: do not send them blind.
    assert not sync._takes_phone()
    store.set(phones.SERVER_CAPABILITIES, "gzip,held,aliases,renumber")
    assert not sync._takes_phone()
    store.set(phones.SERVER_CAPABILITIES, ",".join(p.CAPABILITIES))
    assert sync._takes_phone()
    assert store.unsent_with(p.ATTENDANCE, "phone")


def test_check_ins_made_before_the_field_take_their_phone_up_when_not_yet_sent(store) -> None:
    """Migration m004: the hash kept beside a self check-in (checkin_phones) joins its create
    in the outbox if that is still unsent; one already sent is left as it is."""
    local.prepare(store)
    session_id = new_session(store)
    waiting, sent = new_farmer(store, "王五", "13900001111"), new_farmer(store, "赵六", None)
    for farmer in (waiting, sent):
        store.checkin(session_id, farmer, "qr_self")
        qr_checkin.remember_phone(store, "cookie-of-one-phone", session_id, farmer, True)
    with store.transaction() as db:
        db.execute(
            "DELETE FROM outbox WHERE kind = ? AND id = ?",
            [p.ATTENDANCE, attendance_id(session_id, sent)],
        )
        db.execute("DELETE FROM meta WHERE key = ?", [phones.PHONE_KEY])
    with store.transaction() as db:
        m005_checkin_phone_field(db)
    key = store.get(phones.PHONE_KEY)
    assert key
    phone = phones.checkin_phone(key, local.phone_hash("cookie-of-one-phone"))
    record_id = attendance_id(session_id, waiting)
    assert store.record(p.ATTENDANCE, record_id)["phone"] == phone
    assert pending_fields(store, record_id)["phone"] == phone
    assert "phone" not in store.record(p.ATTENDANCE, attendance_id(session_id, sent))
    # Run again (say, a store copied back): nothing changes twice.
    with store.transaction() as db:
        m005_checkin_phone_field(db)
    assert pending_fields(store, record_id)["phone"] == phone
