"""A county staff's farmer merges up its link: made on the province between the county's own
copies once their records arrived, once; refused for any other farmer (server/upstream/merges_up.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.farmers.merges import merge
from server.store.db import init_db, open_db
from server.upstream import forward, merges_up
from server.upstream.codes import issue_link_code
from server.upstream.merges_up import LATER, MERGED, REFUSED, SAME, accept_merges
from tests.helpers import LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy
from tests.server.upstream.provinces import Province


@pytest.fixture
def live_province(new_db_path: Callable[[str], str]) -> Iterator[LiveServer]:
    db_path = new_db_path("province")
    load_demo_reference(db_path)
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def aliases(db_path: str) -> dict[str, str]:
    db = open_db(db_path)
    try:
        return {
            str(row[0]): str(row[1])
            for row in db.execute("SELECT id, canonical_id FROM farmer_aliases").fetchall()
        }
    finally:
        db.close()


def test_a_countys_merge_goes_up_once_after_its_farmers(
    live_province: LiveServer, tmp_path: Path
) -> None:
    county_path = str(tmp_path / "county.db")
    load_demo_reference(county_path)
    county = init_db(county_path)
    zhang = Envoy(county, "张三")
    # One person written twice, differently: no rule matches them, the county's staff merge.
    first = zhang.farmer("王大", mobile="13800001111")
    second = zhang.farmer("王 大", mobile="13900002222")
    merge(county, second, first, "科员")
    issuing = init_db(live_province.db_path)
    code = issue_link_code(issuing, "530102").code
    issuing.close()
    forward.enroll(county, live_province.url, code, "示范县")
    # The merge waits for its farmers: the province has neither yet.
    assert merges_up.send_merges(county) == merges_up.MergesSent(later=1)
    assert forward.link_of(county)["merge_cursor"] == 0
    forward.push_once(county)
    assert merges_up.send_merges(county) == merges_up.MergesSent(merged=1)
    assert aliases(live_province.db_path) == {second: first}
    # The next run sends nothing; sent again after a lost cursor, it is already one person.
    assert merges_up.send_merges(county) == merges_up.MergesSent()
    county.execute("UPDATE upstream_link SET merge_cursor = 0")
    county.conn.commit()
    assert merges_up.send_merges(county) == merges_up.MergesSent(same=1)
    assert aliases(live_province.db_path) == {second: first}
    county.close()


def test_a_link_merges_only_its_own_countys_copies(province: Province) -> None:
    db = province.db
    # 张三's farmers made on the province itself, and one of them as county A's link sent it.
    own = Envoy(db, "张三")
    here, there = own.farmer("本省的"), own.farmer("另一个")
    assert accept_merges(db, province.link_a, [{"id": here, "canonical_id": there}]) == [REFUSED]
    assert accept_merges(db, province.link_a, [{"id": here, "canonical_id": "nobody"}]) == [LATER]
    db.execute(
        "UPDATE farmers SET device_id = ? WHERE id IN (?, ?)", [province.link_a.id, here, there]
    )
    db.conn.commit()
    # County B's link may not merge county A's copies.
    assert accept_merges(db, province.link_b, [{"id": here, "canonical_id": there}]) == [REFUSED]
    pair = [{"id": here, "canonical_id": there}]
    assert accept_merges(db, province.link_a, pair) == [MERGED]
    assert accept_merges(db, province.link_a, pair) == [SAME]
    assert (
        db.execute("SELECT canonical_id FROM farmer_aliases WHERE id = ?", [here]).fetchone()[0]
        == there
    )
