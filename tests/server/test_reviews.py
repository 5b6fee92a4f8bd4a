"""Staff reviews of field records: one present review per record, audited, pulled by server_seq."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlite_utils import Database

from server import reviews, users
from server.db import get_state, init_db
from shared import protocol as p
from shared import review_status as rs
from tests.helpers import load_demo_reference
from tests.server.fieldwork import Envoy


@pytest.fixture
def field(db_path: str) -> Iterator[dict[str, Any]]:
    load_demo_reference(db_path)
    db = init_db(db_path)
    zhang = Envoy(db, "张三")
    session = zhang.session(reported_headcount=30)
    plot = zhang.plot(area_mu=99999)
    staff = users.add_user(db, "staff", users.STAFF, "staff-password")
    envoy_user = users.add_user(db, "zhang", users.ENVOY, "envoy-password", zhang.envoy_id)
    yield {
        "db": db,
        "zhang": zhang,
        "session": session,
        "plot": plot,
        "staff": staff,
        "envoy_user": envoy_user,
    }
    db.close()


def seq(db: Database) -> int:
    return int(get_state(db, "seq") or 0)


def review_rows(db: Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM reviews"))


def audit_rows(db: Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM audit_log ORDER BY id"))


def test_a_review_is_stored_with_the_records_envoy_and_audited(field: dict[str, Any]) -> None:
    db, staff = field["db"], field["staff"]
    audits_before = len(audit_rows(db))
    review = reviews.set_review(db, staff, p.SESSION, field["session"], rs.RETURNED, " 人数不实 ")
    assert review.envoy_id == field["zhang"].envoy_id
    assert review.status == rs.RETURNED and review.note == "人数不实"
    assert review.reviewed_by == "staff"
    [row] = review_rows(db)
    assert row["record_kind"] == p.SESSION and row["record_id"] == field["session"]
    assert row["server_seq"] == seq(db)
    entries = audit_rows(db)[audits_before:]
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["action"], entry["user_id"], entry["user_name"]) == ("review", staff.id, "staff")
    assert (entry["target_kind"], entry["target_id"]) == (p.SESSION, field["session"])
    assert entry["before"] is None
    assert json.loads(entry["after"]) == {"status": rs.RETURNED, "note": "人数不实"}


def test_one_present_review_per_record_each_change_a_new_server_seq(
    field: dict[str, Any],
) -> None:
    db, staff = field["db"], field["staff"]
    first = reviews.set_review(db, staff, p.PLOT, field["plot"], rs.QUESTIONED, "面积过大")
    second = reviews.set_review(db, staff, p.PLOT, field["plot"], rs.APPROVED)
    assert second.id == first.id
    assert second.server_seq > first.server_seq
    [row] = review_rows(db)
    assert (row["status"], row["note"], row["server_seq"]) == (rs.APPROVED, None, second.server_seq)
    present = reviews.review_of(db, p.PLOT, field["plot"])
    assert present == second
    history = reviews.history_of(db, p.PLOT, field["plot"])
    assert [entry.after["status"] for entry in history] == [rs.APPROVED, rs.QUESTIONED]
    assert history[0].before == {"status": rs.QUESTIONED, "note": "面积过大"}
    assert history[1].before is None


@pytest.mark.parametrize(
    ("kind", "status", "note", "field_name"),
    [
        ("session", "maybe", None, "status"),
        ("session", rs.CORRECTED, None, "status"),
        ("session", rs.QUESTIONED, None, "note"),
        ("session", rs.RETURNED, "   ", "note"),
        ("session", rs.RETURNED, "很长" * 600, "note"),
        ("unit", rs.APPROVED, None, "record_kind"),
    ],
)
def test_bad_reviews_are_refused_naming_the_field_and_nothing_is_written(
    field: dict[str, Any], kind: str, status: str, note: str | None, field_name: str
) -> None:
    db = field["db"]
    seq_before, audits_before = seq(db), len(audit_rows(db))
    with pytest.raises(reviews.InvalidReview) as refused:
        reviews.set_review(db, field["staff"], kind, field["session"], status, note)
    assert field_name in refused.value.errors
    assert "/" in refused.value.errors[field_name], "named in Chinese and English"
    assert refused.value.status == 422
    assert review_rows(db) == []
    assert len(audit_rows(db)) == audits_before
    assert seq(db) == seq_before


def test_an_unknown_record_is_refused(field: dict[str, Any]) -> None:
    db = field["db"]
    with pytest.raises(reviews.UnknownRecord):
        reviews.set_review(db, field["staff"], p.SESSION, "no-such-session", rs.APPROVED)
    assert review_rows(db) == []


def test_an_envoy_user_may_not_review(field: dict[str, Any]) -> None:
    db = field["db"]
    with pytest.raises(reviews.ReviewNotAllowed):
        reviews.set_review(db, field["envoy_user"], p.SESSION, field["session"], rs.APPROVED)
    assert review_rows(db) == []


def test_a_deleted_record_can_still_be_reviewed(field: dict[str, Any]) -> None:
    db, zhang = field["db"], field["zhang"]
    zhang.update(p.SESSION, field["session"], {"deleted": True})
    reviews.set_review(db, field["staff"], p.SESSION, field["session"], rs.QUESTIONED, "为何删除")
    [entry] = reviews.history_of(db, p.SESSION, field["session"])
    assert entry.after["record_deleted"] is True


def test_a_returned_record_marked_corrected_bumps_seq_and_is_audited(
    field: dict[str, Any],
) -> None:
    db = field["db"]
    returned = reviews.set_review(
        db, field["staff"], p.PLOT, field["plot"], rs.RETURNED, "核实面积"
    )
    db.execute("BEGIN IMMEDIATE")
    assert reviews.mark_corrected(db, p.PLOT, field["plot"], "device:phone")
    db.execute("COMMIT")
    present = reviews.review_of(db, p.PLOT, field["plot"])
    assert present is not None and present.status == rs.CORRECTED
    assert present.server_seq > returned.server_seq
    assert present.note == "核实面积"
    history = reviews.history_of(db, p.PLOT, field["plot"])
    assert history[0].action == "review.corrected" and history[0].user_name == "device:phone"
    # Only a returned record becomes corrected.
    db.execute("BEGIN IMMEDIATE")
    assert not reviews.mark_corrected(db, p.PLOT, field["plot"], "device:phone")
    assert not reviews.mark_corrected(db, p.SESSION, field["session"], "device:phone")
    db.execute("COMMIT")
