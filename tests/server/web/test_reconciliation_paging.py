"""The reconciliation page's long tables a page at a time, over real HTTP to the real server:
200 rows a page, the next page the rows after, totals and files over every row, bad page
numbers refused or clamped, and the envoy menu of the unit chosen."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import openpyxl
import pytest
import requests

from server.accounts import users
from server.reference import load as reference
from server.store.db import init_db
from server.sync import apply_push
from server.web.paging import PAGE_SIZE
from server.web.reconciliation import ENVOY_MENU_MOST
from shared import protocol as p
from shared.ids import new_id
from tests.helpers import VILLAGE_EAST, LiveServer, load_demo_reference
from tests.server.fieldwork import Envoy
from tests.server.web.test_reconciliation_page import cells_by_header, rows_of

PASSWORD = "paging-password"
COUNTY, TOWNSHIP_2 = "530102", "530102002"
PAGE = "/reconciliation/?year=2026&unit=530102"
LATE = 450  # check-ins made long after their session: three pages, the last of 50
DOUBTFUL = 210  # sessions with a headcount and no names: two pages, the last of 10
TITLES = 250  # leaflet titles 张三 received: two pages, the last of 50


def push_all(envoy: Envoy, kind: str, records: list[dict[str, Any]]) -> None:
    """Many records of one kind, pushed a hundred at a time as a device would."""
    for start in range(0, len(records), 100):
        changes = []
        for record in records[start : start + 100]:
            envoy.seq += 1
            fields = {k: v for k, v in record.items() if k != "id"}
            change = {"q": envoy.seq, "k": kind, "h": envoy.stamp(), "b": None, "f": fields}
            # A check-in's id is made from its session and farmer.
            changes.append(change | ({"i": record["id"]} if "id" in record else {}))
        outcome = apply_push(envoy.db, envoy.device, changes)
        assert len(outcome["applied"]) == len(changes), outcome["answers"][:3]


@pytest.fixture(scope="module")
def served(module_db_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """张三: one session with 450 late check-ins and 210 sessions reporting 50 with no names."""
    load_demo_reference(module_db_path)
    db = init_db(module_db_path)
    zhang = Envoy(db, "张三")
    session = zhang.session(reported_headcount=LATE, starts_at="2026-05-12T02:00:00Z")
    farmers = [
        {"id": new_id(), "name": f"农户{n:03d}", "village_code": VILLAGE_EAST} for n in range(LATE)
    ]
    push_all(zhang, p.FARMER, farmers)
    # Each a minute after the one before, from five hours after the session started.
    push_all(
        zhang,
        p.ATTENDANCE,
        [
            {
                "session_id": session,
                "farmer_id": farmer["id"],
                "checked_in_at": f"2026-05-12T{7 + n // 60:02d}:{n % 60:02d}:00Z",
                "method": "qr_self",
            }
            for n, farmer in enumerate(farmers)
        ],
    )
    push_all(
        zhang,
        p.SESSION,
        [
            {
                "id": new_id(),
                "kind": "village_training",
                "title": f"培训{n:03d}",
                "unit_code": VILLAGE_EAST,
                "starts_at": f"2026-06-{1 + n // 10:02d}T{n % 10:02d}:00:00Z",
                "lead_envoy_id": zhang.envoy_id,
                "technology_ids": [],
                "reported_headcount": 50,
            }
            for n in range(DOUBTFUL)
        ],
    )
    # 250 leaflet titles, each received once: 250 leaflet lines, read a page at a time.
    titles = tmp_path_factory.mktemp("catalogue") / "catalog.csv"
    titles.write_text(
        "type,name,crop,category\n" + "".join(f"leaflet,资料{n:03d},,\n" for n in range(TITLES)),
        encoding="utf-8",
    )
    reference.load_catalogue(db, str(titles))
    ids = dict(db.execute("SELECT title, id FROM leaflet_titles").fetchall())
    push_all(
        zhang,
        p.LEAFLET_RECEIPT,
        [
            {
                "id": new_id(),
                "leaflet_title_id": ids[f"资料{n:03d}"],
                "copies": n + 1,
                "received_on": "2026-04-01",
            }
            for n in range(TITLES)
        ],
    )
    # More envoys than the menu lists, all serving township 2 only.
    many = tmp_path_factory.mktemp("envoys") / "envoys.csv"
    many.write_text(
        "name,township_codes\n"
        + "".join(f"特派员{n:04d},{TOWNSHIP_2}\n" for n in range(ENVOY_MENU_MOST + 1)),
        encoding="utf-8",
    )
    reference.load_envoys(db, str(many))
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    db.conn.commit()
    db.close()
    server = LiveServer(module_db_path).start()
    yield server
    server.stop()


def signed_in(served: LiveServer) -> requests.Session:
    """A browser's session signed in through the real form, CSRF token and all."""
    session = requests.Session()
    page = session.get(f"{served.url}/signin", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    answer = session.post(
        f"{served.url}/signin",
        data={"name": "staff", "password": PASSWORD, "csrf_token": token.group(1)},
        timeout=10,
    )
    assert answer.ok and "/signin" not in answer.url
    return session


@pytest.fixture(scope="module")
def staff(served: LiveServer) -> requests.Session:
    return signed_in(served)


def get(staff: requests.Session, served: LiveServer, path: str) -> requests.Response:
    return staff.get(served.url + path, timeout=60)


def next_link(page: str, table: str) -> str | None:
    """The 下一页 link of a table's pager, if it has one."""
    after = page.split(f'id="table-{table}"')[1]
    pager = re.search(r'<nav class="pager[^>]*>(.*?)</nav>', after.split("<section")[0], re.S)
    if pager is None:
        return None
    found = re.search(r'<a rel="next" href="([^"]+)"', pager.group(1))
    return unescape(found.group(1)) if found else None


def trainees(page: str) -> list[str]:
    return [cells_by_header(page, "checkins", row)["学员"] for row in rows_of(page, "checkins")]


def test_a_long_table_shows_a_page_at_a_time_and_the_next_page_the_rows_after(
    served: LiveServer, staff: requests.Session
) -> None:
    answer = get(staff, served, PAGE)
    assert answer.status_code == 200
    page = answer.text
    seen = trainees(page)
    assert len(seen) == PAGE_SIZE == 200
    assert "第 1 / 3 页，共 450 条" in page
    link = next_link(page, "checkins")
    assert link and "page-checkins=2" in link and "unit=530102" in link and "year=2026" in link
    assert link.endswith("#table-checkins")
    while link:
        page = get(staff, served, link).text
        seen += trainees(page)
        link = next_link(page, "checkins")
    assert "第 3 / 3 页，共 450 条" in page and len(trainees(page)) == LATE - 2 * PAGE_SIZE
    # Every late check-in once, in the order they were made (a minute apart).
    assert seen == [f"农户{n:03d}" for n in range(LATE)]
    # The other tables keep their own page: the doubtful sessions' second page holds the rest.
    second = get(staff, served, f"{PAGE}&page-headcount-sessions=2&page-checkins=3").text
    assert len(rows_of(second, "headcount-sessions")) == DOUBTFUL - PAGE_SIZE
    assert len(trainees(second)) == LATE - 2 * PAGE_SIZE
    assert "上一页" in second


def test_leaflet_lines_are_read_a_page_at_a_time_and_the_sum_is_over_all(
    served: LiveServer, staff: requests.Session
) -> None:
    def titles(page: str) -> list[str]:
        return [
            cells_by_header(page, "leaflets", row)["资料名称"] for row in rows_of(page, "leaflets")
        ]

    first = get(staff, served, PAGE).text
    assert titles(first) == [f"资料{n:03d}" for n in range(PAGE_SIZE)]
    assert "第 1 / 2 页，共 250 条" in first
    link = next_link(first, "leaflets")
    assert link and "page-leaflets=2" in link and "unit=530102" in link
    second = get(staff, served, link).text
    assert titles(second) == [f"资料{n:03d}" for n in range(PAGE_SIZE, TITLES)]
    assert next_link(second, "leaflets") is None
    # Past the end: the last page, read again from there.
    assert titles(get(staff, served, f"{PAGE}&page-leaflets=9").text) == titles(second)
    # The receipts counted toward the county: every title's copies, 1 + 2 + ... + 250.
    total = re.search(r'id="receipts-total"><strong>[^：]*：([\d,.]+)', first)
    assert total and total.group(1) == f"{TITLES * (TITLES + 1) // 2:,}"
    text = get(staff, served, f"{PAGE}&page-leaflets=2&table=leaflets&format=csv")
    lines = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert [row[1] for row in lines[2:]] == [f"资料{n:03d}" for n in range(TITLES)]
    assert sum(int(row[2]) for row in lines[2:]) == TITLES * (TITLES + 1) // 2


def test_totals_and_files_count_every_row(served: LiveServer, staff: requests.Session) -> None:
    page = get(staff, served, PAGE).text
    [envoy] = rows_of(page, "headcount-envoys")
    line = cells_by_header(page, "headcount-envoys", envoy)
    # Every session of 张三, not the 200 of the doubtful sessions' first page.
    assert line["场次"] == str(DOUBTFUL + 1) and line["存疑场次"] == str(DOUBTFUL)
    assert line["填报人数"] == f"{50 * DOUBTFUL + LATE:,}"
    assert line["实名签到人数"] == str(LATE)
    text = get(staff, served, f"{PAGE}&page-checkins=2&table=checkins&format=csv")
    assert text.status_code == 200 and text.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert [row[1] for row in lines[2:]] == [f"农户{n:03d}" for n in range(LATE)]
    sheet = get(staff, served, f"{PAGE}&table=headcount-sessions&format=xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(sheet.content)).worksheets[0].values)
    code = rows[1].index("区划代码")
    assert len(rows) - 2 == DOUBTFUL
    assert {row[code] for row in rows[2:]} == {VILLAGE_EAST}  # codes stay text


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", "２", "0x2"])
def test_a_page_number_that_is_not_one_is_refused_in_both_languages(
    served: LiveServer, staff: requests.Session, bad: str
) -> None:
    answer = get(staff, served, f"{PAGE}&page-checkins={bad}")
    assert answer.status_code == 400
    assert "页码须为正整数" in answer.text and "Traceback" not in answer.text
    english = signed_in(served)
    english.get(f"{served.url}/lang/en", timeout=10)
    answer = get(english, served, f"{PAGE}&page-leaflets={bad}")
    assert answer.status_code == 400 and "page number must be a whole number" in answer.text
    assert get(staff, served, PAGE).status_code == 200  # still up


@pytest.mark.parametrize(
    ("asked", "shown"),
    [("0", 1), ("4", 3), ("99999999999999999999", 3), ("7" * 5000, 3), ("", 1), ("003", 3)],
)
def test_a_page_number_past_either_end_shows_that_end(
    served: LiveServer, staff: requests.Session, asked: str, shown: int
) -> None:
    answer = get(staff, served, f"{PAGE}&page-checkins={asked}")
    assert answer.status_code == 200
    assert f"第 {shown} / 3 页，共 450 条" in answer.text
    first = 0 if shown == 1 else (shown - 1) * PAGE_SIZE
    assert trainees(answer.text)[0] == f"农户{first:03d}"


def test_the_envoy_menu_lists_the_unit_chosen_or_asks_for_one(
    served: LiveServer, staff: requests.Session
) -> None:
    def menu(page: str) -> list[str]:
        block = page.split('name="envoy"')[1].split("</select>")[0]
        return re.findall(r'<option value="([^"]*)"', block)

    county = get(staff, served, PAGE).text
    # 1,001 envoys serve township 2 besides the demo's: too many to list for the county.
    assert menu(county) == [""] and 'id="envoys-left-out"' in county
    assert "请先选单位再选特派员" in county
    for path in ("/reconciliation/?year=2026&unit=530102001", "/flags?year=2026&unit=530102001"):
        township = get(staff, served, path).text
        listed = menu(township)
        assert 1 < len(listed) < 10 and 'id="envoys-left-out"' not in township, path
