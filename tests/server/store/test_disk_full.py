"""A full disk: the server answers 507 saying so, writes nothing of the batch, and carries on
once there is room again. SQLite is made to fill up for real (max_page_count); PostgreSQL's disk
cannot be filled from a test, so the farmers table raises the error PostgreSQL gives when it
cannot extend a file (SQLSTATE 53100, disk_full) a thousand rows into the batch."""

from __future__ import annotations

import psycopg
from flask import Flask
from flask.testing import FlaskClient

from server.store.db import get_db
from server.store.dialect import is_url
from shared import protocol as p
from shared.ids import new_id
from tests.server.test_api import PUSH, Device, farmer_fields
from tests.server.test_bad_input import stored

FULL_AFTER_ROWS = 1000


def fill_the_disk(app: Flask, spare_pages: int = 0) -> int:
    """Let the server's own connection grow the file by `spare_pages` at most: SQLite then
    answers SQLITE_FULL, "database or disk is full", as it does when the disk is. On PostgreSQL,
    no spare pages: inserting farmers fails past FULL_AFTER_ROWS; some: room again."""
    url = app.config["DATABASE"]
    if is_url(url):
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute("DROP TRIGGER IF EXISTS disk_full ON farmers")
            if not spare_pages:
                pg.execute("CREATE SEQUENCE IF NOT EXISTS rows_written")
                pg.execute(
                    "CREATE OR REPLACE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    f"BEGIN IF nextval('rows_written') > {FULL_AFTER_ROWS} THEN "
                    "RAISE EXCEPTION 'could not extend file: No space left on device' "
                    "USING ERRCODE = 'disk_full'; END IF; RETURN NEW; END $$"
                )
                pg.execute(
                    "CREATE TRIGGER disk_full BEFORE INSERT ON farmers "
                    "FOR EACH ROW EXECUTE FUNCTION disk_full()"
                )
        return spare_pages
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
