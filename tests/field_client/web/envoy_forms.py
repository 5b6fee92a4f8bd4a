"""Helpers for the envoy's form tests: synced reference data and reading a page's form token."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from field_client.store import FieldStore
from shared import protocol as p

TECH = "7ec00000-0000-4000-8000-000000000001"
TECH_NAME = "马铃薯脱毒种薯技术"
OTHER_ENVOY = "e0e0e0e0-0000-4000-8000-000000000002"
OTHER_ENVOY_NAME = "王芳"
TITLE = "71700000-0000-4000-8000-000000000001"
TITLE_NAME = "马铃薯晚疫病防治"
VARIETY = "fa000000-0000-4000-8000-000000000001"
VARIETY_NAME = "云薯304"


def add_reference(store: FieldStore) -> None:
    """Technologies, another envoy, a leaflet title and a variety, as a pull brings them."""
    store.apply_pull(
        [
            {"k": p.TECHNOLOGY, "r": {"id": TECH, "name": TECH_NAME}},
            {"k": p.ENVOY, "r": {"id": OTHER_ENVOY, "name": OTHER_ENVOY_NAME}},
            {"k": p.LEAFLET_TITLE, "r": {"id": TITLE, "title": TITLE_NAME}},
            {"k": p.VARIETY, "r": {"id": VARIETY, "name": VARIETY_NAME, "crop": "马铃薯"}},
        ],
        2,
    )


def token_of(client: FlaskClient, path: str) -> str:
    """The one-time form token of the form on a page."""
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found, f"no form token on {path}"
    return found.group(1)


def post_form(client: FlaskClient, path: str, data: dict[str, object], page: str | None = None):
    """Post a form as a browser would: with the token the page (or `page`) carried."""
    return client.post(path, data={**data, "form_token": token_of(client, page or path)})
