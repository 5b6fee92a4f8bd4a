"""A pull whose cursor is at the server's last sequence number reads no record table: devices
polling for news cost a few statements, not one per kind (a round trip each on PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from server.sync import pull
from shared import protocol as p
from shared.ids import new_id
from tests.server.test_api import Device, farmer_fields


@pytest.fixture
def tables_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kinds whose table each pull queried, in order."""
    read: list[str] = []
    original = pull._changed_rows

    def counted(db: Any, device: Any, kind: str, *rest: Any) -> list[dict[str, Any]]:
        read.append(kind)
        return original(db, device, kind, *rest)

    monkeypatch.setattr(pull, "_changed_rows", counted)
    return read


def test_a_pull_with_nothing_new_reads_no_record_table(
    client: FlaskClient, db_path: str, tables_read: list[str]
) -> None:
    zhang, li = Device(client, db_path, "张三"), Device(client, db_path, "李梅")
    cursor = zhang.pull()["cursor"]
    assert cursor > 0  # the reference data came down
    tables_read.clear()

    for _ in range(3):
        page = zhang.pull(cursor)
        assert (page["records"], page["cursor"], page["more"]) == ([], cursor, False)
        assert page["held"] == [] and page["held_count"] == 0
    assert tables_read == []

    # News after the cursor is still found, in every table as before.
    farmer = new_id()
    assert li.push([li.change(p.FARMER, farmer_fields("钱七"), farmer)])["applied"] == [[1, 1]]
    page = zhang.pull(cursor)
    assert [r["r"]["id"] for r in page["records"]] == [farmer]
    assert page["cursor"] > cursor
    assert set(tables_read) == set(p.PULLED_KINDS)


def test_a_cursor_from_beyond_the_last_number_still_answers_empty(
    client: FlaskClient, db_path: str, tables_read: list[str]
) -> None:
    """A device restored against a server with fewer numbers keeps its cursor, as before."""
    zhang = Device(client, db_path, "张三")
    high = zhang.pull()["cursor"]
    tables_read.clear()
    page = zhang.pull(high + 1000)
    assert (page["records"], page["cursor"], page["more"]) == ([], high + 1000, False)
    assert tables_read == []
