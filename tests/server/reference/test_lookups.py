"""Finding an envoy by name (server/reference/lookups.py): on a province two counties' envoys
may share a name (each with an id from county and name, server/upstream/accept.py), so a name
several carry is refused with their ids, never taken as the first of them, and the id serves."""

from __future__ import annotations

import tempfile

from click.testing import CliRunner, Result

from server.cli import cli
from server.reference.county_envoys import envoy_id_up
from server.reference.load import ensure_envoy
from server.store.db import init_db
from server.sync import devices
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
