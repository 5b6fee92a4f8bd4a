"""How an envoy's leaflet receipts count toward a unit: shared evenly across the townships they serve.

Receipts carry no place: copies belong to the envoy who received them. A unit's "received" is
therefore the envoys' receipts shared out by where they serve (envoys.township_codes):
- an envoy serving n townships counts 1/n of each receipt in each of them (a county, city or
  province sums its townships' shares, so each receipt is counted once);
- a village counts its township's share divided evenly among the township's villages (the
  villages listed in units), so villages add up to their township;
- receipts of an envoy serving no township count only in the unfiltered, all-units figure.
Shares are rounded to two decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from server.figures import counted, questioned
from server.store import dialect
from shared import protocol as p

TOWNSHIP_DIGITS = 9
PROVINCE_DIGITS = 2


def _range(prefix: str) -> tuple[str, str]:
    return prefix, str(int(prefix) + 1).zfill(len(prefix))


def _whole_server(db: Database, prefix: str) -> bool:
    """Whether the unit `prefix` holds every unit of the server ("" always; a province on a
    province's server), in two seeks of the units' key."""
    if not prefix:
        return True
    lo, hi = _range(prefix)
    return not db.execute(
        "SELECT EXISTS (SELECT 1 FROM units WHERE code < ?) "
        "OR EXISTS (SELECT 1 FROM units WHERE code >= ?)",
        [lo, hi],
    ).fetchone()[0]


def _of_envoys(db: Database, engine: dialect.Engine, prefix: str) -> tuple[str, str]:
    """SQL to add to the receipts' WHERE, and their GROUP BY, for the unit `prefix`.

    A unit counts only the receipts of envoys serving a township in [:lo, :hi): found through
    the index on envoy_id (m025) rather than by reading and grouping every receipt of the
    server (at a nation's 30,000, most of a county's report). A unit holding the whole server
    (all units; a province on its own server, whose envoys are all of them): read them all in
    one pass, kept off that index (SQLite would walk it row by row)."""
    if len(prefix) <= PROVINCE_DIGITS and _whole_server(db, prefix):
        return "", dialect.unindexed(engine, "envoy_id")
    envoys = (
        f"SELECT e.id FROM envoys e CROSS JOIN {dialect.json_each(engine, 'e.township_codes', 't')} "
        "WHERE t.value >= :lo AND t.value < :hi"
    )
    serving = " AND " + dialect.in_found(engine, "lr.envoy_id", envoys)
    return serving, "envoy_id"


def received(
    db: Database,
    prefix: str,
    day_start: str,
    day_end: str,
    envoy_id: str | None = None,
    exclude_questioned: bool = False,
) -> float:
    """Copies received in [day_start, day_end) counted toward the unit `prefix` (see module);
    without the receipts under question when `exclude_questioned`."""
    params: dict[str, Any] = {"day_start": day_start, "day_end": day_end, "envoy": envoy_id}
    envoy = " AND envoy_id = :envoy" if envoy_id else ""
    if exclude_questioned:
        envoy += " AND " + questioned.kept(p.LEAFLET_RECEIPT, "id")
    if not prefix:
        # Every receipt, whole: the sum needs no grouping by envoy (nor the envoy index).
        row = db.execute(
            "SELECT coalesce(sum(copies), 0) FROM leaflet_receipts lr "
            f"WHERE {counted.counted_receipts('lr')}{envoy}",
            params,
        ).fetchone()
        return round(float(row[0]), 2)
    township = prefix[:TOWNSHIP_DIGITS]
    params["lo"], params["hi"] = _range(township if len(prefix) > TOWNSHIP_DIGITS else prefix)
    engine = dialect.engine_of(db)
    serving, grouped = _of_envoys(db, engine, prefix)
    per_envoy = (
        "WITH r AS (SELECT envoy_id, sum(copies) AS c FROM leaflet_receipts lr "
        f"WHERE {counted.counted_receipts('lr')}{envoy}{serving} GROUP BY {grouped}) "
    )
    row = db.execute(
        per_envoy + "SELECT coalesce(sum(r.c * 1.0 / "
        f"{dialect.json_length(engine, 'e.township_codes')}), 0) FROM r JOIN envoys e "
        f"ON e.id = r.envoy_id CROSS JOIN {dialect.json_each(engine, 'e.township_codes', 't')} "
        "WHERE t.value >= :lo AND t.value < :hi",
        params,
    ).fetchone()
    share = float(row[0])
    if len(prefix) > TOWNSHIP_DIGITS:
        villages = db.execute(
            "SELECT count(*) FROM units WHERE level = 'village' AND code >= :lo AND code < :hi",
            params,
        ).fetchone()[0]
        share /= max(villages, 1)
    return round(share, 2)


@dataclass(frozen=True)
class ReceiptShare:
    """One envoy's receipts of a year and the part of them counted toward a unit (see module)."""

    envoy_id: str
    envoy: str
    received: int  # the envoy's own receipts in the period, whole
    townships: int  # townships the envoy serves
    share: float  # counted toward the unit


def shares(
    db: Database, prefix: str, day_start: str, day_end: str, envoy_id: str | None = None
) -> list[ReceiptShare]:
    """Per envoy with receipts in [day_start, day_end): the whole and the unit's share, the
    same sharing as `received` (their shares add up to it), for pages that show the working."""
    params: dict[str, Any] = {"day_start": day_start, "day_end": day_end, "envoy": envoy_id}
    params["lo"], params["hi"] = _range(prefix[:TOWNSHIP_DIGITS]) if prefix else ("", ":")
    envoy = " AND envoy_id = :envoy" if envoy_id else ""
    engine = dialect.engine_of(db)
    # Only envoys serving a township in the unit have a share in it (see received).
    serving, grouped = _of_envoys(db, engine, prefix)
    codes = "coalesce(e.township_codes, '[]')"
    rows = db.execute(
        "WITH r AS (SELECT envoy_id, sum(copies) AS c FROM leaflet_receipts lr "
        f"WHERE {counted.counted_receipts('lr')}{envoy}{serving} GROUP BY {grouped}) "
        "SELECT r.envoy_id, coalesce(e.name, r.envoy_id), r.c, "
        f"coalesce({dialect.json_length(engine, 'e.township_codes')}, 0), (SELECT count(*) FROM "
        f"{dialect.json_each(engine, codes, 't')} WHERE t.value >= :lo AND t.value < :hi) "
        "FROM r LEFT JOIN envoys e ON e.id = r.envoy_id ORDER BY 2, 1",
        params,
    ).fetchall()
    villages = 1
    if len(prefix) > TOWNSHIP_DIGITS:
        villages = max(
            db.execute(
                "SELECT count(*) FROM units WHERE level = 'village' AND code >= :lo AND code < :hi",
                params,
            ).fetchone()[0],
            1,
        )
    out = []
    for envoy_id_, name, copies, townships, inside in rows:
        if not prefix:
            share = float(copies)
        elif not townships or not inside:
            continue
        else:
            share = copies * inside / townships / villages
        out.append(ReceiptShare(envoy_id_, name, copies, townships, round(share, 2)))
    return out
