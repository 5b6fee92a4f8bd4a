"""Staff reviews up a county's link: a record the county's staff questioned, returned or approved
has that review on the province too, so figures without questioned records agree there
(docs/sync.md, "Counties reporting up").

On the province a county's copy is read-only (server/store/county_links.py `check_editable`):
its review is the county's to give. On the county, each review change (a new server_seq) goes up
once its record has, in server_seq order from `upstream_link.review_cursor` (m028). On the
province a review is taken only for a copy of the link's own county, keeping the county
reviewer's name and time; one already there changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from server.accounts import audit
from server.quality.reviews import Review, review_of, store_review
from server.store.county_links import links
from server.store.db import next_server_seq, write_transaction
from server.sync.device import Device
from server.upstream.accept import NotALink
from server.upstream.forward import call_province, keep_answers, link_of
from shared import protocol as p
from shared.clock import to_iso
from shared.ids import new_id

# What the province answers for each review sent.
SET, SAME, LATER, REFUSED = "set", "same", "later", "refused"
OUTCOMES = (SET, SAME, LATER, REFUSED)
# Reviews per request: far below what a county's staff give between two timer runs.
CHUNK = 500
SENT_FIELDS = ("record_kind", "record_id", "status", "note", "reviewed_by", "reviewed_at")


def accept_reviews(db: Database, link: Device, sent: list[dict[str, Any]]) -> list[str]:
    """On the province: each review's outcome, in order, all in one transaction. LATER when
    the record has not arrived yet; REFUSED when it is not a copy of the link's county."""
    if not link.county_code:
        raise NotALink()
    answers = []
    with write_transaction(db):
        owners = links(db)
        for item in sent:
            answers.append(_accept_one(db, link.county_code, owners, item))
    return answers


def _accept_one(db: Database, county: str, owners: dict[str, str], item: dict[str, Any]) -> str:
    kind, rid = item["record_kind"], item["record_id"]
    row = db.execute(
        f'SELECT "device_id", "envoy_id" FROM "{p.TABLES[kind]}" WHERE "id" = ?', [rid]
    ).fetchone()
    if row is None:
        return LATER
    if owners.get(row[0] or "") != county:
        return REFUSED
    before = review_of(db, kind, rid)
    if before and (before.status, before.note) == (item["status"], item["note"]):
        return SAME
    review = Review(
        id=before.id if before else new_id(),
        record_kind=kind,
        record_id=rid,
        envoy_id=row[1],
        status=item["status"],
        note=item["note"],
        reviewed_by=item["reviewed_by"],
        reviewed_at=to_iso(item["reviewed_at"]) if item["reviewed_at"] else None,
        server_seq=next_server_seq(db),
    )
    store_review(db, review)
    audit.record(
        db,
        f"县级上报 / county {county}",
        audit.REVIEW,
        kind,
        rid,
        before.logged() if before else None,
        review.logged(),
    )
    return SET


@dataclass
class ReviewsSent:
    """What one run did: reviews set on the province, already there, refused, waiting."""

    set: int = 0
    same: int = 0
    refused: int = 0
    later: int = 0


def send_reviews(db: Database) -> ReviewsSent:
    """On the county: send its staff's review changes since the review cursor; the cursor stops
    at the first one whose record the province does not have yet."""
    link = link_of(db)
    done = ReviewsSent()
    rows = [
        dict(row)
        for row in db.query(
            f'SELECT {", ".join(SENT_FIELDS)}, "server_seq" FROM "reviews" '
            'WHERE "server_seq" > ? ORDER BY "server_seq" LIMIT ?',
            [link["review_cursor"], CHUNK],
        )
    ]
    if not rows:
        return done
    answer = call_province(
        "POST",
        f"{link['url']}/api/v1/upstream/reviews",
        json={"reviews": [{name: row[name] for name in SENT_FIELDS} for row in rows]},
        headers={"Authorization": f"Bearer {link['token']}"},
    )
    keep_answers(db, "review_cursor", rows, answer.get("answers", []), done)
    return done
