"""The per-envoy ledger on crafted data: every line (not yet synced, merged as a duplicate
farmer, refused and why, held and for what, deleted, not yet pulled) and the identity they add
up to; a report that does not balance shows what is unexplained."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.store.db import get_state
from server.sync import apply_push
from server.sync import envoy_ledger as ledger
from server.sync.device_reports import record_report
from server.sync.held import drop_held, list_held
from shared import protocol as p
from shared.device_report import DeviceReport, KindCounts
from shared.ids import new_id
from tests.helpers import VILLAGE_EAST, results_of, sign_in
from tests.server.fieldwork import Envoy, report_db

MOBILE = "13912345678"
PASSWORD = "correct-horse"


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


def send(
    envoy: Envoy,
    kind: str,
    fields: dict[str, Any],
    record_id: str | None = None,
    base: str | None = None,
) -> dict[str, Any]:
    """Push one change as the envoy's device and return its answer, whatever it is."""
    envoy.seq += 1
    change: dict[str, Any] = {"q": envoy.seq, "k": kind, "h": envoy.stamp(), "b": base, "f": fields}
    if record_id:
        change["i"] = record_id
    [answer] = results_of(apply_push(envoy.db, envoy.device, [change]))
    return answer


def report(envoy: Envoy, cursor: int, **kinds: KindCounts) -> None:
    """Store what the envoy's device says it holds, as a sync request would."""
    sent = DeviceReport(cursor, dict(kinds))
    record_report(envoy.db, envoy.device.id, sent, sent.encode() + new_id())


def cursor_now(db: Database) -> int:
    return int(get_state(db, "seq") or 0)


def kind_of(found: ledger.EnvoyLedger, device_id: str, kind: str) -> ledger.KindLedger:
    [device] = [d for d in found.devices if d.device_id == device_id]
    [counts] = [k for k in device.kinds if k.kind == kind]
    return counts


def line(counts: ledger.KindLedger, key: str) -> ledger.LedgerLine:
    [found] = [entry for entry in counts.lines if entry.key == key]
    return found


def test_not_yet_synced_new_and_deleted_records(db: Database) -> None:
    zhang = Envoy(db, "张三")
    kept, deleted = zhang.farmer("赵大"), zhang.farmer("钱二")
    assert kept and deleted
    # The device made three more farmers and deleted one synced, none of it sent yet.
    report(zhang, cursor_now(db), farmer=KindCounts(live=4, waiting=4, new=3, gone=1))
    counts = kind_of(ledger.ledger(db, zhang.envoy_id), zhang.device.id, p.FARMER)
    assert (counts.device, counts.server) == (4, 2)
    assert line(counts, ledger.WAITING).count == 2  # three new, one gone
    assert (counts.waiting, counts.new, counts.gone) == (4, 3, 1)
    assert counts.balanced and line(counts, ledger.UNEXPLAINED).count == 0


def test_a_farmer_merged_as_a_duplicate_is_explained(db: Database) -> None:
    zhang = Envoy(db, "张三")
    first = zhang.farmer("赵大", mobile=MOBILE)
    second = zhang.farmer("赵大", mobile=MOBILE)  # same name and mobile: merged on arrival
    zhang.farmer("孙三")
    report(zhang, cursor_now(db), farmer=KindCounts(live=3))
    counts = kind_of(ledger.ledger(db, zhang.envoy_id), zhang.device.id, p.FARMER)
    assert (counts.device, counts.server) == (3, 2)  # the server counts people
    merged = line(counts, ledger.MERGED)
    assert merged.count == 1
    [record] = merged.records
    assert (record.record_id, record.shown) == (second, "赵大")
    assert record.detail and first in record.detail
    assert counts.balanced


