"""Staff decisions on farmers that may be one person: merge two records or dismiss a candidate
pair as different people, each in one transaction with its audit entry (pages and CLI alike)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from server.accounts import audit
from server.farmers import matching as farmers
from server.store.db import write_transaction
from shared.errors import TianjianError

if TYPE_CHECKING:
    from server.accounts.users import User


class BadChoice(TianjianError):
    status = 422

    def __init__(self, keep: str) -> None:
        super().__init__(
            f"须选择保留甲或乙 / keep must be a or b, not {keep!r}",
            {"keep": "须为 a 或 b / must be a or b"},
        )


def _farmer(db: Database, farmer_id: str) -> dict[str, Any]:
    """What the log keeps of a farmer: name and village, never the mobile number."""
    row = db.execute(
        "SELECT f.name, u.name FROM farmers f LEFT JOIN units u ON u.code = f.village_code "
        "WHERE f.id = ?",
        [farmer_id],
    ).fetchone()
    if not row:
        raise farmers.UnknownFarmer(farmer_id)
    return {"id": farmer_id, "name": row[0], "village": row[1]}


def merge(
    db: Database,
    losing_id: str,
    canonical_id: str,
    by: User | str,
    candidate_id: int | None = None,
) -> None:
    """Record that `losing_id` is the same person as `canonical_id`, audited."""
    with write_transaction(db):
        losing, canonical = _farmer(db, losing_id), _farmer(db, canonical_id)
        farmers.merge_farmers(db, losing_id, canonical_id)
        after: dict[str, Any] = {"farmer": losing, "merged_into": canonical}
        if candidate_id is not None:
            after["candidate"] = candidate_id
        audit.record(
            db,
            by,
            audit.FARMER_MERGE,
            "farmer",
            losing_id,
            {"farmer": losing, "merged_into": None},
            after,
        )


def _open_pair(db: Database, candidate_id: int) -> tuple[str, str]:
    row = db.execute(
        "SELECT farmer_a, farmer_b FROM merge_candidates WHERE id = ? AND resolved_at IS NULL",
        [candidate_id],
    ).fetchone()
    if not row:
        raise farmers.UnknownCandidate(candidate_id)
    return row[0], row[1]


def merge_candidate(db: Database, candidate_id: int, keep: str, by: User | str) -> None:
    """Merge open candidate pair `candidate_id`, keeping side a or b as the canonical record."""
    if keep not in ("a", "b"):
        raise BadChoice(keep)
    farmer_a, farmer_b = _open_pair(db, candidate_id)
    canonical, losing = (farmer_a, farmer_b) if keep == "a" else (farmer_b, farmer_a)
    merge(db, losing, canonical, by, candidate_id)


def dismiss(db: Database, candidate_id: int, by: User | str) -> None:
    """Record that open candidate pair `candidate_id` are different people, audited."""
    with write_transaction(db):
        farmer_a, farmer_b = _open_pair(db, candidate_id)
        pair = {"a": _farmer(db, farmer_a), "b": _farmer(db, farmer_b)}
        farmers.dismiss_candidate(db, candidate_id)
        audit.record(
            db,
            by,
            audit.CANDIDATE_DISMISS,
            "merge_candidate",
            candidate_id,
            {**pair, "resolution": None},
            {**pair, "resolution": "different_people"},
        )
