"""One record shown field by field: referenced ids named, on either engine."""

from __future__ import annotations

from server.quality.record_detail import record_detail, referenced_names
from server.store.db import init_db
from shared import protocol as p
from tests.helpers import load_demo_reference
from tests.server.fieldwork import Envoy


def test_a_sessions_lead_and_village_are_named_and_no_ids_name_nothing(db_path: str) -> None:
    load_demo_reference(db_path)
    db = init_db(db_path)
    zhang = Envoy(db, "张三")
    session_id = zhang.session()
    shown = {f.name: f.shown for f in record_detail(db, p.SESSION, session_id).fields}
    assert shown["lead_envoy_id"] == "张三"
    assert shown["unit_code"] != "" and not shown["unit_code"].isdigit()
    assert referenced_names(db, "co_envoy_ids", []) == []
    assert referenced_names(db, "lead_envoy_id", [zhang.envoy_id, "no-such-id"]) == [
        "张三",
        "no-such-id",
    ]