def test_a_refused_new_record_is_explained_with_its_reason_and_a_refused_edit_listed(
    db: Database,
) -> None:
    zhang = Envoy(db, "张三")
    zhang.session()
    # A session without a title: refused, kept in the device's rejected list.
    untitled = new_id()
    answer = send(
        zhang,
        p.SESSION,
        {
            "kind": "village_training",
            "unit_code": VILLAGE_EAST,
            "starts_at": "2026-05-10T02:00:00Z",
            "lead_envoy_id": zhang.envoy_id,
        },
        untitled,
    )
    assert answer["s"] == p.REJECTED
    # An edit of a leaflet receipt (append-only): refused, the server's version taken back.
    receipt = zhang.receipt(100)
    base = db.execute("SELECT hlc FROM leaflet_receipts WHERE id = ?", [receipt]).fetchone()[0]
    edit = send(zhang, p.LEAFLET_RECEIPT, {"copies": 1000}, receipt, base)
    assert edit["s"] == p.REJECTED
    report(
        zhang,
        cursor_now(db),
        session=KindCounts(live=1, refused=1),
        leaflet_receipt=KindCounts(live=1),
    )
    found = ledger.ledger(db, zhang.envoy_id)
    sessions = kind_of(found, zhang.device.id, p.SESSION)
    assert (sessions.device, sessions.server, sessions.refused_kept) == (2, 1, 1)
    refused = line(sessions, ledger.REFUSED)
    assert refused.count == 1
    [record] = refused.records
    assert record.record_id == untitled and record.counted
    assert record.detail and record.detail.startswith(answer["r"])
    assert "title" in record.detail  # the field the refusal named
    assert sessions.balanced
    receipts = kind_of(found, zhang.device.id, p.LEAFLET_RECEIPT)
    [listed] = line(receipts, ledger.REFUSED).records
    assert (listed.record_id, listed.counted, listed.detail) == (receipt, False, edit["r"])
    assert line(receipts, ledger.REFUSED).count == 0 and receipts.balanced


def test_a_checkin_held_for_a_session_not_yet_arrived_is_explained(db: Database) -> None:
    zhang = Envoy(db, "张三")
    farmer = zhang.farmer("赵大")
    missing = new_id()
    answer = send(
        zhang,
        p.ATTENDANCE,
        {
            "session_id": missing,
            "farmer_id": farmer,
            "checked_in_at": "2026-05-10T02:15:00Z",
            "method": "roster",
        },
    )
    assert answer["s"] == p.HELD
    report(zhang, cursor_now(db), farmer=KindCounts(live=1), attendance=KindCounts(live=1))
    counts = kind_of(ledger.ledger(db, zhang.envoy_id), zhang.device.id, p.ATTENDANCE)
    assert (counts.device, counts.server) == (1, 0)
    held = line(counts, ledger.HELD)
    [record] = held.records
    assert held.count == 1 and record.counted
    assert record.detail == f"{p.SESSION} {missing}"
    assert record.shown == farmer
    assert counts.balanced
    # Dropped by the bureau: the device still holds it; now it is refused, and why.
    [row] = list_held(db)
    drop_held(db, [row["id"]])
    counts = kind_of(ledger.ledger(db, zhang.envoy_id), zhang.device.id, p.ATTENDANCE)
    assert line(counts, ledger.HELD).count == 0
    [refused] = line(counts, ledger.REFUSED).records
    assert refused.counted and refused.detail and "科技局" in refused.detail
    assert counts.balanced


def test_deleted_elsewhere_after_the_devices_pull_and_records_not_yet_pulled(
    db: Database,
) -> None:
    zhang = Envoy(db, "张三")
    kept, lost, own_delete = zhang.plot(), zhang.plot(), zhang.plot()
    base = db.execute("SELECT hlc FROM plots WHERE id = ?", [own_delete]).fetchone()[0]
    zhang.push(p.PLOT, {"deleted": True}, own_delete, base)  # deleted by this device itself
    pulled_up_to = cursor_now(db)
    # The envoy's other device deletes one of this device's plots and makes a new one.
    other = Envoy(db, "张三")
    base = db.execute("SELECT hlc FROM plots WHERE id = ?", [lost]).fetchone()[0]
    other.push(p.PLOT, {"deleted": True}, lost, base)
    newer = other.plot()
    report(zhang, pulled_up_to, plot=KindCounts(live=2))
    found = ledger.ledger(db, zhang.envoy_id)
    counts = kind_of(found, zhang.device.id, p.PLOT)
    assert (counts.device, counts.server, counts.tombstones) == (2, 2, 2)
    deleted = line(counts, ledger.DELETED)
    assert deleted.count == 1
    assert {(r.record_id, r.counted) for r in deleted.records} == {
        (lost, True),
        (own_delete, False),
    }
    not_pulled = line(counts, ledger.NOT_PULLED)
    assert not_pulled.count == -1
    assert [r.record_id for r in not_pulled.records] == [newer]
    assert counts.balanced
    assert kept
    # The other device never reported: its lines are there, with nothing to balance.
    other_counts = kind_of(found, other.device.id, p.PLOT)
    assert other_counts.device is None and other_counts.balanced


