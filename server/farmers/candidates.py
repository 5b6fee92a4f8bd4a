"""Candidate pairs of farmer records that may be one person, listed for staff to merge or
dismiss (server/farmers/merges.py); mobiles masked unless an admin asks."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from shared.mobile import mask_mobile


def candidate_pairs(
    db: Database, show_mobiles: bool = False, only: int | None = None
) -> list[dict[str, Any]]:
    """Open pairs of farmer records that may be one person, in the order they were found (or
    pair `only`, if open).

    Keys: id (the pair's number, for merge or dismiss), reason, found_at, and for each side
    a and b: farmer_a, name_a, mobile_a (masked unless show_mobiles), gender_a, birth_year_a,
    village_a (code), village_name_a, envoy_a (who registered it), envoy_id_a, created_at_a.
    """
    sides = []
    for side in ("a", "b"):
        sides.append(
            f"{side}.id AS farmer_{side}, {side}.name AS name_{side}, "
            f"{side}.mobile AS mobile_{side}, {side}.gender AS gender_{side}, "
            f"{side}.birth_year AS birth_year_{side}, {side}.village_code AS village_{side}, "
            f"v{side}.name AS village_name_{side}, e{side}.name AS envoy_{side}, "
            f"{side}.envoy_id AS envoy_id_{side}, "
            f"{side}.created_at AS created_at_{side}"
        )
    rows = list(
        db.query(
            f"SELECT c.id, c.reason, c.found_at, {', '.join(sides)} FROM merge_candidates c "
            "JOIN farmers a ON a.id = c.farmer_a JOIN farmers b ON b.id = c.farmer_b "
            "LEFT JOIN units va ON va.code = a.village_code "
            "LEFT JOIN units vb ON vb.code = b.village_code "
            "LEFT JOIN envoys ea ON ea.id = a.envoy_id LEFT JOIN envoys eb ON eb.id = b.envoy_id "
            f"WHERE c.resolved_at IS NULL{'' if only is None else ' AND c.id = ?'} ORDER BY c.id",
            [] if only is None else [only],
        )
    )
    if not show_mobiles:
        for row in rows:
            row["mobile_a"], row["mobile_b"] = (
                mask_mobile(row["mobile_a"]),
                mask_mobile(row["mobile_b"]),
            )
    return rows
