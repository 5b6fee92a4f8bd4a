"""The envoys a menu offers (server/reference/lists.py): where two share a name (two counties'
李四 on a province), each is labelled with the townships it serves, so a user picks the right one;
and the units a scope menu offers, found through the units' (level, code) index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.reference import lists as listings
from server.reference import load as reference
from server.reference.county_envoys import envoy_id_up
from server.reference.load import ensure_envoy
from server.store import dialect
from server.store.db import init_db
from tests.helpers import sign_in
from tests.server.reference.test_lookups import two_named_lisi
from tests.server.summaries.test_bulk import plan_of


def test_envoys_sharing_a_name_are_told_apart_by_their_townships(app: Flask, db_path: str) -> None:
    first, second = two_named_lisi(db_path)
    db = init_db(db_path)
    try:
        labels = {row["id"]: row["label"] for row in listings.envoys(db)}
        users.add_user(db, "admin", users.ADMIN, "admin-password")
        db.conn.commit()
    finally:
        db.close()
    assert labels[first] != labels[second]
    assert all(labels[one].startswith("李四（") for one in (first, second))
    # A name only one envoy carries is shown as it is.
    assert "张三" in labels.values()
    client = app.test_client()
    assert sign_in(client, "admin", "admin-password").status_code == 302
    for path in ("/flags?year=2026", "/targets/?year=2026", "/admin/users"):
        page = client.get(path).get_data(as_text=True)
        assert labels[first] in page and labels[second] in page, path


UNITS = """code,name,parent_code,level
530000,云南省,,province
530100,一市,530000,city
530101,甲县,530100,county
530101001,甲镇,530101,township
530102,乙县,530100,county
530102001,乙一镇,530102,township
530102001001,乙一村,530102001,village
530102002,乙二镇,530102,township
530102999,乙末镇,530102,township
530103,丙县,530100,county
530103001,丙镇,530103,township
540000,西藏,,province
540102,远县,,county
540102001,远镇,540102,township
"""


@pytest.fixture
def menu_units(tmp_path: Path, db_path: str) -> Database:
    """Two provinces, a city, four counties and the townships of each, beside one another
    in code order so a county's townships border its neighbours'."""
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    db = init_db(db_path)
    reference.load_units(db, str(tmp_path / "units.csv"))
    db.conn.commit()
    return db


def offered(every: list[dict[str, Any]], current: str | None, within: str) -> list[str]:
    """What unit_choices says it offers: every province, city and county, the townships of
    the current unit's county, the current unit itself; within the area; in code order."""
    county = (current or "")[:6]
    return sorted(
        row["code"]
        for row in every
        if row["code"].startswith(within)
        and (
            row["level"] in ("province", "city", "county")
            or (row["level"] == "township" and county and row["code"][:6] == county)
            or row["code"] == current
        )
    )


def test_the_scope_menu_offers_what_it_did(menu_units: Database) -> None:
    db = menu_units
    every = list(db.query("SELECT code, level FROM units"))
    for current in (
        None,
        "530000000000",
        "530102000000",
        "530102002000",
        "530102001001",
        "530103000000",
        "540102000000",
    ):
        for within in ("", "53", "5301", "530102"):
            got = [row["code"] for row in listings.unit_choices(db, current, within)]
            got = [code for code in got if code]  # the whole server's own choice
            assert got == offered(every, current, within), (current, within)
    townships = [
        row["code"]
        for row in listings.unit_choices(db, "530102000000")
        if row["level"] == "township"
    ]
    assert townships == ["530102001000", "530102002000", "530102999000"]
    db.close()


def test_the_scope_menu_seeks_the_units_index(
    menu_units: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nation's 240,000 units: testing every township's code for the county's (or, before
    the index, every unit's level) took 3 ms (51 ms) a page; a seek of the county's range
    takes 1."""
    db = menu_units
    asked: list[tuple[str, list[Any]]] = []
    query = type(db).query

    def recorded(self: Database, sql: str, params: Any = None) -> Any:
        asked.append((sql, list(params or [])))
        return query(self, sql, params)

    monkeypatch.setattr(type(db), "query", recorded)
    listings.unit_choices(db, "530102001001")
    monkeypatch.undo()
    [(sql, params)] = asked
    plan = plan_of(db, sql, params)
    if dialect.is_postgresql(db):
        # A test's few units are read whole whatever the query says: what PostgreSQL is
        # given is the county's townships as a range of codes its index can seek.
        assert "(code > '530102000000'::text) AND (code < '530102:'::text)" in plan, plan
        assert "substr" not in plan, plan
    else:
        assert "SCAN units" not in plan, plan
        assert "idx_units_level (level=? AND code>? AND code<?)" in plan, plan
    db.close()


def test_the_envoys_menu_names_only_the_townships_served(
    menu_units: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each envoy's townships by name (a code no unit has, as its code), labels where a name
    is shared, and an area's envoys only; the units named are looked up, never every unit read
    (a nation's 240,000, most of the time of each page offering envoys)."""
    db = menu_units
    ids = {
        "wang": ensure_envoy(db, "王五", ["530102001", "530102999"])["id"],
        "li-a": ensure_envoy(db, "李四", ["530101001"], envoy_id_up("530101", "李四"))["id"],
        "li-b": ensure_envoy(db, "李四", ["540102001"], envoy_id_up("540102", "李四"))["id"],
        "zhao": ensure_envoy(db, "赵六", ["530103009"])["id"],
    }
    db.conn.commit()
    key_of = {envoy_id: key for key, envoy_id in ids.items()}
    asked: list[str] = []
    query, execute = type(db).query, type(db).execute

    def queried(self: Database, sql: str, params: Any = None) -> Any:
        asked.append(sql)
        return query(self, sql, params)

    def executed(self: Database, sql: str, params: Any = None) -> Any:
        asked.append(sql)
        return execute(self, sql, params)

    monkeypatch.setattr(type(db), "query", queried)
    monkeypatch.setattr(type(db), "execute", executed)
    every = {key_of[row["id"]]: row for row in listings.envoys(db)}
    within = [key_of[row["id"]] for row in listings.envoys(db, "5301")]
    monkeypatch.undo()
    assert {key: (row["townships"], row["label"]) for key, row in every.items()} == {
        "wang": ("乙一镇、乙末镇", "王五"),
        "li-a": ("甲镇", "李四（甲镇）"),
        "li-b": ("远镇", "李四（远镇）"),
        "zhao": ("530103009000", "赵六"),
    }
    assert every["wang"]["township_codes"] == "530102001000 530102999000"
    assert sorted(within) == ["li-a", "wang", "zhao"]
    units_read = [sql for sql in asked if "FROM units" in sql]
    assert units_read, asked
    assert all("WHERE" in sql for sql in units_read), units_read
    db.close()
