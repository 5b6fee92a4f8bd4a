"""The farmer's village list (issue 19.7): the session's village first, then its township's,
then the county's; every name the county has twice carries its township."""

from __future__ import annotations

from pathlib import Path

from field_client.farmer_villages import villages_for
from field_client.store import FieldStore
from shared import protocol as p
from tests.field_client.web.conftest import make_store

COUNTY = "530102"


def county_units(townships: int = 11, per_township: int = 18) -> list[dict[str, str]]:
    """A county like the report's: 198 villages, 14 of their names in two townships."""
    units = []
    for t in range(1, townships + 1):
        township = f"{COUNTY}{t:03d}000"
        units.append(
            {
                "code": township,
                "name": f"第{t}镇",
                "parent_code": "530102000000",
                "level": "township",
            }
        )
        for v in range(1, per_township + 1):
            code = f"{COUNTY}{t:03d}{v:03d}"
            # Townships 2 and 3 share their first seven names, 4 and 5 theirs: 14 namesakes.
            shared = t in (2, 3, 4, 5) and v <= 7
            name = f"同名{t // 2}-{v}村" if shared else f"村{t}-{v}"
            units.append({"code": code, "name": name, "parent_code": township, "level": "village"})
    return units


def county_store(path: Path) -> FieldStore:
    store = make_store(str(path))
    store.apply_pull([{"k": p.UNIT, "r": unit} for unit in county_units()], 2)
    return store


def test_the_sessions_village_then_its_township_then_the_rest(tmp_path: Path) -> None:
    store = county_store(tmp_path / "field.db")
    own = f"{COUNTY}007009"
    options = villages_for(store, {"unit_code": own})
    codes = [o.code for o in options]
    assert codes[0] == own
    township = [code for code in codes[1:18] if code.startswith(f"{COUNTY}007")]
    assert len(township) == 17 and township == sorted(township)
    assert all(not code.startswith(f"{COUNTY}007") for code in codes[18:])
    assert len(codes) == len(set(codes)) >= 198
    store.close()


def test_names_the_county_has_twice_carry_their_township(tmp_path: Path) -> None:
    store = county_store(tmp_path / "field.db")
    options = villages_for(store, {"unit_code": f"{COUNTY}002001"})
    labels = {o.code: o.label for o in options}
    assert labels[f"{COUNTY}002001"] == "同名1-1村（第2镇）"
    assert labels[f"{COUNTY}003001"] == "同名1-1村（第3镇）"
    assert labels[f"{COUNTY}002008"] == "村2-8"  # unique: the name alone
    assert len([label for label in labels.values() if "（" in label]) == 28
    assert len(set(labels.values())) == len(labels)  # every label tells its village apart
    store.close()


def test_a_township_session_starts_with_its_villages(tmp_path: Path) -> None:
    store = county_store(tmp_path / "field.db")
    options = villages_for(store, {"unit_code": f"{COUNTY}004000"})
    assert all(o.code.startswith(f"{COUNTY}004") for o in options[:18])
    store.close()
