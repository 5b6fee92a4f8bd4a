"""Reviews on the sync wire: a record's review flows down only to its envoy's devices, as
{id, record_kind, record_id, status, note, reviewed_at}, and again each time it changes; a
returned record the envoy's device edits or corrects comes back 已更正待复核, audited."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient

from server.quality.reviews import Review, set_review
from server.store.db import init_db
from shared import protocol as p
from shared import review_status as rs
from shared.ids import new_id
from tests.helpers import LEAFLET_POTATO
from tests.server.test_api import Device, farmer_fields, row, session_fields

NOTE = "人数与签到不符，请核实 / headcount does not match the check-ins"


def put_review(db_path: str, kind: str, record_id: str, status: str, note: str | None) -> Review:
    """Staff's review of a record, set as the review page sets it."""
    db = init_db(db_path)
    try:
        return set_review(db, "科员甲", kind, record_id, status, note)
    finally:
        db.close()


def reviews_in(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["r"] for r in records if r["k"] == p.REVIEW]


def test_a_returned_review_reaches_only_its_envoys_devices(
    client: FlaskClient, db_path: str
) -> None:
    zhang = Device(client, db_path, "张三")
    zhang_tablet = Device(client, db_path, "张三")
    li = Device(client, db_path, "李梅")  # same township as 张三: pulls his records
    session_id = new_id()
    zhang.push([zhang.change(p.SESSION, session_fields(zhang.envoy_id), session_id)])
    review = put_review(db_path, p.SESSION, session_id, rs.RETURNED, NOTE)

    expected = {
        "id": review.id,
        "record_kind": p.SESSION,
        "record_id": session_id,
        "status": rs.RETURNED,
        "note": NOTE,
        "reviewed_at": review.reviewed_at,
    }
    # Both of the envoy's devices get it, without the reviewer's name.
    assert reviews_in(zhang.pull_all()) == [expected]
    assert reviews_in(zhang_tablet.pull_all(limit=1)) == [expected]
    # Another envoy's device holds the session itself but never its review.
    pulled = li.pull_all()
    assert (p.SESSION, session_id) in {(r["k"], r["r"].get("id")) for r in pulled}
    assert reviews_in(pulled) == []


def test_a_changed_review_comes_down_again_after_the_cursor(
    client: FlaskClient, db_path: str
) -> None:
    zhang = Device(client, db_path, "张三")
    farmer_id = new_id()
    zhang.push([zhang.change(p.FARMER, farmer_fields("赵大"), farmer_id)])
    put_review(db_path, p.FARMER, farmer_id, rs.QUESTIONED, "出生年份存疑 / birth year doubtful")
    first = zhang.pull(0)
    assert [r["status"] for r in reviews_in(first["records"])] == [rs.QUESTIONED]
    # Nothing new: the same review is not sent twice.
    assert reviews_in(zhang.pull(first["cursor"])["records"]) == []
    put_review(db_path, p.FARMER, farmer_id, rs.APPROVED, None)
    later = zhang.pull(first["cursor"])
    assert [(r["status"], r["note"]) for r in reviews_in(later["records"])] == [(rs.APPROVED, None)]


def test_a_device_cannot_push_a_review(client: FlaskClient, db_path: str) -> None:
    zhang = Device(client, db_path, "张三")
    session_id = new_id()
    zhang.push([zhang.change(p.SESSION, session_fields(zhang.envoy_id), session_id)])
    review = {"record_kind": p.SESSION, "record_id": session_id, "status": rs.APPROVED}
    response = client.post(
        "/api/v1/sync/push",
        json={"changes": [zhang.change(p.REVIEW, review, new_id())]},
        headers=zhang.headers,
    )
    # Refused as a change (like reference data), not as a malformed batch.
    assert response.status_code == 200
    [answer] = response.get_json()["answers"]
    assert answer["s"] == p.REJECTED and "flows down only" in answer["r"]
    db = init_db(db_path)
    try:
        assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
    finally:
        db.close()


def stored_review(db_path: str, kind: str, record_id: str) -> dict[str, Any]:
    db = init_db(db_path)
    try:
        return next(
            iter(
                db.query(
                    "SELECT status, note, server_seq FROM reviews "
                    "WHERE record_kind = ? AND record_id = ?",
                    [kind, record_id],
                )
            )
        )
    finally:
        db.close()


def audit_rows(db_path: str, action: str) -> list[dict[str, Any]]:
    db = init_db(db_path)
    try:
        return list(db.query("SELECT * FROM audit_log WHERE action = ? ORDER BY id", [action]))
    finally:
        db.close()


def record_seq(db_path: str, table: str, record_id: str) -> int:
    db = init_db(db_path)
    try:
        return int(
            db.execute(f"SELECT server_seq FROM [{table}] WHERE id = ?", [record_id]).fetchone()[0]
        )
    finally:
        db.close()


