"""Finding an envoy by name (server/reference/lookups.py): on a province two counties' envoys
may share a name (each with an id from county and name, server/upstream/accept.py), so a name
several carry is refused with their ids, never taken as the first of them, and the id serves;
and the unit a page asking for no unit is for is found once per request."""

from __future__ import annotations

import tempfile
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.cli import cli
from server.reference.county_envoys import envoy_id_up
from server.reference.load import ensure_envoy
from server.store.db import get_db, init_db
from server.sync import devices
from tests.helpers import sign_in
from tests.server.test_cli import assert_one_line_error, count, loaded, ok


def run(db_path: str, *args: str) -> Result:
    """A command with a password to give (`users add`) and, on PostgreSQL, a media folder."""
    env = {"TIANJIAN_PASSWORD": "lisi-password"}
    if "://" in db_path:
        env["TIANJIAN_MEDIA_DIR"] = tempfile.mkdtemp()
    return CliRunner(env=env).invoke(cli, ["--db", db_path, *args])


def two_named_lisi(db_path: str) -> tuple[str, str]:
    """Two envoys named 李四, as two counties' links send them up."""
    db = init_db(db_path)
    try:
        ids = (envoy_id_up("530102", "李四"), envoy_id_up("532301", "李四"))
        ensure_envoy(db, "李四", ["530102001"], ids[0])
        ensure_envoy(db, "李四", ["530102002"], ids[1])
        db.conn.commit()
    finally:
        db.close()
    return ids


def test_a_name_two_envoys_carry_is_refused_with_their_ids(db_path: str) -> None:
    db_path = loaded(db_path)
    first, second = two_named_lisi(db_path)
    for args in (
        ("users", "add", "lisi", "--role", "envoy", "--envoy", "李四"),
        ("enroll", "--envoy", "李四"),
    ):
        result = run(db_path, *args)
        assert_one_line_error(result, "李四", first, second, "give the id")
    assert count(db_path, "SELECT count(*) FROM users") == 0
    assert count(db_path, "SELECT count(*) FROM enrolment_codes") == 0


def test_the_id_names_one_of_them(db_path: str) -> None:
    db_path = loaded(db_path)
    _, second = two_named_lisi(db_path)
    added = run(db_path, "users", "add", "lisi", "--role", "envoy", "--envoy", second)
    assert added.exit_code == 0, added.output
    assert count(db_path, "SELECT envoy_id FROM users WHERE name = 'lisi'") == second
    code = ok(db_path, "enroll", "--envoy", second).stdout.strip()
    db = init_db(db_path)
    try:
        assert devices.enrol_device(db, code, "phone")["envoy"]["id"] == second
    finally:
        db.close()
    # A name one envoy carries is found as before.
    assert ok(db_path, "enroll", "--envoy", "张三").stdout.strip()


def test_a_page_asking_for_no_unit_finds_the_home_unit_once(
    app: Flask, db_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A breakdown with no unit asked for the home unit for its scope, its figures and its
    unit menu (its own progress line too on a nation): three look-ups of the first and last
    county on a county server, where one serves."""
    db = init_db(db_path)
    users.add_user(db, "staff", users.STAFF, "staff-password")
    db.conn.commit()
    db.close()
    client = app.test_client()
    assert sign_in(client, "staff", "staff-password").status_code == 302
    with app.app_context():
        engine = type(get_db())
    asked: list[str] = []
    execute = engine.execute

    def counted(self: Database, sql: str, *args: Any, **kwargs: Any) -> Any:
        if "level = 'county' ORDER BY code" in sql:
            asked.append(sql)
        return execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(engine, "execute", counted)
    page = client.get("/breakdowns?year=2026&by=township")
    assert page.status_code == 200
    assert "示范县" in page.get_data(as_text=True)
    # The first county and the last: one home_unit.
    assert len(asked) == 2, asked
    asked.clear()
    assert client.get("/breakdowns?year=2026&by=township").status_code == 200
    assert len(asked) == 2, "each request finds it afresh"
