"""A county staff's reviews up its link: set on the province's copy once its record arrived, once,
so figures without questioned records agree; refused for any other record
(server/upstream/reviews_up.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from server.figures.count import compute
from server.figures.counted import Scope
from server.quality.reviews import review_of, set_review
from server.store.db import init_db, open_db
from server.upstream import forward, reviews_up
from server.upstream.codes import issue_link_code
from server.upstream.reviews_up import LATER, REFUSED, SAME, SET, accept_reviews
from shared import protocol as p
from shared import review_status as rs
from tests.helpers import LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy
from tests.server.upstream.provinces import Province


@pytest.fixture
def live_province(new_db_path: Callable[[str], str]) -> Iterator[LiveServer]:
    db_path = new_db_path("province")
    load_demo_reference(db_path)
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def figures(db_path: str, without_questioned: bool) -> dict[str, object]:
    db = open_db(db_path)
    try:
        return dict(
            compute(db, Scope(2026, "530102", exclude_questioned=without_questioned)).total()
        )
    finally:
        db.close()


def test_a_countys_review_goes_up_once_after_its_record(
    live_province: LiveServer, tmp_path: Path
) -> None:
    county_path = str(tmp_path / "county.db")
    load_demo_reference(county_path)
    county = init_db(county_path)
    zhang = Envoy(county, "张三")
    doubted = zhang.session()
    kept = zhang.session(unit_code="530102001002")
    set_review(county, "科员", p.SESSION, doubted, rs.QUESTIONED, "照片与地点不符")
    issuing = init_db(live_province.db_path)
    code = issue_link_code(issuing, "530102").code
    issuing.close()
    forward.enroll(county, live_province.url, code, "示范县")
    # The review waits for its record: the province has none yet.
    assert reviews_up.send_reviews(county) == reviews_up.ReviewsSent(later=1)
    assert forward.link_of(county)["review_cursor"] == 0
    forward.push_once(county)
    assert figures(live_province.db_path, True) != figures(county_path, True)
    assert reviews_up.send_reviews(county) == reviews_up.ReviewsSent(set=1)
    # The province leaves the doubted session out, as the county does, and keeps the other.
    for without in (False, True):
        assert figures(live_province.db_path, without) == figures(county_path, without)
    assert figures(county_path, True) != figures(county_path, False)
    province_db = open_db(live_province.db_path)
    there = review_of(province_db, p.SESSION, doubted)
    assert there is not None and (there.status, there.note, there.reviewed_by) == (
        rs.QUESTIONED,
        "照片与地点不符",
        "科员",
    )
    assert review_of(province_db, p.SESSION, kept) is None
    province_db.close()
    # The next run sends nothing; sent again after a lost cursor, it is already there.
    assert reviews_up.send_reviews(county) == reviews_up.ReviewsSent()
    county.execute("UPDATE upstream_link SET review_cursor = 0")
    county.conn.commit()
    assert reviews_up.send_reviews(county) == reviews_up.ReviewsSent(same=1)
    # Approved later on the county: the province follows, and counts it again.
    set_review(county, "科员", p.SESSION, doubted, rs.APPROVED)
    assert reviews_up.send_reviews(county) == reviews_up.ReviewsSent(set=1)
    assert figures(live_province.db_path, True) == figures(county_path, False)
    county.close()


def test_a_link_reviews_only_its_own_countys_copies(province: Province) -> None:
    db = province.db
    own = Envoy(db, "张三")
    session = own.session()
    at = datetime(2026, 5, 11, 3, tzinfo=UTC)
    sent = {
        "record_kind": p.SESSION,
        "record_id": session,
        "status": rs.QUESTIONED,
        "note": "人数不实",
        "reviewed_by": "科员",
        "reviewed_at": at,
    }
    # The province's own session is not the county's to review; a record not there waits.
    assert accept_reviews(db, province.link_a, [sent]) == [REFUSED]
    assert accept_reviews(db, province.link_a, [{**sent, "record_id": "nothing"}]) == [LATER]
    db.execute("UPDATE sessions SET device_id = ? WHERE id = ?", [province.link_a.id, session])
    db.conn.commit()
    assert accept_reviews(db, province.link_b, [sent]) == [REFUSED]
    assert review_of(db, p.SESSION, session) is None
    assert accept_reviews(db, province.link_a, [sent]) == [SET]
    assert accept_reviews(db, province.link_a, [sent]) == [SAME]
    review = review_of(db, p.SESSION, session)
    assert review is not None and review.reviewed_at == "2026-05-11T03:00:00Z"


def test_a_bad_review_is_refused_whole_with_its_reason(live_province: LiveServer) -> None:
    db = init_db(live_province.db_path)
    code = issue_link_code(db, "530102").code
    db.close()
    enrolled = requests.post(
        f"{live_province.url}/api/v1/upstream/enrol",
        json={"code": code, "name": "示范县"},
        headers={p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)},
        timeout=10,
    ).json()
    headers = {
        "Authorization": f"Bearer {enrolled['token']}",
        p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION),
    }
    good = {"record_kind": p.SESSION, "record_id": "x", "status": rs.QUESTIONED, "note": "n"}
    for bad in (
        {**good, "status": "ok"},
        {**good, "record_kind": "users"},
        {**good, "reviewed_at": "2026-05-11 黄昏"},
        {**good, "note": "长" * 1001},
    ):
        answer = requests.post(
            f"{live_province.url}/api/v1/upstream/reviews",
            json={"reviews": [good, bad]},
            headers=headers,
            timeout=10,
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"]
    fine = requests.post(
        f"{live_province.url}/api/v1/upstream/reviews",
        json={"reviews": [good]},
        headers=headers,
        timeout=10,
    )
    assert fine.status_code == 200 and fine.json() == {"answers": [LATER]}
