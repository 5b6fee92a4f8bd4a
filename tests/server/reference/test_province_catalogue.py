"""The province's catalogue down a county's link: the province's rows read-only there, the county's own
rows its own (server/reference/province_catalogue.py, server/store/province_rows.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.reference import load as reference
from server.reference.province_catalogue import catalogue_for_county, take_province_catalogue
from server.store.db import get_state, init_db
from server.store.province_rows import ProvinceOwned, owned_ids
from shared import protocol as p
from tests.helpers import DATA, TECH_MAIZE, TECH_POTATO, load_demo_reference


def catalogue_file(tmp_path: Path, lines: str) -> str:
    path = tmp_path / f"catalog-{len(list(tmp_path.glob('catalog-*')))}.csv"
    path.write_text("type,name,crop,category\n" + lines, encoding="utf-8")
    return str(path)


def category_of(db: object, technology_id: str) -> str | None:
    row = db.execute(  # type: ignore[attr-defined]
        "SELECT category FROM technologies WHERE id = ?", [technology_id]
    ).fetchone()
    return row[0] if row else None


def test_the_provinces_catalogue_becomes_read_only_on_the_county(
    db_path: str, tmp_path: Path
) -> None:
    province = init_db(str(tmp_path / "province.db"))
    reference.load_catalogue(province, str(DATA / "catalog.csv"))
    # The province gives potato a category of its own; maize stays only the county's.
    reference.load_catalogue(
        province,
        catalogue_file(
            tmp_path, "technology,马铃薯脱毒种薯技术,,良种繁育\nvariety,云薯304,马铃薯,\n"
        ),
    )
    sent = [row for row in catalogue_for_county(province) if row["id"] != TECH_MAIZE]
    assert {row["kind"] for row in sent} == {p.TECHNOLOGY, p.VARIETY, p.LEAFLET_TITLE}

    load_demo_reference(db_path)
    county = init_db(db_path)
    written, handed_back = take_province_catalogue(county, sent)
    assert written >= 1 and handed_back == 0
    assert category_of(county, TECH_POTATO) == "良种繁育"
    assert TECH_POTATO in owned_ids(county, p.TECHNOLOGY)
    assert TECH_MAIZE not in owned_ids(county, p.TECHNOLOGY)
    # The next run of the timer writes nothing (devices pull nothing new).
    seq = get_state(county, "seq")
    assert take_province_catalogue(county, sent) == (0, 0)
    assert get_state(county, "seq") == seq

    # The county's own file may not change the province's row, and then writes nothing at all.
    changed = catalogue_file(
        tmp_path, "technology,玉米高产栽培,,县里的类别\ntechnology,马铃薯脱毒种薯技术,,别的类别\n"
    )
    with pytest.raises(ProvinceOwned) as refused:
        reference.load_catalogue(county, changed)
    assert "技术 马铃薯脱毒种薯技术 由省级下达，本县只读" in refused.value.message
    assert "read-only here" in refused.value.message and refused.value.status == 403
    assert category_of(county, TECH_POTATO) == "良种繁育"
    assert category_of(county, TECH_MAIZE) != "县里的类别"
    # A file that repeats the province's row as it is, and changes the county's own, is fine.
    reference.load_catalogue(
        county,
        catalogue_file(
            tmp_path,
            "technology,玉米高产栽培,,县里的类别\ntechnology,马铃薯脱毒种薯技术,,良种繁育\n",
        ),
    )
    assert category_of(county, TECH_MAIZE) == "县里的类别"

    # A row the province no longer lists goes back to the county, which may then change it.
    assert take_province_catalogue(county, [r for r in sent if r["id"] != TECH_POTATO]) == (0, 1)
    reference.load_catalogue(county, changed)
    assert category_of(county, TECH_POTATO) == "别的类别"


def test_a_bad_row_from_the_province_takes_nothing(db_path: str) -> None:
    load_demo_reference(db_path)
    county = init_db(db_path)
    good = {"kind": p.TECHNOLOGY, "id": TECH_MAIZE, "name": "玉米高产栽培", "category": "新"}
    bad = {"kind": p.VARIETY, "id": "x", "name": "", "crop": "玉米"}
    unknown = {"kind": "unit", "id": TECH_MAIZE}
    with pytest.raises(reference.BadReferenceFile) as refused:
        take_province_catalogue(county, [good, bad, unknown])
    assert "第 2 行 / line 2" in refused.value.message
    assert "第 3 行 / line 3" in refused.value.message
    assert category_of(county, TECH_MAIZE) != "新"
    assert not owned_ids(county, p.TECHNOLOGY)
