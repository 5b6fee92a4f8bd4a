"""One description of the server's tables (server/store/tables.py), equal to the schemas and to what the
migrations build; the first migrations build what they always built."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from server.store.db import init_db, open_db
from server.store.migrations import migrations
from server.store.records import INTERNAL_COLUMNS, row_to_state
from server.store.tables import FIELD_TABLES, REFERENCE_TABLES, SYNC_COLUMNS
from shared import protocol as p
from shared.schemas.field import FIELD_SCHEMAS
from shared.schemas.reference import REFERENCE_SCHEMAS
from tests.helpers import load_demo_reference

SQL_TYPES = {str: "TEXT", int: "INTEGER", float: "REAL"}


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return init_db(str(tmp_path / "server.db"))


def stored_columns(db: Database, table: str) -> dict[str, str]:
    return {column.name: column.type for column in db.table(table).columns}


@pytest.mark.parametrize("kind", p.FIELD_KINDS)
def test_field_schema_equals_its_table(db: Database, kind: str) -> None:
    table = p.TABLES[kind]
    described = {**FIELD_TABLES[table], **SYNC_COLUMNS}
    # What the schema says a record is, and what the table keeps of it besides bookkeeping.
    assert set(FIELD_SCHEMAS[kind]().fields) == set(described) - INTERNAL_COLUMNS
    assert stored_columns(db, table) == {
        name: SQL_TYPES[type_] for name, type_ in described.items()
    }


@pytest.mark.parametrize("kind", p.REFERENCE_KINDS)
def test_reference_schema_equals_its_table(db: Database, kind: str) -> None:
    table = p.TABLES[kind]
    columns, pk = REFERENCE_TABLES[table]
    assert set(REFERENCE_SCHEMAS[kind]().fields) == set(columns)
    assert stored_columns(db, table) == {
        **{name: SQL_TYPES[type_] for name, type_ in columns.items()},
        "server_seq": "INTEGER",
    }
    assert db.table(table).pks == [pk]


def test_every_kind_has_a_schema_and_a_table() -> None:
    assert set(FIELD_SCHEMAS) == set(p.FIELD_KINDS)
    assert set(REFERENCE_SCHEMAS) == set(p.REFERENCE_KINDS)
    assert set(FIELD_TABLES) | set(REFERENCE_TABLES) == set(p.TABLES.values())


# What m001 and m002 built on 2026-11-22, written out by hand: a column added to a schema (and
# to server/store/tables.py) must come in a new migration, never change these.
M002_FIELD_COLUMNS = {
    "farmers": "id name mobile gender birth_year village_code",
    "sessions": "id kind title technology_ids unit_code place starts_at ends_at lead_envoy_id "
    "co_envoy_ids reported_headcount display_boards closed",
    "attendances": "id session_id farmer_id checked_in_at method seen_by",
    "leaflet_receipts": "id leaflet_title_id copies received_on correction_of",
    "leaflet_handouts": "id leaflet_title_id copies session_id unit_code handed_out_at "
    "correction_of",
    "plots": "id village_code host_name crop variety_id technology_ids area_mu latitude "
    "longitude altitude_m target_yield_kg_per_mu established_on",
    "plot_observations": "id plot_id observed_on stage survival_rate yield_kg_per_mu notes "
    "correction_of",
}
M002_SYNC_COLUMNS = (
    "envoy_id device_id created_at updated_at deleted hlc stamps township_code origin_device "
    "server_seq"
)
M002_REFERENCE_COLUMNS = {
    "units": "code name parent_code level server_seq",
    "envoys": "id name mobile township_codes active server_seq",
    "technologies": "id name category server_seq",
    "varieties": "id name crop server_seq",
    "leaflet_titles": "id title server_seq",
    "targets": "id year unit_code indicator comparator value server_seq",
    "farmer_aliases": "id canonical_id merged_at reason server_seq",
}


def test_the_first_migrations_build_what_they_always_built(tmp_path: Path) -> None:
    db = open_db(str(tmp_path / "old.db"))
    later = [name for name in _migration_names() if name > "m002"]
    migrations.apply(db, stop_before=later[0])
    for table, columns in M002_FIELD_COLUMNS.items():
        assert list(stored_columns(db, table)) == (columns + " " + M002_SYNC_COLUMNS).split()
    for table, columns in M002_REFERENCE_COLUMNS.items():
        assert list(stored_columns(db, table)) == columns.split()
    # The later migrations then bring the tables to what the code describes today.
    migrations.apply(db)
    for kind in p.REFERENCE_KINDS:
        table = p.TABLES[kind]
        assert set(stored_columns(db, table)) == {*REFERENCE_TABLES[table][0], "server_seq"}


def _migration_names() -> list[str]:
    from server.store.migrations import migration_names

    return migration_names()


@pytest.mark.parametrize("kind", [k for k in p.REFERENCE_KINDS if k != p.FARMER_ALIAS])
def test_reference_rows_as_devices_receive_them_load_through_their_schema(
    tmp_path: Path, kind: str
) -> None:
    """What a pull sends (row_to_state of each stored row) is exactly a schema's record: the
    device keeps it whole."""
    path = str(tmp_path / "server.db")
    init_db(path).close()
    load_demo_reference(path)
    db = init_db(path)
    rows = list(db.table(p.TABLES[kind]).rows)
    assert rows
    schema = REFERENCE_SCHEMAS[kind]()
    for row in rows:
        state = row_to_state(kind, row)
        assert set(state) == set(schema.fields)
        schema.load(state)
