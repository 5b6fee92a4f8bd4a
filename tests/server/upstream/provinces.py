"""A province's database: the demo county (530102) and a second one (530103), one link each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from server.reference import load as reference
from server.reference.county_envoys import envoy_id_up
from server.store.db import init_db
from server.sync.devices import Device, authenticate
from server.upstream.codes import enrol_link, issue_link_code
from tests.helpers import load_demo_reference

VILLAGE_B = "530103001001"


@dataclass
class Province:
    db: Database
    link_a: Device
    link_b: Device
    token_a: str
    envoy_b: str


def add_county_b(db: Database, tmp_path: Path) -> str:
    """The second county's units and its envoy 赵丽; her id."""
    units = tmp_path / "units-b.csv"
    units.write_text(
        "code,name,parent_code,level\n530103,邻县,,county\n530103001,新城镇,530103,township\n"
        "530103001001,北村,530103001,village\n",
        encoding="utf-8",
    )
    reference.load_units(db, str(units))
    return str(
        reference.ensure_envoy(db, "赵丽", ["530103001"], envoy_id_up("530103", "赵丽"))["id"]
    )


def open_province(db_path: str, tmp_path: Path) -> Iterator[Province]:
    """The province's database with both counties' links enrolled (a fixture's body)."""
    load_demo_reference(db_path)
    db = init_db(db_path)
    # The demo county's envoys under the ids its link names them by (county and name).
    for envoy_id, name in db.execute("SELECT id, name FROM envoys").fetchall():
        db.execute("UPDATE envoys SET id = ? WHERE id = ?", [envoy_id_up("530102", name), envoy_id])
    db.conn.commit()
    envoy_b = add_county_b(db, tmp_path)
    token_a = enrol_link(db, issue_link_code(db, "530102").code, "示范县").token
    token_b = enrol_link(db, issue_link_code(db, "530103").code, "邻县").token
    yield Province(db, authenticate(db, token_a), authenticate(db, token_b), token_a, envoy_b)
    db.close()
