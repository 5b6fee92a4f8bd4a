"""What forms pick from by name, and the roster search (name, village, last four digits)."""

from __future__ import annotations

from field_client import pickers
from field_client.store import FieldStore
from shared import protocol as p
from tests.field_client.web.conftest import make_store, new_farmer, new_session
from tests.field_client.web.envoy_forms import OTHER_ENVOY, TECH, add_reference
from tests.helpers import VILLAGE_EAST, VILLAGE_WEST


def test_choices_name_villages_with_their_township_and_leave_out_oneself(tmp_path) -> None:
    store = make_store(str(tmp_path / "f.db"))
    add_reference(store)
    found = pickers.choices(store)
    assert [(o.value, o.label) for o in found.villages] == [
        (VILLAGE_EAST, "城关镇/东村"),
        (VILLAGE_WEST, "城关镇/西村"),
    ]
    assert [o.value for o in found.technologies] == [TECH]
    assert [o.value for o in found.envoys] == [OTHER_ENVOY]


def test_roster_search_by_name_village_and_last_four(tmp_path) -> None:
    store: FieldStore = make_store(str(tmp_path / "f.db"))
    session_id = new_session(store)
    li = new_farmer(store, "李四", "13812345678")
    wang = store.create(
        p.FARMER, {"name": "王五", "mobile": "13900001111", "village_code": VILLAGE_WEST}
    )
    store.checkin(session_id, li, "roster", store.best_now_iso())

    def found(text: str) -> list[tuple[str, bool]]:
        return [(r.farmer.id, r.checked_in) for r in pickers.find_farmers(store, text, session_id)]

    assert found("李") == [(li, True)]
    assert found("1111") == [(wang, False)]
    assert found("西村") == [(wang, False)]
    assert found("5678") == [(li, True)]
    assert found("无此人") == []
    assert all("*" in r.farmer.mobile for r in pickers.find_farmers(store, "村"))