def test_the_envoys_edit_of_a_returned_session_comes_back_corrected(
    client: FlaskClient, db_path: str
) -> None:
    zhang = Device(client, db_path, "张三")
    session_id = new_id()
    create = zhang.change(p.SESSION, session_fields(zhang.envoy_id), session_id)
    zhang.push([create])
    returned = put_review(db_path, p.SESSION, session_id, rs.RETURNED, NOTE)
    cursor = zhang.pull(0)["cursor"]

    zhang.push([zhang.change(p.SESSION, {"reported_headcount": 3}, session_id, base=create["h"])])
    assert (row(db_path, "sessions", session_id) or {})["reported_headcount"] == 3
    review = stored_review(db_path, p.SESSION, session_id)
    assert review["status"] == rs.CORRECTED and review["note"] == NOTE
    # A new sequence, after the edit's: the device meets the edit, then the review.
    assert review["server_seq"] > record_seq(db_path, "sessions", session_id) > returned.server_seq
    [logged] = audit_rows(db_path, "review.corrected")
    assert logged["user_name"] == "特派员设备 测试手机"
    assert (logged["target_kind"], logged["target_id"]) == (p.SESSION, session_id)
    assert json.loads(logged["before"])["status"] == rs.RETURNED
    assert json.loads(logged["after"])["status"] == rs.CORRECTED
    # The envoy's devices learn it with their next pull.
    later = reviews_in(zhang.pull(cursor)["records"])
    assert [(r["record_id"], r["status"]) for r in later] == [(session_id, rs.CORRECTED)]

    # Edited again: it stays corrected, and nothing more is logged.
    zhang.push([zhang.change(p.SESSION, {"reported_headcount": 4}, session_id)])
    assert stored_review(db_path, p.SESSION, session_id)["status"] == rs.CORRECTED
    assert len(audit_rows(db_path, "review.corrected")) == 1


def test_a_correction_event_naming_a_returned_receipt_marks_it_corrected(
    client: FlaskClient, db_path: str
) -> None:
    zhang = Device(client, db_path, "张三")
    receipt, other = new_id(), new_id()
    fields = {"leaflet_title_id": LEAFLET_POTATO, "copies": 500, "received_on": "2026-05-01"}
    zhang.push(
        [
            zhang.change(p.LEAFLET_RECEIPT, fields, receipt),
            zhang.change(p.LEAFLET_RECEIPT, {**fields, "copies": 30}, other),
        ]
    )
    put_review(db_path, p.LEAFLET_RECEIPT, receipt, rs.RETURNED, "份数多写了一个零")
    put_review(db_path, p.LEAFLET_RECEIPT, other, rs.RETURNED, "请核实")
    correction = {**fields, "copies": -450, "correction_of": receipt}
    answer = zhang.push([zhang.change(p.LEAFLET_RECEIPT, correction, new_id())])
    assert answer["answers"] == []
    assert stored_review(db_path, p.LEAFLET_RECEIPT, receipt)["status"] == rs.CORRECTED
    # Only the event it names.
    assert stored_review(db_path, p.LEAFLET_RECEIPT, other)["status"] == rs.RETURNED


def test_only_the_records_envoy_corrects_and_only_a_returned_record(
    client: FlaskClient, db_path: str
) -> None:
    zhang = Device(client, db_path, "张三")
    wang = Device(client, db_path, "王五")
    co_run, farmer_id = new_id(), new_id()
    zhang.push(
        [
            zhang.change(
                p.SESSION,
                {**session_fields(zhang.envoy_id), "co_envoy_ids": [wang.envoy_id]},
                co_run,
            ),
            zhang.change(p.FARMER, farmer_fields("赵大"), farmer_id),
        ]
    )
    put_review(db_path, p.SESSION, co_run, rs.RETURNED, NOTE)
    put_review(db_path, p.FARMER, farmer_id, rs.QUESTIONED, "出生年份存疑")
    # The co-envoy may edit the session, but it is not theirs to correct.
    wang.push([wang.change(p.SESSION, {"reported_headcount": 9}, co_run)])
    assert (row(db_path, "sessions", co_run) or {})["reported_headcount"] == 9
    assert stored_review(db_path, p.SESSION, co_run)["status"] == rs.RETURNED
    # A push of other records leaves it returned; an edit of a questioned record leaves that.
    zhang.push(
        [
            zhang.change(p.FARMER, farmer_fields("钱二"), new_id()),
            zhang.change(p.FARMER, {"birth_year": 1960}, farmer_id),
        ]
    )
    assert stored_review(db_path, p.SESSION, co_run)["status"] == rs.RETURNED
    assert stored_review(db_path, p.FARMER, farmer_id)["status"] == rs.QUESTIONED
    assert audit_rows(db_path, "review.corrected") == []
