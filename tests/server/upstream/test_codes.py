"""A county's link code: issued for a known county, used once, before it expires."""

from __future__ import annotations

import pytest

from server.store.db import init_db
from server.sync.devices import BadCodeLifetime
from server.upstream.codes import BadUpstreamCode, UnknownCounty, enrol_link, issue_link_code
from tests.helpers import load_demo_reference


def links(db_path: str) -> int:
    db = init_db(db_path)
    try:
        return int(
            db.execute("SELECT count(*) FROM devices WHERE county_code IS NOT NULL").fetchone()[0]
        )
    finally:
        db.close()


def test_a_code_enrols_one_link_of_its_county_once(db_path: str) -> None:
    load_demo_reference(db_path)
    db = init_db(db_path)
    issued = issue_link_code(db, "530102")
    assert issued.county_name == "示范县" and len(issued.code) == 14
    # Typed in lower case and without dashes, as people do.
    link = enrol_link(db, issued.code.replace("-", "").lower(), "示范县")
    assert link.county_code == "530102" and len(link.token) > 30
    stored = db.execute("SELECT token_hash, envoy_id FROM devices WHERE id = ?", [link.device_id])
    token_hash, envoy_id = stored.fetchone()
    assert envoy_id is None and link.token not in token_hash
    with pytest.raises(BadUpstreamCode) as again:
        enrol_link(db, issued.code, "示范县")
    assert "上报登记码无效" in again.value.message and "ask the province" in again.value.message
    assert again.value.status == 403
    db.close()
    assert links(db_path) == 1


@pytest.mark.parametrize("code", ["", "AAAA-BBBB-CCCC", "' OR 1=1 --", "码" * 30])
def test_a_bad_code_is_refused_and_nothing_is_written(db_path: str, code: str) -> None:
    load_demo_reference(db_path)
    db = init_db(db_path)
    issue_link_code(db, "530102")
    with pytest.raises(BadUpstreamCode):
        enrol_link(db, code, "x")
    db.close()
    assert links(db_path) == 0


def test_an_expired_code_is_refused(db_path: str) -> None:
    load_demo_reference(db_path)
    db = init_db(db_path)
    issued = issue_link_code(db, "530102", minutes=1)
    db.execute("UPDATE upstream_codes SET expires_at = '2020-01-01T00:00:00Z'")
    db.conn.commit()
    with pytest.raises(BadUpstreamCode):
        enrol_link(db, issued.code, "x")
    db.close()
    assert links(db_path) == 0


@pytest.mark.parametrize("county", ["999999", "530102001", "53010", "abcdef", ""])
def test_a_code_is_issued_only_for_a_county_loaded_here(db_path: str, county: str) -> None:
    load_demo_reference(db_path)
    db = init_db(db_path)
    with pytest.raises(UnknownCounty) as refused:
        issue_link_code(db, county)
    assert "没有这个县级单位" in refused.value.message and "no such county" in refused.value.message
    with pytest.raises(BadCodeLifetime):
        issue_link_code(db, "530102", minutes=0)
    assert db.execute("SELECT count(*) FROM upstream_codes").fetchone()[0] == 0
    db.close()
