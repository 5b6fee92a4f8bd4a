"""Leaflets by title name: stock beside the form, over-stock asks first, corrections' rule."""

from __future__ import annotations

import re

import pytest

from field_client import operations as ops
from shared import protocol as p
from tests.field_client.web.conftest import new_session
from tests.field_client.web.envoy_forms import TITLE, TITLE_NAME, add_reference, post_form

PAGE = "/envoy/leaflets/"


@pytest.fixture(autouse=True)
def reference(store) -> None:
    add_reference(store)


def held(envoy) -> str:
    page = envoy.get(PAGE).get_data(as_text=True)
    found = re.search(r'class="n held[^"]*">(-?\d+)<', page)
    return found.group(1) if found else ""


def test_receive_then_hand_out_at_a_session_updates_the_stock(envoy, store) -> None:
    session_id = new_session(store)
    answer = post_form(
        envoy,
        f"{PAGE}receive",
        {"title": TITLE_NAME, "copies": "100", "received_on": "11月20日"},
        page=PAGE,
    )
    assert answer.status_code == 302
    [receipt] = store.records(p.LEAFLET_RECEIPT)
    assert receipt["leaflet_title_id"] == TITLE and receipt["copies"] == 100
    assert receipt["received_on"].endswith("-11-20")
    assert held(envoy) == "100"
    given = post_form(
        envoy,
        f"{PAGE}give",
        {"title": TITLE_NAME, "copies": "30", "session": session_id},
        page=PAGE,
    )
    assert given.location == f"/envoy/sessions/{session_id}"
    [handout] = store.records(p.LEAFLET_HANDOUT)
    assert handout["session_id"] == session_id and handout["copies"] == 30
    assert held(envoy) == "70"


def test_more_than_held_asks_first_then_is_recorded(envoy, store) -> None:
    ops.receive_leaflets(store, title=TITLE_NAME, copies=10)
    form = {"title": TITLE_NAME, "copies": "25", "village": "东村"}
    asked = post_form(envoy, f"{PAGE}give", form, page=PAGE)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "10" in page and "25" in page and "科技局" in page
    assert store.records(p.LEAFLET_HANDOUT) == []
    confirmed = post_form(envoy, f"{PAGE}give", {**form, "confirm": "1"}, page=PAGE)
    assert confirmed.status_code == 302
    [handout] = store.records(p.LEAFLET_HANDOUT)
    assert handout["copies"] == 25 and handout["unit_code"]
    assert held(envoy) == "-15"


def test_bad_hand_out_named_in_chinese(envoy, store) -> None:
    answer = post_form(envoy, f"{PAGE}give", {"title": TITLE_NAME, "copies": "5"}, page=PAGE)
    assert answer.status_code == 422
    assert "须注明培训场次或村" in answer.get_data(as_text=True)
    answer = post_form(envoy, f"{PAGE}receive", {"title": TITLE_NAME, "copies": "-5"}, page=PAGE)
    assert answer.status_code == 422 and "份数" in answer.get_data(as_text=True)
    assert store.records(p.LEAFLET_HANDOUT) == store.records(p.LEAFLET_RECEIPT) == []


def test_corrections_follow_the_shared_rule(envoy, store) -> None:
    receipt = ops.receive_leaflets(store, title=TITLE_NAME, copies=20)
    path = f"{PAGE}correct/{receipt}"
    assert post_form(envoy, path, {"copies": "-5"}).status_code == 302
    assert held(envoy) == "15"
    refused = post_form(envoy, path, {"copies": "-16"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "不能小于0" in page
    assert len(store.records(p.LEAFLET_RECEIPT)) == 2


def test_a_replayed_hand_out_counts_once(envoy, store) -> None:
    ops.receive_leaflets(store, title=TITLE_NAME, copies=50)
    page = envoy.get(PAGE).get_data(as_text=True)
    tokens = re.findall(r'name="form_token" value="([^"]+)"', page)
    form = {"title": TITLE_NAME, "copies": "5", "village": "东村", "form_token": tokens[0]}
    envoy.post(f"{PAGE}give", data=form)
    envoy.post(f"{PAGE}give", data=form)
    assert len(store.records(p.LEAFLET_HANDOUT)) == 1


def test_leaflet_pages_need_the_pin(client, store) -> None:
    assert client.get(PAGE).location.startswith("/login")
    client.post(f"{PAGE}receive", data={"title": TITLE_NAME, "copies": "5"})
    assert store.records(p.LEAFLET_RECEIPT) == []


def test_recent_records_show_copies_as_recorded_and_a_sign_only_on_corrections(
    envoy, store
) -> None:
    """Issue 19.11: an ordinary hand-out of 30 read "−30", the sign of a correction."""
    ops.receive_leaflets(store, title=TITLE_NAME, copies=100)
    given = ops.give_leaflets(store, title=TITLE_NAME, copies=30, village="东村")
    ops.give_leaflets(store, title=TITLE_NAME, copies=-5, village="东村", correction_of=given)
    page = envoy.get(PAGE).get_data(as_text=True)
    recent = page[page.index("<tbody>", page.rindex("<table")) :]
    rows = re.findall(r"<tr>(.*?)</tr>", recent, re.S)
    # Each row's third cell: the copies.
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[2].strip() for row in rows]
    assert sorted(cells) == sorted(["100", "30", "−5"])
