"""The envoys a menu offers (server/reference/lists.py): where two share a name (two counties'
李四 on a province), each is labelled with the townships it serves, so a user picks the right one."""

from __future__ import annotations

from flask import Flask

from server.accounts import users
from server.reference import lists as listings
from server.store.db import init_db
from tests.helpers import sign_in
from tests.server.reference.test_lookups import two_named_lisi


def test_envoys_sharing_a_name_are_told_apart_by_their_townships(app: Flask, db_path: str) -> None:
    first, second = two_named_lisi(db_path)
    db = init_db(db_path)
    try:
        labels = {row["id"]: row["label"] for row in listings.envoys(db)}
        users.add_user(db, "admin", users.ADMIN, "admin-password")
        db.conn.commit()
    finally:
        db.close()
    assert labels[first] != labels[second]
    assert all(labels[one].startswith("李四（") for one in (first, second))
    # A name only one envoy carries is shown as it is.
    assert "张三" in labels.values()
    client = app.test_client()
    assert sign_in(client, "admin", "admin-password").status_code == 302
    for path in ("/flags?year=2026", "/targets/?year=2026", "/admin/users"):
        page = client.get(path).get_data(as_text=True)
        assert labels[first] in page and labels[second] in page, path
