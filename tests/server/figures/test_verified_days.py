"""Verified service days (服务签到天数, issue 21): of the days an envoy claims (a session led or
co-run, or a plot observation), those with evidence: named check-ins at a session they lead, or
a photo of theirs with its camera time and a place. Shown beside the claimed days on the
performance page, its CSV and the envoy's list of days."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.figures.performance import performance
from server.store.db import init_db
from shared import protocol as p
from shared.ids import new_id
from tests.helpers import sign_in
from tests.server.fieldwork import Envoy

PASSWORD = "verified-days-password"
PLACE = {"latitude": 25.0, "longitude": 102.7}


def photo(
    envoy: Envoy,
    subject: str,
    taken_at: str | None,
    placed: bool = True,
    subject_kind: str = "session",
) -> str:
    data = new_id().encode()
    fields: dict[str, Any] = {
        "subject_kind": subject_kind,
        "subject_id": subject,
        "photo_kind": "site" if subject_kind == "session" else "observation",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "width": 1600,
        "height": 1200,
        "recorded_at": "2026-05-10T03:00:00Z",
    }
    if taken_at:
        fields["taken_at"] = taken_at
    if placed:
        fields.update(PLACE)
    photo_id = new_id()
    envoy.push(p.PHOTO, fields, photo_id)
    return photo_id


@pytest.fixture
def work(app: Flask, db_path: str) -> Iterator[dict[str, Any]]:
    """张三 claims eight days, four of them verified (said beside each); 李梅 one, verified."""
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    # 10 May: named check-ins at his session. Verified.
    may = zhang.session(starts_at="2026-05-10T02:00:00Z")
    zhang.checkin(may, zhang.farmer("赵大"))
    # 00:30 on 1 January in Beijing, with a check-in: this year's 1 January. Verified.
    new_year = zhang.session(starts_at="2025-12-31T16:30:00Z")
    zhang.checkin(new_year, zhang.farmer("钱二"))
    # 1 June: a headcount only, but a photo timed 23:00 that day in Beijing and placed.
    # Verified. A later photo of it (2 June in Beijing, and July) is no claimed day.
    june = zhang.session(starts_at="2026-06-01T02:00:00Z", reported_headcount=30)
    photo(zhang, june, "2026-06-01T15:00:00Z")
    photo(zhang, june, "2026-06-01T17:00:00Z")
    photo(zhang, june, "2026-07-07T02:00:00Z")
    # 5 June: a photo with no place; 10 June: a photo with no camera time; 12 June: a
    # deleted photo. None verified.
    unplaced = zhang.session(starts_at="2026-06-05T02:00:00Z", reported_headcount=20)
    photo(zhang, unplaced, "2026-06-05T03:00:00Z", placed=False)
    untimed = zhang.session(starts_at="2026-06-10T02:00:00Z", reported_headcount=20)
    photo(zhang, untimed, None)
    dropped = zhang.session(starts_at="2026-06-12T02:00:00Z", reported_headcount=20)
    gone = photo(zhang, dropped, "2026-06-12T03:00:00Z")
    zhang.update(p.PHOTO, gone, {"deleted": True})
    # 15 August: a plot observation with a placed, timed photo. Verified.
    plot = zhang.plot()
    observed = new_id()
    zhang.push(
        p.PLOT_OBSERVATION,
        {"plot_id": plot, "observed_on": "2026-08-15", "stage": "growing"},
        observed,
    )
    photo(zhang, observed, "2026-08-15T04:00:00Z", subject_kind="observation")
    # 9 September: 李梅 leads with a check-in, 张三 co-runs: hers verified, not his.
    september = new_id()
    li.push(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "玉米高产栽培",
            "unit_code": "530102001002",
            "starts_at": "2026-09-09T02:00:00Z",
            "lead_envoy_id": li.envoy_id,
            "co_envoy_ids": [zhang.envoy_id],
        },
        september,
    )
    li.checkin(september, li.farmer("周四"))
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    db.conn.commit()
    yield {"db": db, "zhang": zhang, "li": li}
    db.close()


def figures(db: Database) -> dict[str, tuple[int, int]]:
    found = performance(db, 2026, "530102")
    return {row.envoy: (row.service_days, row.verified_days) for row in found.rows}


def test_verified_days_are_the_claimed_days_with_evidence(work: dict[str, Any]) -> None:
    assert figures(work["db"]) == {"张三": (8, 4), "李梅": (1, 1), "王五": (0, 0)}


def test_the_page_its_csv_and_the_list_of_days_show_them(app: Flask, work: dict[str, Any]) -> None:
    staff = app.test_client()
    assert sign_in(staff, "staff", PASSWORD).status_code == 302
    page = staff.get("/performance?year=2026").get_data(as_text=True)
    assert "签到天数" in page and "服务签到天数是其中有实名签到" in page
    data = staff.get("/performance?year=2026&format=csv").get_data().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(data)))
    rows = {line[0]: dict(zip(lines[1], line, strict=True)) for line in lines[2:]}
    assert rows["张三"]["服务天数"] == "8" and rows["张三"]["服务签到天数（核实）"] == "4"
    assert rows["李梅"]["服务签到天数（核实）"] == "1"
    zhang = work["zhang"].envoy_id
    days = staff.get(f"/records/days?year=2026&envoy={zhang}&format=csv").get_data()
    listed = list(csv.reader(io.StringIO(days.decode("utf-8-sig"))))
    header = listed[1]
    verified = {line[header.index("日期")]: line[header.index("签到核实")] for line in listed[2:]}
    assert len(verified) == 8
    yes = {day for day, mark in verified.items() if mark == verified["2026-05-10"]}
    assert yes == {"2026-01-01", "2026-05-10", "2026-06-01", "2026-08-15"}
    # The figure's link lists those days alone.
    page = staff.get(f"/records/days?year=2026&envoy={zhang}&verified=1").get_data(as_text=True)
    assert 'id="record-count">共 4 条' in page
