"""What staff look at on the server: edit conflicts and candidate farmer pairs.

The command line and the bureau's pages both call these; each returns plain dicts (one per
row, keys as documented) so a caller can print, render or export them. Times are UTC ISO
strings as stored; mobiles are masked unless the caller asks otherwise (admins only). Held
changes are listed and dropped by server/sync/held.py (`list_held`, `drop_held`).
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from shared.mobile import mask_mobile


def latest_conflicts(db: Database, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Edits that lost to a concurrent edit of the same field, newest first.

    Keys: id, recorded_at, kind, record_id, field, winning_value, winning_stamp, losing_value,
    losing_stamp, device_id (the device whose edit lost). Values are stored as JSON text.
    """
    return list(
        db.query("SELECT * FROM conflicts ORDER BY id DESC LIMIT ? OFFSET ?", [limit, offset])
    )


def count_conflicts(db: Database) -> int:
    """How many losing edits are recorded."""
    return int(db.execute("SELECT count(*) FROM conflicts").fetchone()[0])


def candidate_pairs(db: Database, show_mobiles: bool = False) -> list[dict[str, Any]]:
    """Open pairs of farmer records that may be one person, in the order they were found.

    Keys: id (the pair's number, for merge or dismiss), reason, found_at, and for each side
    a and b: farmer_a, name_a, mobile_a (masked unless show_mobiles), gender_a, birth_year_a,
    village_a (code), village_name_a, envoy_a (who registered it), created_at_a.
    """
    sides = []
    for side in ("a", "b"):
        sides.append(
            f"{side}.id AS farmer_{side}, {side}.name AS name_{side}, "
            f"{side}.mobile AS mobile_{side}, {side}.gender AS gender_{side}, "
            f"{side}.birth_year AS birth_year_{side}, {side}.village_code AS village_{side}, "
            f"v{side}.name AS village_name_{side}, e{side}.name AS envoy_{side}, "
            f"{side}.created_at AS created_at_{side}"
        )
    rows = list(
        db.query(
            f"SELECT c.id, c.reason, c.found_at, {', '.join(sides)} FROM merge_candidates c "
            "JOIN farmers a ON a.id = c.farmer_a JOIN farmers b ON b.id = c.farmer_b "
            "LEFT JOIN units va ON va.code = a.village_code "
            "LEFT JOIN units vb ON vb.code = b.village_code "
            "LEFT JOIN envoys ea ON ea.id = a.envoy_id LEFT JOIN envoys eb ON eb.id = b.envoy_id "
            "WHERE c.resolved_at IS NULL ORDER BY c.id"
        )
    )
    if not show_mobiles:
        for row in rows:
            row["mobile_a"], row["mobile_b"] = (
                mask_mobile(row["mobile_a"]),
                mask_mobile(row["mobile_b"]),
            )
    return rows
