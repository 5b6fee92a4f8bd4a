"""The same farmer registered on two devices: automatic merges, candidates for staff, aliases."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from server.store.db import next_server_seq
from server.store.records import row_to_state
from server.store.sql_text import in_chunks
from server.summaries import keep as summaries_kept
from shared import protocol as p
from shared.clock import to_iso, utc_now
from shared.errors import TianjianError
from shared.merge import STAMPS, earliest_stamp

AUTO_SAME_MOBILE_AND_NAME = "same_mobile_and_name"
SAME_MOBILE = "same_mobile"
SAME_NAME_VILLAGE_BIRTH_YEAR = "same_name_village_birth_year"
STAFF = "staff"


class UnknownFarmer(TianjianError):
    """No farmer has that id."""

    status = 404

    def __init__(self, farmer_id: str) -> None:
        super().__init__(f"没有这个农户 / no such farmer: {farmer_id}")


class AlreadyMerged(TianjianError):
    """The farmer is already an alias of another."""

    status = 409

    def __init__(self, farmer_id: str) -> None:
        super().__init__(f"该农户已合并 / farmer already merged: {farmer_id}")


class UnknownCandidate(TianjianError):
    """No candidate pair waiting for a decision has that number."""

    status = 404

    def __init__(self, candidate_id: int) -> None:
        super().__init__(
            f"没有待处理的候选对 #{candidate_id} / no open candidate pair #{candidate_id}",
        )


def aliases_of(db: Database, farmer_ids: Iterable[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for chunk, marks in in_chunks(farmer_ids):
        found += [
            (row[0], row[1])
            for row in db.execute(
                f"SELECT id, canonical_id FROM farmer_aliases WHERE id IN ({marks})", chunk
            )
        ]
    return found


def canonical_id(db: Database, farmer_id: str) -> str:
    row = db.execute("SELECT canonical_id FROM farmer_aliases WHERE id = ?", [farmer_id]).fetchone()
    return row[0] if row else farmer_id


def check_new_farmers(db: Database, new: list[dict[str, Any]]) -> None:
    """Check the farmers a push made against everyone already stored.

    Two grouped queries first find the mobiles and the name, village and birth year triples
    that more than one stored farmer has; a farmer with neither cannot match anyone, and that
    is nearly every farmer, so only the few others are looked at one by one. Every automatic
    merge is made before any pair is offered, and which record is canonical and which way
    round a pair is listed follow from when the records were made (creation_key), so the
    outcome does not depend on the order the farmers arrived in or on their random ids.
    """
    live = [farmer for farmer in new if not farmer["deleted"]]
    mobiles = _shared_values(db, ["mobile"], {(f["mobile"],) for f in live if f.get("mobile")})
    triples = _shared_values(
        db,
        ["name", "village_code", "birth_year"],
        {(f["name"], f["village_code"], f["birth_year"]) for f in live if f.get("birth_year")},
    )
    suspects = [
        farmer
        for farmer in live
        if (farmer.get("mobile"),) in mobiles
        or (farmer["name"], farmer["village_code"], farmer.get("birth_year")) in triples
    ]
    for farmer in suspects:
        _merge_same_person(db, farmer)
    for farmer in suspects:
        _offer_likely_pairs(db, farmer)


def _shared_values(
    db: Database, columns: list[str], wanted: set[tuple[Any, ...]]
) -> set[tuple[Any, ...]]:
    """Which of these values (of these columns) more than one live farmer has."""
    names = ", ".join(columns)
    shared: set[tuple[Any, ...]] = set()
    for chunk, marks in in_chunks({value[0] for value in wanted}):
        rows = db.execute(
            f"SELECT {names} FROM farmers WHERE deleted = 0 AND {columns[0]} IN ({marks}) "
            f"GROUP BY {names} HAVING count(*) > 1",
            chunk,
        )
        shared.update(tuple(row) for row in rows)
    return shared & wanted


def check_new_farmer(db: Database, farmer: dict[str, Any]) -> None:
    """Merge a just-arrived farmer when mobile and name both match; otherwise offer likely pairs."""
    if not farmer["deleted"]:
        _merge_same_person(db, farmer)
        _offer_likely_pairs(db, farmer)


def creation_key(farmer: dict[str, Any]) -> tuple[str, str]:
    """What orders two records of one person: the earlier made (by its earliest clock stamp,
    which ends with the device id, so two records never tie) is canonical; then the id."""
    state = farmer if STAMPS in farmer else row_to_state(p.FARMER, farmer)
    return earliest_stamp(state), state["id"]


def _merge_same_person(db: Database, farmer: dict[str, Any]) -> None:
    """Same mobile and same name: one person, merged into whichever record was made first."""
    if not farmer.get("mobile") or _is_alias(db, farmer["id"]):
        return
    same = _canonical_farmers(
        db, "mobile = ? AND name = ? AND id != ?", [farmer["mobile"], farmer["name"], farmer["id"]]
    )
    if not same:
        return
    group = sorted([farmer, *same], key=creation_key)
    for losing in group[1:]:
        _make_alias(db, losing["id"], group[0]["id"], AUTO_SAME_MOBILE_AND_NAME)


def _offer_likely_pairs(db: Database, farmer: dict[str, Any]) -> None:
    """Same mobile with another name, or same name, village and birth year: for staff to decide."""
    farmer_id = farmer["id"]
    if _is_alias(db, farmer_id):
        return
    if farmer.get("mobile"):
        for other in _canonical_farmers(
            db, "mobile = ? AND id != ?", [farmer["mobile"], farmer_id]
        ):
            _offer(db, farmer, other, SAME_MOBILE)
    if farmer.get("birth_year"):
        for other in _canonical_farmers(
            db,
            "name = ? AND village_code = ? AND birth_year = ? AND id != ? "
            # Same-mobile pairs were dealt with above; two phoneless records are still a pair.
            "AND (CAST(? AS TEXT) IS NULL OR coalesce(mobile, '') != ?)",
            [farmer["name"], farmer["village_code"], farmer["birth_year"], farmer_id]
            + [farmer["mobile"]] * 2,
        ):
            _offer(db, farmer, other, SAME_NAME_VILLAGE_BIRTH_YEAR)


def _is_alias(db: Database, farmer_id: str) -> bool:
    return bool(db.execute("SELECT 1 FROM farmer_aliases WHERE id = ?", [farmer_id]).fetchone())


def merge_farmers(db: Database, losing_id: str, canonical: str, reason: str = STAFF) -> None:
    """Point the losing record at the canonical one; ids are never rewritten."""
    for farmer_id in (losing_id, canonical):
        if _farmer(db, farmer_id) is None:
            raise UnknownFarmer(farmer_id)
    target = canonical_id(db, canonical)
    if target == losing_id or canonical_id(db, losing_id) != losing_id:
        raise AlreadyMerged(losing_id)
    _make_alias(db, losing_id, target, reason)
    db.execute(
        "UPDATE merge_candidates SET resolved_at = ?, resolution = 'merged' "
        "WHERE resolved_at IS NULL AND (farmer_a IN (?, ?) AND farmer_b IN (?, ?))",
        [to_iso(utc_now()), losing_id, canonical, losing_id, canonical],
    )


def dismiss_candidate(db: Database, candidate_id: int) -> None:
    """Record that open candidate pair `candidate_id` are different people (UnknownCandidate if
    there is no such open pair); inside the caller's write transaction."""
    cursor = db.execute(
        "UPDATE merge_candidates SET resolved_at = ?, resolution = 'different_people' "
        "WHERE id = ? AND resolved_at IS NULL",
        [to_iso(utc_now()), candidate_id],
    )
    if cursor.rowcount != 1:
        raise UnknownCandidate(candidate_id)


