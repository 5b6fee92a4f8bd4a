"""Which records on a province are a county's copies, and the rule pages ask before editing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.store.county_links import CountyRecordReadOnly, check_editable, in_county, links
from shared import protocol as p
from tests.server.fieldwork import Envoy
from tests.server.upstream.provinces import Province, open_province
from tests.server.upstream.test_accept import forwarded_session


@pytest.fixture
def province(db_path: str, tmp_path: Path) -> Iterator[Province]:
    yield from open_province(db_path, tmp_path)


def test_a_township_is_in_a_county_by_its_first_six_digits() -> None:
    assert in_county("530102001000", "530102")
    assert not in_county("530103001000", "530102")
    assert not in_county(None, "530102") and not in_county("", "530102")


def test_only_a_links_records_are_read_only(province: Province) -> None:
    assert links(province.db) == {
        province.link_a.id: "530102",
        province.link_b.id: "530103",
    }
    county_copy = forwarded_session(province)
    with pytest.raises(CountyRecordReadOnly) as refused:
        check_editable(province.db, p.SESSION, county_copy)
    assert refused.value.county_code == "530102"
    own = Envoy(province.db, "王五").session(unit_code="530102002001")
    check_editable(province.db, p.SESSION, own)
    check_editable(province.db, p.SESSION, "no-such-record")
