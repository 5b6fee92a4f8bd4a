"""Chinese pages show Chinese: labels from shared/choices.py, marshmallow's messages, notes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlite_utils import Database

from server.accounts import users
from server.store.db import init_db
from tests.helpers import VILLAGE_WEST, sign_in
from tests.server.fieldwork import Envoy

PASSWORD = "chinese-pages"


@pytest.fixture
def busy(app: Flask, db_path: str) -> Iterator[dict[str, Any]]:
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    east = zhang.session(reported_headcount=40)
    zhang.checkin(east, zhang.farmer("赵大", mobile="13912345678"))
    li.checkin(li.session(unit_code=VILLAGE_WEST), li.farmer("周四", village_code=VILLAGE_WEST))
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    yield {"db": db, "zhang": zhang, "li": li}
    db.close()


def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, "staff", PASSWORD).status_code == 302
    return client


def test_candidate_and_merge_reasons_are_words_not_codes(app: Flask, busy: dict[str, Any]) -> None:
    db: Database = busy["db"]
    busy["zhang"].farmer("郑六", mobile="13700001111")
    busy["li"].farmer("郑六", mobile="13700001111")
    busy["zhang"].farmer("郑陆", mobile="13700002222")
    busy["li"].farmer("郑路", mobile="13700002222")
    assert db.execute("SELECT count(*) FROM merge_candidates").fetchone()[0] >= 1
    client = staff(app)
    candidates = client.get("/staff/candidates").get_data(as_text=True)
    assert "手机号相同" in candidates
    assert "same_mobile" not in candidates
    merged = client.get("/staff/merged").get_data(as_text=True)
    assert "same_mobile_and_name" not in merged


def test_a_session_kind_has_one_name_on_every_page(app: Flask, busy: dict[str, Any]) -> None:
    busy["zhang"].session(kind="field_day")
    client = staff(app)
    records = client.get("/records/sessions?year=2026").get_data(as_text=True)
    breakdown = client.get("/breakdowns?year=2026&by=kind").get_data(as_text=True)
    for page in (records, breakdown):
        assert "现场观摩" in page
        assert "田间观摩" not in page


def test_marshmallow_messages_are_chinese_on_a_chinese_page(
    app: Flask, busy: dict[str, Any]
) -> None:
    client = staff(app)
    page = client.get("/records/sessions?year=2026&month=abc")
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "不是有效的整数" in text
    assert "Not a valid integer" not in text
    client.get("/lang/en")
    english = client.get("/records/sessions?year=2026&month=abc").get_data(as_text=True)
    assert "Not a valid integer" in english
    assert "不是有效的整数" not in english


def test_notes_show_the_page_language_only(app: Flask, busy: dict[str, Any]) -> None:
    client = staff(app)
    chinese = client.get("/progress?year=2026").get_data(as_text=True)
    assert "完成（核实）只计实名签到" in chinese
    assert "Verified counts named check-ins only" not in chinese
    client.get("/lang/en")
    english = client.get("/progress?year=2026").get_data(as_text=True)
    assert "Verified counts named check-ins only" in english
    assert "完成（核实）只计实名签到" not in english


def test_progress_shows_comparators_in_words_and_no_indicator_codes(
    app: Flask, busy: dict[str, Any]
) -> None:
    page = staff(app).get("/progress?year=2026").get_data(as_text=True)
    table = page[page.index("<table") : page.index("</table>")]
    assert "&gt;=" not in table and "&gt; " not in table
    assert "不少于" in table or "超过" in table
    assert "trainee_attendances</td>" not in table


def test_the_audit_log_names_targets_envoys_and_the_system(
    app: Flask, busy: dict[str, Any]
) -> None:
    db: Database = busy["db"]
    users.add_user(db, "zhang", users.ENVOY, PASSWORD, busy["zhang"].envoy_id)
    page = staff(app).get("/audit").get_data(as_text=True)
    log = page[page.index('id="audit-log"') :]
    assert "trainee_attendances" not in log
    assert ":530102:" not in log
    assert "示范县 培训人次" in log
    assert "不少于" in log or "超过" in log
    assert "系统" in log and ">system<" not in log
    assert busy["zhang"].envoy_id not in log
    assert "张三" in log


def test_an_envoy_users_pages_are_headed_by_the_envoys_name(
    app: Flask, busy: dict[str, Any]
) -> None:
    db: Database = busy["db"]
    users.add_user(db, "zhangsan-login", users.ENVOY, PASSWORD, busy["zhang"].envoy_id)
    client = app.test_client()
    assert sign_in(client, "zhangsan-login", PASSWORD).status_code == 302
    for path in ("/reconciliation/?year=2026", "/flags?year=2026"):
        page = client.get(path).get_data(as_text=True)
        heading = page[page.index("<h1>") : page.index("</h1>")]
        assert "张三" in heading and "zhangsan-login" not in heading, (path, heading)


def test_api_refusals_of_query_arguments_carry_chinese(app: Flask, busy: dict[str, Any]) -> None:
    answer = staff(app).get("/api/v1/reports/2026?monthly=perhaps&questioned=maybe")
    assert answer.status_code == 422
    errors = answer.get_json()["errors"]["query"]
    assert errors["monthly"] == ["不是有效的是/否 / Not a valid boolean."]
    assert errors["questioned"][0].startswith("须为以下之一：include, exclude / Must be one of")


def test_a_target_set_or_deleted_is_named_in_words_in_the_audit_log(
    app: Flask, busy: dict[str, Any]
) -> None:
    from server.plan import targets

    db: Database = busy["db"]
    zhang = busy["zhang"].envoy_id
    for owner in ({"unit_code": "530102001"}, {"envoy_id": zhang}):
        data = {"year": 2026, "indicator": "demo_plots", "comparator": ">=", "value": 3, **owner}
        targets.set_target(db, data)
    targets.delete_target(db, "2026:530102001:demo_plots")
    db.conn.commit()
    page = staff(app).get("/audit?action=target").get_data(as_text=True)
    log = page[page.index('id="audit-log"') :]
    assert "2026:530102001:demo_plots" not in log and f"envoy:{zhang}" not in log
    assert "2026 城关镇 示范田块数" in log and "2026 张三 示范田块数" in log
