"""Query arguments named like a route's own URL variables (/records/sessions?what=x) never make
a 500: every route with URL variables, pages and API, GET and POST, is asked with colliding
ones, and the page still links to itself correctly."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlite_utils import Database

from server.accounts import users
from server.store.db import init_db
from server.web.records import LISTS
from server.web.reference import KINDS
from tests.helpers import csrf_token, sign_in
from tests.server.fieldwork import Envoy

PASSWORD = "query-password"


@pytest.fixture
def world(app: Flask, db_path: str) -> Iterator[dict[str, list[str]]]:
    """Values that name something real for every URL variable the app's routes have."""
    db: Database = init_db(db_path)
    zhang = Envoy(db, "张三")
    session = zhang.session()
    users.add_user(db, "admin", users.ADMIN, PASSWORD)
    yield {
        "filename": ["style.css"],
        "year": ["2026"],
        "envoy_id": [zhang.envoy_id],
        "what": sorted(LISTS),
        "session_id": [session],
        "target_id": ["2026:530102000000:trainee_attendances"],
        "device_id": [zhang.device.id],
        "candidate_id": ["1"],
        "kind": sorted(KINDS),
        "record_kind": ["session"],
        "record_id": [session],
        "user_id": ["1"],
        "token_id": ["1"],
        "lang": ["zh_CN", "en"],
        "sha256": ["0" * 64],
        # The farmer page of the phone app's QR (a token that does not match: a red answer).
        "starts": ["1800000000"],
        "ends": ["0"],
        "margin": ["60"],
        "token": ["23456789AB"],
        # A phone app file (server/phone_app).
        "path": ["js/app.js", "manifest.webmanifest"],
    }
    db.close()


def routes(app: Flask) -> list[Any]:
    return [rule for rule in app.url_map.iter_rules() if rule.arguments]


def test_every_url_variable_has_test_values(app: Flask, world: dict[str, list[str]]) -> None:
    # A new route with a new URL variable must be added to `world` to be checked below.
    names = {name for rule in routes(app) for name in rule.arguments}
    assert names <= set(world), names - set(world)
    assert len(routes(app)) >= 15


def test_colliding_query_arguments_never_make_a_500(
    app: Flask, world: dict[str, list[str]]
) -> None:
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    client: FlaskClient = app.test_client()
    assert sign_in(client, "admin", PASSWORD).status_code == 302
    token = csrf_token(client, "/targets/")
    asked = 0
    for rule in routes(app):
        names = sorted(rule.arguments)
        for values in itertools.product(*(world[name] for name in names)):
            path = rule.build(dict(zip(names, values, strict=True)), append_unknown=False)[1]
            colliding = {name: "zzz" for name in names}
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                data = {"csrf_token": token} if method == "POST" else None
                response = client.open(path, method=method, query_string=colliding, data=data)
                asked += 1
                assert response.status_code < 500, (method, path, colliding)
                page = response.get_data(as_text=True)
                assert "/tmp/" not in page and "Traceback" not in page
    assert asked >= 25


def test_the_named_pages_link_to_themselves_not_to_the_query(
    app: Flask, world: dict[str, list[str]]
) -> None:
    client = app.test_client()
    assert sign_in(client, "admin", PASSWORD).status_code == 302
    sessions = client.get("/records/sessions?what=x&year=2026")
    assert sessions.status_code == 200
    exports = re.findall(r'class="export-csv" href="([^"]+)"', sessions.get_data(as_text=True))
    assert exports and all(link.startswith("/records/sessions?") for link in exports)
    assert all("what=" not in link for link in exports)
    units = client.get("/reference/units?kind=zzz")
    assert units.status_code == 200 and "/reference/units?" in units.get_data(as_text=True)
    moved = client.get("/records/?what=x&year=2026")
    assert moved.status_code == 302 and moved.headers["Location"].startswith("/records/sessions?")
