"""Staff reviews of field records: one present review per record, audited, pulled by server_seq."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlite_utils import Database

from server.accounts import users
from server.quality import reviews
from server.store.db import get_state, init_db
from shared import protocol as p
from shared import review_status as rs
from tests.helpers import csrf_token, load_demo_reference, sign_in
from tests.server.fieldwork import Envoy

MOBILE = "13912345678"


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


# ------------------------------------------------------------------------------- the page

PAGE_PASSWORDS = {"staff": "staff-password", "zhang": "envoy-password", "admin": "admin-password"}


@pytest.fixture
def pages(app: Flask, field: dict[str, Any]) -> dict[str, Any]:
    db = field["db"]
    users.add_user(db, "admin", users.ADMIN, PAGE_PASSWORDS["admin"])
    li = Envoy(db, "李梅")
    users.add_user(db, "li", users.ENVOY, "envoy-password", li.envoy_id)
    farmer = field["zhang"].farmer("赵大", mobile=MOBILE)
    return {**field, "app": app, "farmer": farmer, "li": li}


def client_of(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    password = PAGE_PASSWORDS.get(name, "envoy-password")
    assert sign_in(client, name, password).status_code == 302
    return client


def test_staff_return_a_session_on_its_page(pages: dict[str, Any]) -> None:
    db, session = pages["db"], pages["session"]
    staff = client_of(pages["app"], "staff")
    path = f"/review/session/{session}"
    shown = staff.get(path).get_data(as_text=True)
    assert "尚未审核" in shown and "张三" in shown and 'name="status"' in shown
    done = staff.post(
        path,
        data={"csrf_token": csrf_token(staff, path), "status": rs.RETURNED, "note": "人数不实"},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(path)
    [row] = review_rows(db)
    assert (row["status"], row["note"], row["reviewed_by"]) == (rs.RETURNED, "人数不实", "staff")
    after = staff.get(path).get_data(as_text=True)
    assert "已保存审核：退回" in after and "人数不实" in after and 'id="review-history"' in after
    # The session page links here.
    session_page = staff.get(f"/records/session/{session}").get_data(as_text=True)
    assert f'href="{path}"' in session_page


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({"status": rs.QUESTIONED, "note": "  "}, "须写明原因"),
        ({"status": "deleted"}, "审核结果须为"),
        ({}, "审核结果须为"),
        ({"status": rs.CORRECTED}, "审核结果须为"),
    ],
)
def test_bad_review_forms_are_refused_on_the_page_with_nothing_written(
    pages: dict[str, Any], form: dict[str, str], named: str
) -> None:
    db = pages["db"]
    staff = client_of(pages["app"], "staff")
    path = f"/review/plot/{pages['plot']}"
    seq_before, audits_before = seq(db), len(audit_rows(db))
    refused = staff.post(path, data={"csrf_token": csrf_token(staff, path), **form})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="review-error"' in page and named in page
    assert "审核结果" in page or "说明" in page
    assert review_rows(db) == [] and len(audit_rows(db)) == audits_before
    assert seq(db) == seq_before


def test_an_envoy_user_reads_their_own_reviews_but_never_writes(pages: dict[str, Any]) -> None:
    db, session = pages["db"], pages["session"]
    reviews.set_review(db, pages["staff"], p.SESSION, session, rs.QUESTIONED, "请补签到")
    zhang = client_of(pages["app"], "zhang")
    path = f"/review/session/{session}"
    own = zhang.get(path)
    assert own.status_code == 200
    page = own.get_data(as_text=True)
    assert "请补签到" in page and 'name="status"' not in page
    token = csrf_token(zhang, path)
    refused = zhang.post(path, data={"csrf_token": token, "status": rs.APPROVED})
    assert refused.status_code == 403
    assert [row["status"] for row in review_rows(db)] == [rs.QUESTIONED]
    # Another envoy's user may not even read it.
    li = client_of(pages["app"], "li")
    assert li.get(path).status_code == 403


def test_the_review_form_needs_its_csrf_token_and_a_signed_in_user(
    pages: dict[str, Any],
) -> None:
    db, session = pages["db"], pages["session"]
    path = f"/review/session/{session}"
    staff = client_of(pages["app"], "staff")
    assert staff.post(path, data={"status": rs.APPROVED}).status_code == 400
    forged = staff.post(path, data={"status": rs.APPROVED, "csrf_token": "forged"})
    assert forged.status_code == 400
    anonymous = pages["app"].test_client()
    assert anonymous.get(path).status_code == 302
    assert review_rows(db) == []


def test_mobiles_are_masked_on_the_review_page_except_for_admins(pages: dict[str, Any]) -> None:
    path = f"/review/farmer/{pages['farmer']}"
    staff_page = client_of(pages["app"], "staff").get(path).get_data(as_text=True)
    assert MOBILE not in staff_page and "139****5678" in staff_page and "赵大" in staff_page
    admin_page = client_of(pages["app"], "admin").get(path).get_data(as_text=True)
    assert MOBILE in admin_page


def test_an_unknown_record_or_kind_is_not_found(pages: dict[str, Any]) -> None:
    staff = client_of(pages["app"], "staff")
    assert staff.get("/review/session/no-such-id").status_code == 404
    assert staff.get(f"/review/unit/{pages['session']}").status_code == 404