def test_a_difference_nothing_explains_is_shown_as_unexplained(db: Database) -> None:
    zhang = Envoy(db, "张三")
    session = zhang.session()
    zhang.checkin(session, zhang.farmer("赵大"))
    report(zhang, cursor_now(db), session=KindCounts(live=1), attendance=KindCounts(live=4))
    found = ledger.ledger(db, zhang.envoy_id)
    counts = kind_of(found, zhang.device.id, p.ATTENDANCE)
    assert (counts.device, counts.server, counts.unexplained) == (4, 1, 3)
    assert line(counts, ledger.UNEXPLAINED).count == 3
    assert not counts.balanced and not found.balanced
    assert kind_of(found, zhang.device.id, p.SESSION).balanced


def test_the_ledger_as_json_keeps_every_line(db: Database) -> None:
    zhang = Envoy(db, "张三")
    zhang.receipt(50)
    report(zhang, cursor_now(db), leaflet_receipt=KindCounts(live=1))
    body = ledger.as_json(ledger.ledger(db, zhang.envoy_id))
    assert body["envoy"] == "张三" and body["balanced"]
    [device] = body["devices"]
    receipts = next(k for k in device["kinds"] if k["kind"] == p.LEAFLET_RECEIPT)
    assert [entry["key"] for entry in receipts["lines"]] == [
        ledger.WAITING,
        ledger.MERGED,
        ledger.REFUSED,
        ledger.HELD,
        ledger.DELETED,
        ledger.NOT_PULLED,
        ledger.UNEXPLAINED,
    ]


def test_the_ledger_api_needs_a_reader_and_shows_an_envoy_only_their_own(
    app: Flask, db_path: str, db: Database
) -> None:
    zhang, wang = Envoy(db, "张三"), Envoy(db, "王五")
    zhang.farmer("赵大")
    report(zhang, cursor_now(db), farmer=KindCounts(live=2, waiting=1, new=1))
    staff_user = users.add_user(db, "staff", users.STAFF, PASSWORD)
    users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang.envoy_id)
    db.conn.commit()
    path = f"/api/v1/reconciliation/2026/ledger/{zhang.envoy_id}"
    assert app.test_client().get(path).status_code == 401

    staff = app.test_client()
    assert sign_in(staff, staff_user.name, PASSWORD).status_code == 302
    body = staff.get(path).get_json()
    assert (body["year"], body["envoy"], body["balanced"]) == (2026, "张三", True)
    [device] = body["devices"]
    farmers = next(k for k in device["kinds"] if k["kind"] == p.FARMER)
    assert (farmers["device"], farmers["server"], farmers["new"]) == (2, 1, 1)
    assert staff.get(f"/api/v1/reconciliation/2026/ledger/{new_id()}").status_code == 404
    assert staff.get(f"/api/v1/reconciliation/1800/ledger/{zhang.envoy_id}").status_code in (
        404,
        422,
    )

    envoy = app.test_client()
    assert sign_in(envoy, "zhang", PASSWORD).status_code == 302
    assert envoy.get(path).status_code == 200
    other = envoy.get(f"/api/v1/reconciliation/2026/ledger/{wang.envoy_id}")
    assert other.status_code == 403
    assert other.get_json()["message"].startswith("特派员只能查看自己的数据")
