"""Demonstration plots and their observations."""

from __future__ import annotations

import json

import pytest

from shared import protocol as p
from tests.field_client.web.envoy_forms import TECH, VARIETY, add_reference, post_form
from tests.helpers import VILLAGE_EAST

PLOT = {
    "village": "东村",
    "host_name": "李四",
    "crop": "马铃薯",
    "variety": VARIETY,
    "technologies": [TECH],
    "area_mu": "12.5",
    "established_on": "2026-04-10",
}


@pytest.fixture(autouse=True)
def reference(store) -> None:
    add_reference(store)


def test_new_plot_then_observations(envoy, store) -> None:
    answer = post_form(envoy, "/envoy/plots/new", PLOT)
    assert answer.status_code == 302
    [plot] = store.records(p.PLOT)
    assert plot["village_code"] == VILLAGE_EAST and plot["area_mu"] == 12.5
    assert plot["variety_id"] == VARIETY and plot["technology_ids"] == [TECH]
    assert answer.location == f"/envoy/plots/{plot['id']}"
    observed = post_form(
        envoy,
        answer.location,
        {
            "stage": "harvest",
            "observed_on": "9月20日",
            "yield_kg_per_mu": "2100",
            "notes": "长势好",
        },
    )
    assert observed.status_code == 302
    [observation] = store.records(p.PLOT_OBSERVATION)
    assert observation["stage"] == "harvest" and observation["yield_kg_per_mu"] == 2100
    page = envoy.get(answer.location).get_data(as_text=True)
    assert "收获" in page and "长势好" in page
    listed = envoy.get("/envoy/plots/").get_data(as_text=True)
    assert "李四 · 马铃薯" in listed


def test_bad_plot_fields_named_in_chinese(envoy, store) -> None:
    answer = post_form(
        envoy, "/envoy/plots/new", {**PLOT, "area_mu": "0", "established_on": "昨天下午"}
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "建立日期" in page
    answer = post_form(envoy, "/envoy/plots/new", {**PLOT, "area_mu": "很大"})
    assert answer.status_code == 422 and "面积（亩）" in answer.get_data(as_text=True)
    assert store.records(p.PLOT) == []


def test_bad_observation_named_in_chinese(envoy, store) -> None:
    plot = post_form(envoy, "/envoy/plots/new", PLOT).location
    answer = post_form(envoy, plot, {"stage": "harvest", "survival_rate": "150"})
    assert answer.status_code == 422 and "成活率" in answer.get_data(as_text=True)
    assert store.records(p.PLOT_OBSERVATION) == []


def test_plot_pages_need_the_pin(client, store) -> None:
    assert client.get("/envoy/plots/").location.startswith("/login")
    client.post("/envoy/plots/new", data=PLOT)
    assert store.records(p.PLOT) == []


def test_a_plot_is_edited_and_only_what_changed_is_sent(envoy, store) -> None:
    """A mistyped area corrected on the plot's edit page (a returned plot links there)."""
    location = post_form(envoy, "/envoy/plots/new", {**PLOT, "area_mu": "99999"}).location
    assert f'href="{location}/edit"' in envoy.get(location).get_data(as_text=True)
    form = envoy.get(f"{location}/edit").get_data(as_text=True)
    assert 'value="99999"' in form and 'value="城关镇/东村"' in form and "修改示范田" in form
    answer = post_form(envoy, f"{location}/edit", {**PLOT, "area_mu": "9.5"})
    assert answer.status_code == 302 and answer.location == location
    [plot] = store.records(p.PLOT)
    assert plot["area_mu"] == 9.5 and plot["variety_id"] == VARIETY
    assert plot["technology_ids"] == [TECH]
    [last] = store.db.execute("SELECT fields FROM outbox ORDER BY seq DESC LIMIT 1").fetchone()
    assert json.loads(last) == {"area_mu": 9.5}
    bad = post_form(envoy, f"{location}/edit", {**PLOT, "area_mu": "很大"})
    assert bad.status_code == 422 and "面积（亩）" in bad.get_data(as_text=True)
    assert store.records(p.PLOT)[0]["area_mu"] == 9.5
    assert envoy.get("/envoy/plots/not-a-plot/edit").status_code == 404


def test_every_bad_plot_field_is_shown_at_once_in_chinese(envoy, store) -> None:
    bad = {
        **PLOT,
        "village": "不存在村",
        "variety": "没有的品种",
        "area_mu": "十二亩",
        "established_on": "昨天下午",
        "target_yield": "很高",
        "latitude": "北纬",
    }
    answer = post_form(envoy, "/envoy/plots/new", bad)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    for shown in ("村：", "品种：", "面积（亩）：不是有效的数字", "建立日期：", "纬度"):
        assert shown in page, shown
    assert "Not a valid" not in page
    assert store.records(p.PLOT) == []
    # Full-width digits are numbers too.
    answer = post_form(envoy, "/envoy/plots/new", {**PLOT, "area_mu": "１２．５"})
    assert answer.status_code == 302 and store.records(p.PLOT)[0]["area_mu"] == 12.5
