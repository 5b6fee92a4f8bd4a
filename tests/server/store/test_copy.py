"""`tianjian-server copy --to postgresql://…`: a SQLite county copied whole into PostgreSQL, every
record, cursor and device token, and the devices carry on against the copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlite_utils import Database

from server import create_app
from server.cli import cli
from server.store.db import init_db
from shared import protocol as p
from shared.ids import new_id
from tests.helpers import load_demo_reference, report_token
from tests.pg import Cluster
from tests.server.test_api import Device, checkin_fields, farmer_fields, session_fields


def table_columns(db: Database) -> dict[str, list[str]]:
    """The SQLite county's tables and their columns (each side's bookkeeping left out)."""
    return {
        table: [r[1] for r in db.execute(f"PRAGMA table_info([{table}])").fetchall()]
        for (table,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT IN ('_sqlite_migrations', 'summary_writer')"
        ).fetchall()
    }


def every_row(db: Database, tables: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's rows (the SQLite columns, sorted) as the engine reads them back."""
    found = {}
    for table, columns in tables.items():
        listed = ", ".join(f"[{c}]" for c in columns)
        rows = db.execute(f"SELECT {listed} FROM [{table}]").fetchall()
        found[table] = sorted((tuple(r) for r in rows), key=repr)
    return found


def county(db_path: str) -> tuple[Device, dict[str, str]]:
    """A county with records from a device, a change held for a session not yet arrived, a
    refused change, a user and a report token."""
    load_demo_reference(db_path)
    app = create_app({"DATABASE": db_path, "TESTING": True})
    zhang = Device(app.test_client(), db_path, "张三")
    farmer, session = new_id(), new_id()
    zhang.push(
        [
            zhang.change(p.FARMER, farmer_fields("赵大", "13800001234"), farmer),
            zhang.change(p.SESSION, session_fields(zhang.envoy_id), session),
            zhang.change(p.ATTENDANCE, checkin_fields(session, farmer)),
            zhang.change(p.ATTENDANCE, checkin_fields(new_id(), farmer)),  # held
            zhang.change(p.FARMER, {"name": ""}, new_id()),  # refused
        ]
    )
    return zhang, report_token(db_path)


def test_a_county_copied_into_postgresql_carries_on_there(
    tmp_path: Path, postgresql: Cluster
) -> None:
    source_path = str(tmp_path / "county.db")
    zhang, token = county(source_path)
    before = zhang.pull_all()
    cursor = zhang.pull(0, limit=5000)["cursor"]
    source = init_db(source_path)
    tables = table_columns(source)
    expected = every_row(source, tables)
    source.close()
    assert expected["attendances"] and expected["held_changes"] and expected["refusals"]

    target_url = postgresql.database()
    try:
        result = CliRunner().invoke(cli, ["--db", source_path, "copy", "--to", target_url])
        assert result.exit_code == 0, result.output
        assert "copied" in result.output

        target = init_db(target_url)
        try:
            assert every_row(target, tables) == expected
            held_numbers = target.execute("SELECT rowid FROM held_changes").fetchall()
            assert len(held_numbers) == len(expected["held_changes"])
        finally:
            target.close()

        # The same device token, cursor and report token work against the copy.
        copy_app = create_app({"DATABASE": target_url, "TESTING": True})
        zhang.client = copy_app.test_client()
        assert zhang.pull_all() == before
        assert zhang.pull(cursor)["records"] == []
        answer = zhang.client.get("/api/v1/reports/2026", headers=token)
        assert answer.status_code == 200, answer.get_json()
        # Numbers carry on after the copied ones, as on SQLite.
        more = zhang.push([zhang.change(p.FARMER, farmer_fields("钱二"), new_id())])
        assert more["applied"]

        # A second copy into the same database is refused: it already holds records.
        again = CliRunner().invoke(cli, ["--db", source_path, "copy", "--to", target_url])
        assert again.exit_code == 1 and "empty" in again.output
    finally:
        postgresql.drop(target_url)


def test_copy_wants_a_postgresql_url(tmp_path: Path) -> None:
    source_path = str(tmp_path / "county.db")
    load_demo_reference(source_path)
    result = CliRunner().invoke(cli, ["--db", source_path, "copy", "--to", str(tmp_path / "b.db")])
    assert result.exit_code == 1
    assert "postgresql://" in result.output
