"""A full disk: the server answers 507 saying so, writes nothing of the batch, and carries on
once there is room again."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from server.store.db import get_db
from shared import protocol as p
from shared.ids import new_id
from tests.server.test_api import PUSH, Device, farmer_fields
from tests.server.test_bad_input import stored


def fill_the_disk(app: Flask, spare_pages: int = 0) -> int:
    """Let the server's own connection grow the file by `spare_pages` at most: SQLite then
    answers SQLITE_FULL, "database or disk is full", as it does when the disk is."""
    with app.app_context():
        db = get_db()
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + spare_pages}")
        return int(db.execute("PRAGMA max_page_count").fetchone()[0])


def test_a_push_onto_a_full_disk_is_a_507_saying_so(
    app: Flask, client: FlaskClient, db_path: str
) -> None:
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    zhang = Device(client, db_path, "张三")
    before = stored(db_path)
    fill_the_disk(app)
    changes = [
        zhang.change(p.FARMER, farmer_fields(f"农户{n}", f"1380013{n:04d}"), new_id())
        for n in range(2000)
    ]
    response = client.post(PUSH, json={"changes": changes}, headers=zhang.headers)
    body = response.get_json()
    assert response.status_code == 507, body
    assert body["code"] == 507
    assert body["message"].startswith("服务器磁盘已满")
    assert "disk is full" in body["message"]
    assert stored(db_path) == before
    # Room again: the same batch is applied in full.
    fill_the_disk(app, spare_pages=1_000_000)
    assert zhang.push(changes)["applied"] == [[changes[0]["q"], changes[-1]["q"]]]
