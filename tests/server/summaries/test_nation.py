"""The whole server's figures (the nation, prefix '') from the summaries' own key: the same as
counted from the records over two provinces, a person known to two counties counted twice until
merged (as at a province), and a database at m025 brought up by m026
(server/store/migrations/m026_whole_server_key.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from server.farmers import merges
from server.figures import count as figures
from server.figures.counted import Scope
from server.plan.progress import cumulative_by_month
from server.reference import load as reference
from server.store.db import init_db
from server.summaries import maintain, store
from server.summaries import read as summaries_read
from tests.helpers import DATA, TECH_MAIZE, TECH_POTATO
from tests.server.fieldwork import Envoy

EAST = "530102001001"  # 示范县, province 53
FAR = "540102001001"  # 远县, province 54
NATION = Scope(2026, "")


def two_provinces(folder: Path, db_path: str) -> Database:
    """The demo county (province 53) and a county of province 54; 张三 serves a township in each."""
    units = (DATA / "units.csv").read_text(encoding="utf-8") + (
        "540102,远县,,county\n540102001,远镇,540102,township\n540102001001,远村,540102001,village\n"
    )
    (folder / "units.csv").write_text(units, encoding="utf-8")
    (folder / "envoys.csv").write_text(
        "name,mobile,township_codes\n张三,13800138000,530102001;540102001\n", encoding="utf-8"
    )
    db = init_db(db_path)
    reference.load_units(db, str(folder / "units.csv"))
    reference.load_catalogue(db, str(DATA / "catalog.csv"))
    reference.load_envoys(db, str(folder / "envoys.csv"))
    db.conn.commit()
    return db


@pytest.fixture
def db(tmp_path: Path, db_path: str) -> Iterator[Database]:
    database = two_provinces(tmp_path, db_path)
    yield database
    database.close()


def fieldwork(db: Database) -> dict[str, str]:
    """Trainings in both provinces: 赵大 comes to both (one record); 钱二 is known to each
    county as a record of its own; hand-outs and a plot in each."""
    zhang = Envoy(db, "张三")
    near = zhang.session(unit_code=EAST, technology_ids=[TECH_POTATO])
    far = zhang.session(
        unit_code=FAR, starts_at="2026-08-10T02:00:00Z", technology_ids=[TECH_MAIZE]
    )
    zhao = zhang.farmer("赵大", village_code=EAST)
    qian_near = zhang.farmer("钱二", village_code=EAST)
    qian_far = zhang.farmer("钱二", village_code=FAR)
    for session, farmer in ((near, zhao), (far, zhao), (near, qian_near), (far, qian_far)):
        zhang.checkin(session, farmer)
    zhang.handout(30, unit_code=EAST)
    zhang.handout(20, unit_code=FAR)
    zhang.plot(area_mu=4.5, village_code=FAR)
    db.conn.commit()
    return {"qian_near": qian_near, "qian_far": qian_far}


def read(db: Database, scope: Scope) -> dict[str, Any]:
    """What a page reads of a scope's figures from the summaries, and the same from the
    records: totals, what is under question, the monthly lines."""
    kept = summaries_read.compute(db, scope, monthly=True)
    assert kept is not None, "the summaries answer the whole server"
    counted = figures.compute(db, scope, monthly=True)
    names = sorted({*kept.total(), *counted.total()})
    as_read = [
        {
            "total": {name: round(found.total().get(name, 0), 6) for name in names},
            "questioned": found.questioned_total(),
            "monthly": cumulative_by_month(found),
        }
        for found in (kept, counted)
    ]
    assert as_read[0] == as_read[1]
    return as_read[0]["total"]


def test_the_nation_from_summaries_is_the_nation_from_the_records(db: Database) -> None:
    qian = fieldwork(db)
    nation = read(db, NATION)
    provinces = [read(db, Scope(2026, code)) for code in ("53", "54")]
    # Person-times, sessions, copies and area add up over the provinces...
    for name in ("trainee_attendances", "sessions", "leaflets_distributed", "demo_area_mu"):
        assert nation[name] == sum(province[name] for province in provinces) > 0, name
    # ...distinct people and technologies do not: 赵大 came in both provinces, one person.
    assert [province["unique_trainees"] for province in provinces] == [2, 2]
    assert nation["unique_trainees"] == 3  # 赵大, and 钱二 once per county that knows them
    assert nation["technologies_promoted"] == 2
    # Merged, 钱二 is one person in the nation too (still one in each province).
    merges.merge(db, qian["qian_far"], qian["qian_near"], "staff-cli")
    db.conn.commit()
    assert read(db, NATION)["unique_trainees"] == 2
    assert [read(db, Scope(2026, code))["unique_trainees"] for code in ("53", "54")] == [2, 2]
    assert maintain.check(db) is None


def test_the_nation_is_kept_from_the_rows_of_its_own_key(db: Database) -> None:
    """A few rows under '', not every province's: the sums and the first months a read takes."""
    fieldwork(db)
    maintain.refresh(db)
    rollup = db.execute(
        "SELECT figure, sum(value) FROM summary_rollup WHERE year = 2026 AND scope_key = '' "
        "GROUP BY figure ORDER BY figure"
    ).fetchall()
    assert ("person_times", 4.0) in [(figure, value) for figure, value in rollup]
    firsts = db.execute(
        "SELECT month, n FROM summary_firsts WHERE year = 2026 AND scope_key = '' "
        "AND figure = 'trainees' ORDER BY month"
    ).fetchall()
    assert [tuple(row) for row in firsts] == [(5, 2), (8, 1)]  # 钱二 of 远县 first in August


def test_m026_brings_a_database_at_m025_up(tmp_path: Path, db_path: str) -> None:
    """A database at m025 holds the summaries of every key but the whole server's: opened by
    this server, m026 builds that key from the provinces' rows, as a rebuild would."""
    db = two_provinces(tmp_path, db_path)
    fieldwork(db)
    maintain.refresh(db)
    db.conn.commit()
    expected = store.snapshot(db)
    # As m025 left it: no row of the whole server's key, m026 not applied.
    for table in ("summary_rollup", "summary_item_months", "summary_firsts"):
        db.execute(f"DELETE FROM {table} WHERE scope_key = ''")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm026_whole_server_key'")
    db.conn.commit()
    assert not db.execute("SELECT count(*) FROM summary_firsts WHERE scope_key = ''").fetchone()[0]
    db.close()
    db = init_db(db_path)
    try:
        assert store.snapshot(db) == expected
        assert maintain.check(db) is None
        assert read(db, NATION)["unique_trainees"] == 3
    finally:
        db.close()
