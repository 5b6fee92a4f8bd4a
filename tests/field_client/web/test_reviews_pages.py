"""The bureau's reviews on the envoy's pages: a notice on the home and progress pages, a list of
returned and questioned records with the note and where to correct each, the note above the
record's edit page; Chinese first, English on request."""

from __future__ import annotations

from field_client.events import receive_leaflets
from shared import protocol as p
from shared import review_status as rs
from tests.field_client.test_reviews import TITLE, review
from tests.field_client.web.conftest import new_farmer, new_session
from tests.helpers import VILLAGE_EAST

NOTE = "报告人数 80 人，签到仅 3 人，请核实"


def test_no_notice_without_returned_or_questioned_records(envoy, store) -> None:
    session_id = new_session(store)
    store.apply_pull([review(p.SESSION, session_id, rs.APPROVED, None)], 5)
    assert 'id="reviews-notice"' not in envoy.get("/envoy/").get_data(as_text=True)
    page = envoy.get("/envoy/reviews/").get_data(as_text=True)
    assert "没有被退回或有问题的记录" in page


def test_a_returned_record_is_noticed_listed_and_linked_to_its_correction(envoy, store) -> None:
    store.apply_pull([{"k": p.LEAFLET_TITLE, "r": {"id": TITLE, "title": "马铃薯晚疫病防治"}}], 2)
    session_id = new_session(store, "马铃薯晚疫病防治培训")
    farmer_id = new_farmer(store, "赵大")
    receipt = receive_leaflets(store, title="马铃薯晚疫病防治", copies=500)
    store.apply_pull(
        [
            review(p.SESSION, session_id, rs.RETURNED, NOTE),
            review(p.LEAFLET_RECEIPT, receipt, rs.RETURNED, "份数有误"),
            review(p.FARMER, farmer_id, rs.QUESTIONED, "出生年份存疑"),
        ],
        5,
    )
    for home in ("/envoy/", "/envoy/progress/"):
        notice = envoy.get(home).get_data(as_text=True)
        assert "有 2 条记录被科技局退回，请更正。" in notice, home
        assert "1 条记录被科技局标为有问题。" in notice
        assert 'href="/envoy/reviews/"' in notice

    page = envoy.get("/envoy/reviews/").get_data(as_text=True)
    assert NOTE in page and "份数有误" in page and "出生年份存疑" in page
    assert "退回" in page and "有问题" in page and "马铃薯晚疫病防治培训" in page
    assert f'href="/envoy/sessions/{session_id}/edit"' in page
    # Events are never edited: the link is their correction.
    assert f'href="/envoy/leaflets/correct/{receipt}"' in page
    assert f"/envoy/farmers/{farmer_id}/edit" in page
    # Returned first.
    assert page.index(NOTE) < page.index("出生年份存疑")

    # The note stands above the record's edit page and its session page.
    edit = envoy.get(f"/envoy/sessions/{session_id}/edit").get_data(as_text=True)
    assert 'id="record-review"' in edit and NOTE in edit
    assert NOTE in envoy.get(f"/envoy/sessions/{session_id}").get_data(as_text=True)
    correct = envoy.get(f"/envoy/leaflets/correct/{receipt}").get_data(as_text=True)
    assert "份数有误" in correct


def test_an_edit_waiting_to_be_sent_is_said_and_english_is_switchable(envoy, store) -> None:
    session_id = new_session(store)
    store.apply_pull([review(p.SESSION, session_id, rs.RETURNED, NOTE)], 5)
    store.update(p.SESSION, session_id, {"reported_headcount": 3})
    page = envoy.get("/envoy/reviews/").get_data(as_text=True)
    assert "已在本机修改，下次同步时交科技局复核。" in page
    envoy.set_cookie("lang", "en")
    english = envoy.get("/envoy/reviews/").get_data(as_text=True)
    assert "returned" in english and "Changed on this device" in english
    assert "Records returned by the bureau for you to correct: 1." in envoy.get("/envoy/").get_data(
        as_text=True
    )


def test_a_returned_plot_links_to_its_edit_page(envoy, store) -> None:
    plot_id = store.create(
        p.PLOT,
        {
            "village_code": VILLAGE_EAST,
            "host_name": "李四",
            "crop": "马铃薯",
            "area_mu": 99999,
            "established_on": "2026-04-10",
        },
    )
    store.apply_pull([review(p.PLOT, plot_id, rs.RETURNED, "面积多写了几位")], 5)
    page = envoy.get("/envoy/reviews/").get_data(as_text=True)
    assert "李四 · 马铃薯 · 99999 mu" in page
    assert f'href="/envoy/plots/{plot_id}/edit"' in page
    edit = envoy.get(f"/envoy/plots/{plot_id}/edit").get_data(as_text=True)
    assert "面积多写了几位" in edit and 'value="99999"' in edit
