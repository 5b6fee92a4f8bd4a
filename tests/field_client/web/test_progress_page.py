"""The envoy's progress page: a growth target with no last year on this device says so
(无上年数据) and is never shown as met (issue 19.9, the field side of the same rule)."""

from __future__ import annotations

import re

from field_client import operations as ops
from shared import protocol as p
from tests.field_client.web.conftest import ENVOY


def test_growth_with_no_last_year_reads_no_last_year_data(envoy, store) -> None:
    year = ops.today(store).year
    target = {
        "id": "g",
        "year": year,
        "unit_code": None,
        "envoy_id": ENVOY,
        "indicator": "village_trainings",
        "comparator": ">=",
        "value": None,
        "basis": "growth",
        "growth_percent": 10,
    }
    store.apply_pull([{"k": p.TARGET, "r": target}], 5)
    page = envoy.get("/envoy/progress/").get_data(as_text=True)
    row = re.search(r'<tr data-indicator="village_trainings">(.*?)</tr>', page, re.S)
    assert row, "no village trainings row"
    assert "无上年数据" in row.group(1)
    assert "已达标" not in row.group(1) and 'class="tag green"' not in row.group(1)
