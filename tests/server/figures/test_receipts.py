"""server/figures/receipts.py: envoys' leaflet receipts shared out over the townships they serve,
and a unit's found through the envoy index (m025) rather than by reading every receipt."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from server.figures import receipts
from server.store.db import init_db

YEAR = ("2026-01-01", "2027-01-01")
T1, T2, T3 = "530101001000", "530102001000", "530101002000"


def _seed(db: Database) -> None:
    """Four envoys: A serves a township in each of two counties, B one of A's, C none, D
    another township of the first county (one receipt deleted)."""
    units = [
        ("530000000000", "province", None),
        ("530100000000", "city", "530000000000"),
        ("530101000000", "county", "530100000000"),
        ("530102000000", "county", "530100000000"),
        (T1, "township", "530101000000"),
        (T3, "township", "530101000000"),
        (T2, "township", "530102000000"),
        ("530101001001", "village", T1),
        ("530101001002", "village", T1),
    ]
    db.conn.executemany(
        "INSERT INTO units (code, name, parent_code, level, server_seq) VALUES (?, ?, ?, ?, 0)",
        [(code, code, parent, level) for code, level, parent in units],
    )
    envoys = {"A": [T1, T2], "B": [T1], "C": [], "D": [T3]}
    db.conn.executemany(
        "INSERT INTO envoys (id, name, township_codes, active, server_seq) VALUES (?, ?, ?, 1, 0)",
        [(name, name, str(codes).replace("'", '"')) for name, codes in envoys.items()],
    )
    rows = [("A", 100, 0), ("B", 30, 0), ("C", 7, 0), ("D", 50, 1), ("D", 10, 0)]
    db.conn.executemany(
        "INSERT INTO leaflet_receipts (id, copies, received_on, envoy_id, deleted, hlc, "
        "server_seq) VALUES (?, ?, '2026-03-01', ?, ?, 'h', ?)",
        [
            (f"r{n}", copies, envoy, deleted, n + 1)
            for n, (envoy, copies, deleted) in enumerate(rows)
        ],
    )
    db.conn.commit()


@pytest.fixture
def db(db_path: str) -> Database:
    opened = init_db(db_path)
    _seed(opened)
    return opened


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("530101", 90.0),  # half of A's, all of B's and D's live one
        ("530102", 50.0),  # the other half of A's
        ("53", 140.0),  # every envoy serving a township, each receipt once
        ("", 147.0),  # and C's, who serves none, in the all-units figure only
        ("530101001", 80.0),
        ("530101001001", 40.0),  # the township's share split over its two villages
    ],
)
def test_a_units_received_copies_are_its_envoys_shares(
    db: Database, prefix: str, expected: float
) -> None:
    assert receipts.received(db, prefix, *YEAR) == expected


def test_the_shares_shown_add_up_to_the_units_received_copies(db: Database) -> None:
    county = receipts.shares(db, "530101", *YEAR)
    assert {s.envoy_id: s.share for s in county} == {"A": 50.0, "B": 30.0, "D": 10.0}
    assert sum(s.share for s in county) == receipts.received(db, "530101", *YEAR)
    every = receipts.shares(db, "", *YEAR)
    assert {s.envoy_id: s.received for s in every} == {"A": 100, "B": 30, "C": 7, "D": 10}


def _plan(db: Database, prefix: str) -> str:
    """SQLite's plan of the statement reading the receipts for the unit `prefix`."""
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    receipts.received(db, prefix, *YEAR)
    db.conn.set_trace_callback(None)
    [statement] = [s for s in statements if "leaflet_receipts" in s]
    return " / ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + statement))


def test_a_units_receipts_are_found_through_the_envoy_index(tmp_path: Path) -> None:
    """At a nation's 30,000 receipts, reading and grouping all of them for each county's
    report took most of its time: the receipts of the unit's envoys are looked up instead.
    A province's envoys are most of a province server's: read in one pass, off the index."""
    db = init_db(str(tmp_path / "server.db"))
    _seed(db)
    for prefix in ("5301", "530101", "530101001", "530101001001"):
        plan = _plan(db, prefix)
        assert "USING INDEX idx_leaflet_receipts_envoy" in plan, (prefix, plan)
        assert "SCAN lr" not in plan, (prefix, plan)
    for prefix in ("53", ""):
        plan = _plan(db, prefix)
        assert "idx_leaflet_receipts_envoy" not in plan, (prefix, plan)
    # A province of a nation's server is a tenth of it: its envoys' receipts are looked up.
    db.execute(
        "INSERT INTO units (code, name, parent_code, level, server_seq) "
        "VALUES ('520000000000', '贵州省', NULL, 'province', 0)"
    )
    db.conn.commit()
    assert "USING INDEX idx_leaflet_receipts_envoy" in _plan(db, "53")
    assert receipts.received(db, "53", *YEAR) == 140.0