def _farmer(db: Database, farmer_id: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM farmers WHERE id = ?", [farmer_id]))
    return rows[0] if rows else None


def _canonical_farmers(db: Database, where: str, params: list[Any]) -> list[dict[str, Any]]:
    return list(
        db.query(
            f"SELECT * FROM farmers WHERE {where} AND deleted = 0 "
            "AND id NOT IN (SELECT id FROM farmer_aliases)",
            params,
        )
    )


def _make_alias(db: Database, losing_id: str, canonical: str, reason: str) -> None:
    with summaries_kept.writing(db):
        _write_alias(db, losing_id, canonical, reason)


def _write_alias(db: Database, losing_id: str, canonical: str, reason: str) -> None:
    now = to_iso(utc_now())
    # Whoever pointed at the losing record now points straight at the canonical one.
    repointed = [
        row[0]
        for row in db.execute("SELECT id FROM farmer_aliases WHERE canonical_id = ?", [losing_id])
    ]
    seq = next_server_seq(db, 1 + len(repointed))
    # Their check-ins now count as one person's: recompute where they count.
    summaries_kept.mark_farmers(db, [losing_id, canonical, *repointed])
    db.table("farmer_aliases").insert(
        {
            "id": losing_id,
            "canonical_id": canonical,
            "merged_at": now,
            "reason": reason,
            "server_seq": seq,
        },
        replace=True,
    )
    for offset, alias in enumerate(repointed, start=1):
        db.execute(
            "UPDATE farmer_aliases SET canonical_id = ?, server_seq = ? WHERE id = ?",
            [canonical, seq + offset, alias],
        )


def _offer(db: Database, one: dict[str, Any], other: dict[str, Any], reason: str) -> None:
    """Offer a pair once, the earlier-made record first, whichever of them arrived first."""
    farmer_a, farmer_b = (r["id"] for r in sorted((one, other), key=creation_key))
    db.execute(
        "INSERT INTO merge_candidates (farmer_a, farmer_b, reason, found_at) "
        "SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM merge_candidates "
        "WHERE farmer_a = ? AND farmer_b = ?) ON CONFLICT (farmer_a, farmer_b) DO NOTHING",
        [farmer_a, farmer_b, reason, to_iso(utc_now()), farmer_b, farmer_a],
    )
