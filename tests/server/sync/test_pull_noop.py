"""A pull whose cursor is at the server's last sequence number reads no record table: devices
polling for news cost one statement (the token's lookup, with where the server and the device
stand), not one per kind (a round trip each on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.store import database, db
from server.store.db import get_state, init_db
from server.sync import devices, pull
from shared import protocol as p
from shared.ids import new_id
from tests.server.test_api import PULL, Device, checkin_fields, farmer_fields


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


class Statements:
    """Every statement the server runs on its database from `start()`, on either engine."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ran: list[str] = []
        self._counting = False
        self._traced: Any = None
        original = database.PgConnection.execute

        def counted(conn: database.PgConnection, sql: str, params: Any = None) -> Any:
            if self._counting:
                self.ran.append(sql)
            return original(conn, sql, params)

        monkeypatch.setattr(database.PgConnection, "execute", counted)

    def start(self) -> None:
        """Count from now. SQLite: the test client runs requests on this thread, whose
        connection is kept between requests, so its trace sees every statement."""
        self.ran.clear()
        self._counting = True
        kept = getattr(db._per_thread, "db", None)
        if kept is not None and not isinstance(kept, database.PgDatabase):
            kept.conn.set_trace_callback(self.ran.append)
            self._traced = kept.conn

    def stop(self) -> None:
        self._counting = False
        if self._traced is not None:
            self._traced.set_trace_callback(None)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[Statements]:
    counter = Statements(monkeypatch)
    yield counter
    counter.stop()


def test_a_pull_with_nothing_new_is_one_statement(
    client: FlaskClient, db_path: str, statements: Statements
) -> None:
    """The token's row and where the server and the device stand, read together: no
    BEGIN/COMMIT, no separate read of the server's clock or held changes."""
    zhang = Device(client, db_path, "张三")
    cursor = zhang.pull()["cursor"]
    zhang.pull(cursor)  # the first no-op pull notes the device's contact (a write, once a minute)
    statements.start()
    page = zhang.pull(cursor)
    statements.stop()
    assert (page["records"], page["cursor"], page["more"]) == ([], cursor, False)
    ran = statements.ran
    assert len(ran) == 1, ran
    assert "token_hash" in ran[0] and "server_state" in ran[0] and "held_changes" in ran[0]


def test_a_pull_with_nothing_new_answers_what_the_server_holds_now(
    client: FlaskClient, db_path: str
) -> None:
    """Its one read brings the server's clock, the device's last applied change and the
    changes held for it, as a pull that reads records does."""
    zhang = Device(client, db_path, "张三")
    farmer_id, session_id = new_id(), new_id()
    answer = zhang.push(
        [
            zhang.change(p.FARMER, farmer_fields(), farmer_id),
            zhang.change(p.ATTENDANCE, checkin_fields(session_id, farmer_id)),
        ]
    )
    assert answer["answers"] == [{"q": 2, "s": p.HELD}]
    cursor = zhang.pull()["cursor"]
    page = zhang.pull(cursor)
    assert (page["records"], page["cursor"], page["more"]) == ([], cursor, False)
    assert page["device_max_seq"] == 2
    assert page["held_count"] == 1
    assert [(h["q"], h["k"], h["wi"]) for h in page["held"]] == [(2, p.ATTENDANCE, session_id)]
    stored = init_db(db_path)
    try:
        assert page["server_hlc"] == get_state(stored, "hlc") != ""
    finally:
        stored.close()


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


def test_a_device_revoked_elsewhere_is_refused_at_its_next_pull(
    client: FlaskClient, db_path: str
) -> None:
    """The token is read on every pull, in the pull's one statement: a device revoked through
    another connection (another app process) is refused at once, not after a cache expires."""
    zhang = Device(client, db_path, "张三")
    cursor = zhang.pull()["cursor"]
    assert zhang.pull(cursor)["records"] == []
    other = init_db(db_path)
    try:
        devices.revoke(other, zhang.id)
    finally:
        other.close()
    refused = client.get(PULL, query_string={"cursor": cursor}, headers=zhang.headers)
    assert refused.status_code == 401
    assert "revoked" in refused.get_json()["message"]
