"""A county's forward over a real link: chunk by chunk from its cursor, healed after a cut."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from server.reference.county_envoys import envoy_id_up
from server.store.db import init_db
from server.upstream import forward
from server.upstream.codes import issue_link_code
from tests.e2e.faults import CUT_AFTER_SERVER, PASS, FaultProxy
from tests.helpers import LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy


@pytest.fixture
def province(db_path: str) -> Iterator[LiveServer]:
    load_demo_reference(db_path)
    server = LiveServer(db_path).start()
    yield server
    server.stop()


@contextlib.contextmanager
def opened(db_path: str) -> Iterator[Database]:
    """The province's database on its engine (a SQLite file, or PostgreSQL in that run)."""
    db = init_db(db_path, create=False)
    try:
        yield db
    finally:
        db.close()


def count(db_path: str, table: str) -> int:
    with opened(db_path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])


def test_a_forward_cut_midway_resumes_from_the_last_answered_chunk(
    province: LiveServer, tmp_path: Path
) -> None:
    county_path = str(tmp_path / "county.db")
    load_demo_reference(county_path)
    county = init_db(county_path)
    zhang = Envoy(county, "张三")
    session = zhang.session()
    for n in range(11):
        zhang.checkin(session, zhang.farmer(f"农户{n}"))
    made = count(county_path, "farmers") + count(county_path, "sessions")
    made += count(county_path, "attendances")
    assert made == 23

    issuing = init_db(province.db_path)
    code = issue_link_code(issuing, "530102").code
    issuing.close()
    proxy = FaultProxy(province.port)
    forward.enroll(county, proxy.url, code, "示范县")
    assert forward.status(county).waiting == {"farmer": 11, "session": 1, "attendance": 11}

    pushes = []

    def third_push_cut(method: str, path: str, n: int) -> str:
        if path.endswith("/sync/push"):
            pushes.append(path)
            if len(pushes) == 3:
                return CUT_AFTER_SERVER
        return PASS

    proxy.decide = third_push_cut
    with pytest.raises(forward.ProvinceUnreachable) as cut:
        forward.push_once(county, limit=5)
    assert "省级服务器未应答" in cut.value.message and "progress is kept" in cut.value.message
    # Two chunks answered, the third committed on the province but its answer lost.
    cursor = forward.status(county).cursor
    seqs = sorted(
        row[0]
        for table in ("farmers", "sessions", "attendances")
        for row in county.execute(f"SELECT server_seq FROM [{table}]")
    )
    assert cursor == seqs[9]
    assert sum(forward.status(county).waiting.values()) == 13
    assert "省级服务器未应答" in (forward.status(county).last_error or "")

    proxy.decide = lambda method, path, n: PASS
    done = forward.push_once(county, limit=5)
    assert (done.sent, done.refused, done.cursor) == (13, [], seqs[-1])
    assert forward.status(county).waiting == {}
    assert forward.status(county).last_error is None
    for table in ("farmers", "sessions", "attendances"):
        assert count(province.db_path, table) == count(county_path, table), table
    assert count(province.db_path, "held_changes") == 0
    # The province answered each forwarded version once: 23 numbers, the resent chunk duplicate.
    with opened(province.db_path) as conn:
        answered = conn.execute(
            "SELECT sum(last_seq - first_seq + 1) FROM device_change_runs r "
            "JOIN devices d ON d.id = r.device_id WHERE d.county_code = '530102'"
        ).fetchone()[0]
    assert answered == 23
    again = forward.push_once(county, limit=5)
    assert again.sent == 0
    proxy.close()
    county.close()


def test_check_ins_forwarded_before_their_edited_session_wait_for_it_on_the_province(
    province: LiveServer, tmp_path: Path
) -> None:
    county_path = str(tmp_path / "county.db")
    load_demo_reference(county_path)
    county = init_db(county_path)
    zhang = Envoy(county, "张三")
    session = zhang.session()
    for n in range(4):
        zhang.checkin(session, zhang.farmer(f"农户{n}"))
    # Edited before the first forward: the session's version now comes after its check-ins.
    zhang.update("session", session, {"title": "改过的标题"})
    issuing = init_db(province.db_path)
    code = issue_link_code(issuing, "530102").code
    issuing.close()
    forward.enroll(county, province.url, code)

    done = forward.push_once(county, limit=3)
    assert done.held >= 1 and done.refused == []
    assert count(province.db_path, "held_changes") == 0
    assert count(province.db_path, "attendances") == 4
    with opened(province.db_path) as conn:
        title = conn.execute("SELECT title FROM sessions WHERE id = ?", [session]).fetchone()[0]
    assert title == "改过的标题"
    county.close()


def test_a_sessions_co_envoy_reaches_the_province_with_it(
    province: LiveServer, tmp_path: Path
) -> None:
    with opened(province.db_path) as conn:
        conn.execute("DELETE FROM envoys WHERE name IN ('李梅', '张三')")
    county_path = str(tmp_path / "county.db")
    load_demo_reference(county_path)
    county = init_db(county_path)
    zhang = Envoy(county, "张三")
    li = county.execute("SELECT id FROM envoys WHERE name = '李梅'").fetchone()[0]
    session = zhang.session()
    zhang.update("session", session, {"co_envoy_ids": [li]})
    issuing = init_db(province.db_path)
    code = issue_link_code(issuing, "530102").code
    issuing.close()
    forward.enroll(county, province.url, code)
    assert forward.push_once(county).refused == []
    with opened(province.db_path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM envoys")}
    assert {"张三", "李梅"} <= names
    county.close()


def test_a_session_whose_lead_changed_before_it_went_up_is_taken_as_the_county_kept_it(
    province: LiveServer, tmp_path: Path
) -> None:
    county_path = str(tmp_path / "county.db")
    load_demo_reference(county_path)
    county = init_db(county_path)
    zhang = Envoy(county, "张三")
    li = county.execute("SELECT id FROM envoys WHERE name = '李梅'").fetchone()[0]
    session = zhang.session()
    farmer = zhang.farmer()
    zhang.checkin(session, farmer)
    # 张三 made it, then handed it to 李梅 as lead: he is no longer its lead or co-envoy.
    zhang.update("session", session, {"lead_envoy_id": li})
    issuing = init_db(province.db_path)
    code = issue_link_code(issuing, "530102").code
    issuing.close()
    forward.enroll(county, province.url, code)
    done = forward.push_once(county)
    assert done.refused == [] and done.held == 0
    with opened(province.db_path) as conn:
        lead = conn.execute("SELECT lead_envoy_id FROM sessions WHERE id = ?", [session])
        # 李梅 under her id on the province: from her county and name, not the county's id.
        assert lead.fetchone()[0] == envoy_id_up("530102", "李梅") != li
    assert count(province.db_path, "attendances") == 1
    county.close()


def test_a_chunk_naming_no_envoy_asks_for_none(db_path: str) -> None:
    """A forward whose records name no envoy (a county's later changes to rows without one)
    looks up no envoys: an empty `IN ()` is a syntax error on PostgreSQL."""
    load_demo_reference(db_path)
    with opened(db_path) as db:
        assert forward.envoys_up(db, "530102", set()) == {}
        zhang = db.execute("SELECT id FROM envoys WHERE name = '张三'").fetchone()[0]
        up = forward.envoys_up(db, "530102", {zhang})
    assert up[zhang]["id"] == envoy_id_up("530102", "张三") and up[zhang]["name"] == "张三"
