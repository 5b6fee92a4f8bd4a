"""Reviews on the sync wire: a record's review flows down only to its envoy's devices, as
{id, record_kind, record_id, status, note, reviewed_at}, and again each time it changes."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from server.db import init_db, next_server_seq, write_transaction
from shared import protocol as p
from shared import review_status as rs
from shared.ids import new_id
from tests.server.test_api import Device, farmer_fields, session_fields

NOTE = "人数与签到不符，请核实 / headcount does not match the check-ins"


def put_review(db_path: str, kind: str, record_id: str, status: str, note: str | None) -> str:
    """Staff's review of a record as the server stores it (its envoy read from the record)."""
    db = init_db(db_path)
    try:
        with write_transaction(db):
            envoy_id = db.execute(
                f"SELECT envoy_id FROM [{p.TABLES[kind]}] WHERE id = ?", [record_id]
            ).fetchone()[0]
            found = db.execute(
                "SELECT id FROM reviews WHERE record_kind = ? AND record_id = ?", [kind, record_id]
            ).fetchone()
            review_id = found[0] if found else new_id()
            db.execute(
                "INSERT OR REPLACE INTO reviews (id, record_kind, record_id, envoy_id, status, "
                "note, reviewed_by, reviewed_at, server_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    review_id,
                    kind,
                    record_id,
                    envoy_id,
                    status,
                    note,
                    "科员甲",
                    "2026-05-11T02:00:00Z",
                    next_server_seq(db),
                ],
            )
    finally:
        db.close()
    return review_id


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
    review_id = put_review(db_path, p.SESSION, session_id, rs.RETURNED, NOTE)

    expected = {
        "id": review_id,
        "record_kind": p.SESSION,
        "record_id": session_id,
        "status": rs.RETURNED,
        "note": NOTE,
        "reviewed_at": "2026-05-11T02:00:00Z",
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
