"""The lists behind a figure search the same way on every engine: letters in any case (SQLite's
LIKE ignored ASCII case; PostgreSQL's does not, so both sides are lower-cased)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlite_utils import Database

from server.figures import drilldown
from server.figures.counted import Scope
from server.figures.drilldown import Filters
from shared import protocol as p
from tests.server.fieldwork import Envoy, report_db


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


def test_a_search_matches_letters_in_any_case(db: Database) -> None:
    zhang = Envoy(db, "张三")
    ipm = zhang.session()
    zhang.update(p.SESSION, ipm, {"title": "IPM 绿色防控培训"})
    zhang.session()
    for text in ("ipm", "IPM", "Ipm", "绿色"):
        found = drilldown.sessions(db, Scope(2026), Filters(search=text), 50, 0)
        assert found.total == 1 and [row["id"] for row in found.rows] == [ipm], text
    assert drilldown.sessions(db, Scope(2026), Filters(search="ipx"), 50, 0).total == 0
