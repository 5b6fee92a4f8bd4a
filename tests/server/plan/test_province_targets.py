"""Targets a province sets for a county: taken as the county's own, read-only there."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.plan import targets
from server.plan.province_targets import take_province_targets, targets_for_county
from server.plan.target_files import load_targets_file
from server.plan.targets import InvalidTarget
from server.store.db import get_state, init_db
from server.store.province_rows import ProvinceOwned
from tests.helpers import DATA, load_demo_reference

SENT = [
    {
        "year": 2026,
        "unit_code": "530102000000",
        "indicator": "trainee_attendances",
        "comparator": ">",
        "value": 4000.0,
        "growth_percent": None,
    },
    {
        "year": 2026,
        "unit_code": "530102001000",
        "indicator": "village_trainings",
        "comparator": ">=",
        "value": 3.0,
        "growth_percent": None,
    },
]


def test_the_provinces_targets_become_the_countys_and_are_read_only(db_path: str) -> None:
    load_demo_reference(db_path)
    db = init_db(db_path)
    assert take_province_targets(db, SENT) == (2, 0)
    seq = get_state(db, "seq")
    # The next run of the timer writes nothing.
    assert take_province_targets(db, SENT) == (0, 0)
    assert get_state(db, "seq") == seq
    county = {
        t.indicator: t.value
        for t in targets.list_targets(db, 2026)
        if t.unit_code == "530102000000"
    }
    assert county["trainee_attendances"] == 4000
    with pytest.raises(ProvinceOwned) as refused:
        targets.set_target(
            db,
            {
                "year": 2026,
                "unit_code": "530102",
                "indicator": "trainee_attendances",
                "comparator": ">",
                "value": 10,
            },
        )
    assert refused.value.status == 403
    assert (
        "由省级下达，本县只读" in refused.value.message
        and "read-only here" in refused.value.message
    )
    with pytest.raises(ProvinceOwned):
        targets.delete_target(db, "2026:530102001000:village_trainings")
    with pytest.raises(ProvinceOwned):
        load_targets_file(db, str(DATA / "targets.yaml"))
    county = {
        t.indicator: t.value
        for t in targets.list_targets(db, 2026)
        if t.unit_code == "530102000000"
    }
    assert county["trainee_attendances"] == 4000
    # A target of the county's own stays its own to change.
    targets.set_target(
        db,
        {
            "year": 2026,
            "unit_code": "530102",
            "indicator": "tv_lectures",
            "comparator": ">=",
            "value": 5,
        },
    )
    # The province stops setting one: it leaves the county, and is the county's to set again.
    assert take_province_targets(db, SENT[:1]) == (0, 1)
    assert targets.delete_target(db, "2026:530102001000:village_trainings") is False
    targets.set_target(
        db,
        {
            "year": 2026,
            "unit_code": "530102001",
            "indicator": "village_trainings",
            "comparator": ">=",
            "value": 9,
        },
    )
    db.close()


def test_a_bad_target_from_the_province_is_refused_whole(db_path: str) -> None:
    load_demo_reference(db_path)
    db = init_db(db_path)
    bad = {**SENT[1], "indicator": "no_such_indicator"}
    with pytest.raises(InvalidTarget):
        take_province_targets(db, [SENT[0], bad])
    assert db.execute("SELECT count(*) FROM province_rows").fetchone()[0] == 0
    db.close()


def test_the_province_sends_a_county_its_unit_targets_only(db_path: str, tmp_path: Path) -> None:
    load_demo_reference(db_path)
    db = init_db(db_path)
    sent = targets_for_county(db, "530102")
    assert sent and all(t["unit_code"].startswith("530102") for t in sent)
    assert targets_for_county(db, "530103") == []
    db.close()
