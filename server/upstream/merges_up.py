"""Staff merges of farmers up a county's link: "these two records are one person" said on the county
holds on the province too, so unique trainees agree (docs/sync.md, "Counties reporting up").

On the county, each merge its staff made (a `farmer_aliases` row of reason staff) goes up once,
after both farmers' records have, in server_seq order from `upstream_link.merge_cursor` (m022).
On the province, a merge is taken only between two copies of the link's own county; it joins
the two people's groups there (which may already hold a farmer of another county the province
matched by name and phone), and one already made changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from server.farmers import matching
from server.farmers.merges import merge
from server.store.county_links import links
from server.sync.device import Device
from server.upstream.accept import NotALink
from server.upstream.forward import call_province, keep_answers, link_of

# What the province answers for each merge sent.
MERGED, SAME, LATER, REFUSED = "merged", "same", "later", "refused"
OUTCOMES = (MERGED, SAME, LATER, REFUSED)
# Merges per request: far below anything a county's staff make between two timer runs.
CHUNK = 500


def accept_merges(db: Database, link: Device, sent: list[dict[str, str]]) -> list[str]:
    """On the province: each merge's outcome, in order. LATER when a farmer has not arrived
    yet; REFUSED when one is not a copy of the link's county."""
    if not link.county_code:
        raise NotALink()
    owners = links(db)
    answers = []
    for item in sent:
        ids = (item["id"], item["canonical_id"])
        rows = {
            row[0]: owners.get(row[1] or "")
            for row in db.execute(
                'SELECT "id", "device_id" FROM "farmers" WHERE "id" IN (?, ?)', list(ids)
            )
        }
        if len(rows) < len(set(ids)):
            answers.append(LATER)
            continue
        if any(county != link.county_code for county in rows.values()):
            answers.append(REFUSED)
            continue
        losing, kept = (matching.canonical_id(db, one) for one in ids)
        if losing == kept:
            answers.append(SAME)
            continue
        merge(db, losing, kept, f"县级上报 / county {link.county_code}")
        answers.append(MERGED)
    return answers


@dataclass
class MergesSent:
    """What one run did: merges made on the province, already one there, refused, waiting."""

    merged: int = 0
    same: int = 0
    refused: int = 0
    later: int = 0


def send_merges(db: Database) -> MergesSent:
    """On the county: send its staff's merges made since the merge cursor; the cursor stops at
    the first one whose farmers the province does not have yet."""
    link = link_of(db)
    done = MergesSent()
    rows = [
        dict(row)
        for row in db.query(
            'SELECT "id", "canonical_id", "server_seq" FROM "farmer_aliases" '
            'WHERE "reason" = ? AND "server_seq" > ? ORDER BY "server_seq" LIMIT ?',
            [matching.STAFF, link["merge_cursor"], CHUNK],
        )
    ]
    if not rows:
        return done
    answer = call_province(
        "POST",
        f"{link['url']}/api/v1/upstream/merges",
        json={"merges": [{"id": r["id"], "canonical_id": r["canonical_id"]} for r in rows]},
        headers={"Authorization": f"Bearer {link['token']}"},
    )
    keep_answers(db, "merge_cursor", rows, answer.get("answers", []), done)
    return done
