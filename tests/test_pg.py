"""The test cluster's databases (tests/pg.py): one given back is handed out again only as a fresh
copy of the template would be (its rows, its sequences, its schema), else it is dropped."""

from __future__ import annotations

import psycopg

from server.store.db import init_db, next_server_seq, write_transaction
from tests.pg import Cluster


def _name(url: str) -> str:
    return url.split("/")[3].split("?")[0]


def _write_everywhere(url: str) -> None:
    """What a test leaves behind: rows, a number taken from a sequence, a server thread's
    connection still open."""
    db = init_db(url)
    with write_transaction(db):
        next_server_seq(db, 7)
        db.execute(
            "INSERT INTO conflicts (kind, record_id, field, recorded_at) "
            "VALUES ('farmer', 'f1', 'name', '2026-01-01T00:00:00Z')"
        )
    # db is left open, as a server thread's cached connection is.


def test_a_database_given_back_comes_back_as_the_template(postgresql: Cluster) -> None:
    url = postgresql.database()
    with psycopg.connect(url) as conn:
        state = conn.execute("SELECT key, value FROM server_state ORDER BY key").fetchall()
        migrations = conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()
    _write_everywhere(url)
    postgresql.drop(url)
    again = postgresql.database()
    try:
        assert _name(again) == _name(url) and again != url  # the same database, a new URL
        with psycopg.connect(again) as conn:
            assert conn.execute("SELECT count(*) FROM conflicts").fetchone() == (0,)
            assert conn.execute("SELECT key, value FROM server_state ORDER BY key").fetchall() == (
                state
            )
            assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone() == migrations
            new_id = conn.execute(
                "INSERT INTO conflicts (kind, record_id, field, recorded_at) "
                "VALUES ('farmer', 'f2', 'name', '2026-01-01T00:00:00Z') RETURNING id"
            ).fetchone()
            assert new_id == (1,)  # the identity sequence starts over
    finally:
        postgresql.drop(again)


def test_a_database_whose_schema_changed_is_dropped(postgresql: Cluster) -> None:
    url = postgresql.database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE conflicts ADD COLUMN note TEXT")
    postgresql.drop(url)
    with psycopg.connect(postgresql.url("postgres")) as admin:
        left = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [_name(url)])
        assert left.fetchone() == (0,)
    again = postgresql.database()
    try:
        assert _name(again) != _name(url)
    finally:
        postgresql.drop(again)
