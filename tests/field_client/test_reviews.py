"""Reviews on the device: a pulled review is kept (one per record), listed returned first with
the staff note, marked when an unsent edit or correction of the record waits; an older device's
reviews, kept among its reference rows, move to their table when it is upgraded."""

from __future__ import annotations

import json
from pathlib import Path

from field_client import reviews
from field_client.events import receive_leaflets
from field_client.store import FieldStore
from shared import protocol as p
from shared import review_status as rs
from shared.ids import new_id
from tests.field_client.web.conftest import make_store, new_farmer, new_session

TITLE = "7e1e0000-0000-4000-8000-000000000001"
NOTE = "人数与签到不符 / headcount does not match"


def review(record_kind: str, record_id: str, status: str, note: str | None = NOTE) -> dict:
    return {
        "k": p.REVIEW,
        "r": {
            "id": f"review-{record_id}",
            "record_kind": record_kind,
            "record_id": record_id,
            "status": status,
            "note": note,
            "reviewed_at": "2026-05-11T02:00:00Z",
        },
    }


def sent(store: FieldStore) -> None:
    """As after a sync: nothing of the device's own waits in the outbox."""
    store.settle([seq for (seq,) in store.db.execute("SELECT seq FROM outbox").fetchall()], [])


def test_a_pulled_review_is_kept_and_replaced_by_a_newer_one(tmp_path: Path) -> None:
    store = make_store(str(tmp_path / "field.db"))
    session_id = new_session(store)
    store.apply_pull([review(p.SESSION, session_id, rs.RETURNED)], 5)
    assert reviews.review_of(store, p.SESSION, session_id) == {
        "status": rs.RETURNED,
        "note": NOTE,
        "reviewed_at": "2026-05-11T02:00:00Z",
    }
    assert reviews.counts(store) == {rs.RETURNED: 1}
    # Nothing of it among the reference data.
    assert (
        store.db.execute("SELECT count(*) FROM reference WHERE kind = ?", [p.REVIEW]).fetchone()[0]
        == 0
    )
    store.apply_pull([review(p.SESSION, session_id, rs.CORRECTED)], 6)
    assert reviews.counts(store) == {rs.CORRECTED: 1}
    assert store.get("cursor") == "6"


def test_records_under_review_are_listed_returned_first_with_the_note(tmp_path: Path) -> None:
    store = make_store(str(tmp_path / "field.db"))
    session_id = new_session(store, "马铃薯晚疫病防治培训")
    farmer_id = new_farmer(store, "赵大")
    approved = new_farmer(store, "钱二", "13812340000")
    sent(store)
    store.apply_pull(
        [
            review(p.FARMER, farmer_id, rs.QUESTIONED, "出生年份存疑"),
            review(p.SESSION, session_id, rs.RETURNED),
            review(p.FARMER, approved, rs.APPROVED, None),
            review(p.PLOT, new_id(), rs.RETURNED, "面积有误"),
        ],
        9,
    )
    listed = reviews.under_review(store)
    assert [(r.kind, r.status) for r in listed] == [
        (p.SESSION, rs.RETURNED),
        (p.PLOT, rs.RETURNED),
        (p.FARMER, rs.QUESTIONED),
    ]
    session, missing, farmer = listed
    assert session.label.startswith("马铃薯晚疫病防治培训 · ") and session.note == NOTE
    assert session.present and not session.changed_here
    # A record the device does not hold is listed all the same, without a label.
    assert missing.label == "" and not missing.present and missing.note == "面积有误"
    assert farmer.label == "赵大 · 东村"


def test_an_unsent_edit_or_correction_marks_the_record_changed_here(tmp_path: Path) -> None:
    store = make_store(str(tmp_path / "field.db"))
    store.apply_pull(
        [{"k": p.LEAFLET_TITLE, "r": {"id": TITLE, "title": "马铃薯晚疫病防治"}}],
        2,
    )
    session_id = new_session(store)
    receipt = receive_leaflets(store, title="马铃薯晚疫病防治", copies=50)
    untouched = new_farmer(store)
    sent(store)
    store.apply_pull(
        [
            review(p.SESSION, session_id, rs.RETURNED),
            review(p.LEAFLET_RECEIPT, receipt, rs.RETURNED),
            review(p.FARMER, untouched, rs.RETURNED),
        ],
        3,
    )
    assert not any(r.changed_here for r in reviews.under_review(store))
    store.update(p.SESSION, session_id, {"reported_headcount": 12})
    receive_leaflets(store, title="马铃薯晚疫病防治", copies=-20, correction_of=receipt)
    changed = {r.record_id: r.changed_here for r in reviews.under_review(store)}
    assert changed == {session_id: True, receipt: True, untouched: False}


def test_reviews_an_older_client_kept_as_reference_move_to_their_table(tmp_path: Path) -> None:
    path = str(tmp_path / "field.db")
    store = make_store(path)
    session_id = new_session(store)
    # The file as a client before m003 left it: no reviews table, a pulled review kept among
    # the reference rows (that client's answer to a kind it did not know).
    store.db.execute("DROP TABLE reviews")
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm003_reviews'")
    store.db.execute("PRAGMA user_version = 2")
    old = review(p.SESSION, session_id, rs.RETURNED)["r"]
    store.db.execute(
        "INSERT INTO reference (kind, id, data) VALUES (?, ?, ?)",
        [p.REVIEW, old["id"], json.dumps(old, ensure_ascii=False)],
    )
    store.db.conn.commit()
    store.close()
    upgraded = FieldStore(path)
    try:
        assert reviews.review_of(upgraded, p.SESSION, session_id) == {
            "status": rs.RETURNED,
            "note": NOTE,
            "reviewed_at": "2026-05-11T02:00:00Z",
        }
        left = upgraded.db.execute("SELECT count(*) FROM reference WHERE kind = ?", [p.REVIEW])
        assert left.fetchone()[0] == 0
    finally:
        upgraded.close()
