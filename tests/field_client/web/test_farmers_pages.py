"""The envoy's farmer pages: register, edit, search; mobiles masked in lists; errors named."""

from __future__ import annotations

from shared import protocol as p
from tests.field_client.web.conftest import new_farmer
from tests.field_client.web.envoy_forms import post_form
from tests.helpers import VILLAGE_WEST

NEW = {
    "name": "王五",
    "village": "西村",
    "mobile": "139 0000 1111",
    "gender": "female",
    "birth_year": "1968",
}


def test_register_then_search_shows_the_mobile_masked(envoy, store) -> None:
    answer = post_form(envoy, "/envoy/farmers/new", NEW)
    assert answer.status_code == 302
    [farmer] = store.records(p.FARMER)
    assert farmer["village_code"] == VILLAGE_WEST and farmer["mobile"] == "13900001111"
    assert farmer["birth_year"] == 1968 and farmer["gender"] == "female"
    for query in ("王", "1111", "西村"):
        page = envoy.get("/envoy/farmers/", query_string={"q": query}).get_data(as_text=True)
        assert "王五" in page and "139****1111" in page and "13900001111" not in page, query


def test_bad_fields_named_in_chinese(envoy, store) -> None:
    for field, value, shown in (
        ("mobile", "12345", "手机号"),
        ("birth_year", "1700", "出生年份"),
        ("village", "月球村", "村"),
        ("name", "", "姓名"),
    ):
        answer = post_form(envoy, "/envoy/farmers/new", {**NEW, field: value})
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422 and shown in page, (field, page)
    assert store.records(p.FARMER) == []


def test_edit_keeps_the_mobile_unless_a_new_one_is_typed(envoy, store) -> None:
    farmer_id = new_farmer(store, "李四", "13812345678")
    path = f"/envoy/farmers/{farmer_id}/edit"
    form = envoy.get(path).get_data(as_text=True)
    assert "138****5678" in form and "13812345678" not in form
    post_form(
        envoy, path, {"name": "李四娃", "village": "城关镇/西村", "mobile": "", "gender": "male"}
    )
    record = store.record(p.FARMER, farmer_id)
    assert record["name"] == "李四娃" and record["mobile"] == "13812345678"
    assert record["village_code"] == VILLAGE_WEST
    post_form(
        envoy,
        path,
        {"name": "李四娃", "village": "西村", "mobile": "13700001234", "gender": "male"},
    )
    assert store.record(p.FARMER, farmer_id)["mobile"] == "13700001234"


def test_a_replayed_registration_adds_one_farmer(envoy, store) -> None:
    page = envoy.get("/envoy/farmers/new").get_data(as_text=True)
    token = page.split('name="form_token" value="')[1].split('"')[0]
    envoy.post("/envoy/farmers/new", data={**NEW, "form_token": token})
    envoy.post("/envoy/farmers/new", data={**NEW, "form_token": token})
    assert len(store.records(p.FARMER)) == 1


def test_farmer_pages_need_the_pin(client, store) -> None:
    assert client.get("/envoy/farmers/").location.startswith("/login")
    client.post("/envoy/farmers/new", data=NEW)
    assert store.records(p.FARMER) == []
