"""Envoy performance (绩效考评) on crafted data where every figure is known: the figures, sorting,
exports read back, drill links whose lists count what the cell says, and who sees which rows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlite_utils import Database

from server.accounts import users
from server.farmers import matching as farmers
from server.figures.performance import COLUMNS, EnvoyFigures, performance
from server.quality import reviews
from server.store.db import init_db, write_transaction
from shared import protocol as p
from shared.ids import new_id
from shared.review_status import APPROVED, CORRECTED, QUESTIONED, RETURNED
from tests.helpers import VILLAGE_SOUTH, VILLAGE_WEST, sign_in
from tests.server.fieldwork import Envoy

PASSWORD = "performance-password"
TOWNSHIP_1, TOWNSHIP_2 = "530102001", "530102002"


def observe(envoy: Envoy, plot_id: str, on: str) -> str:
    observation_id = new_id()
    envoy.push(
        p.PLOT_OBSERVATION,
        {"plot_id": plot_id, "observed_on": on, "stage": "growing"},
        observation_id,
    )
    return observation_id


def review(db: Database, kind: str, record_id: str, status: str) -> None:
    """A staff review through the reviews module; `corrected` as the envoy's edit of a returned
    record leaves it."""
    reviews.set_review(
        db, "staff", kind, record_id, status if status != CORRECTED else RETURNED, "人数与签到不符"
    )
    if status == CORRECTED:
        with write_transaction(db):
            assert reviews.mark_corrected(db, kind, record_id, "device")


@pytest.fixture
def work(app: Flask, db_path: str) -> Iterator[dict[str, Any]]:
    """张三 and 李梅 serve 城关镇, 王五 河口乡; what each figure should be is said beside it."""
    db = init_db(db_path)
    zhang, li, wang = Envoy(db, "张三"), Envoy(db, "李梅"), Envoy(db, "王五")
    # 张三 leads a village training on 10 May co-run by 李梅, and a large training that day.
    s1 = new_id()
    zhang.push(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "马铃薯晚疫病防治培训",
            "unit_code": "530102001001",
            "starts_at": "2026-05-10T02:00:00Z",
            "lead_envoy_id": zhang.envoy_id,
            "co_envoy_ids": [li.envoy_id],
            "reported_headcount": 30,
        },
        s1,
    )
    s2 = zhang.session(
        kind="large_training", starts_at="2026-05-10T05:00:00Z", reported_headcount=100
    )
    # A TV lecture: a session kind and a service day, its audience estimate no headcount.
    s3 = zhang.session(
        kind="tv_lecture",
        unit_code="530102",
        starts_at="2026-06-01T12:00:00Z",
        reported_headcount=5000,
    )
    # 00:30 on 1 January 2026 in Beijing: this year's, on the 1 January service day.
    s5 = zhang.session(starts_at="2025-12-31T16:30:00Z")
    zhang.session(starts_at="2025-12-31T15:30:00Z")  # 23:30 on 31 December: last year's
    # A field day recorded by mistake and deleted: counted nowhere.
    s4 = zhang.session(kind="field_day", starts_at="2026-07-01T02:00:00Z", reported_headcount=9)
    a, b, c, d = (zhang.farmer(name) for name in ("赵大", "钱二", "孙三", "李四"))
    a_again = zhang.farmer("赵大", mobile="13912345678")  # the same 赵大 registered twice
    for farmer in (a, b, a_again):
        zhang.checkin(s1, farmer)
    for farmer in (a_again, c):
        zhang.checkin(s2, farmer)
    zhang.checkin(s4, d)
    zhang.update(p.SESSION, s4, {"deleted": True})
    with write_transaction(db):
        farmers.merge_farmers(db, a_again, a)
    # Hand-outs 100 + 40 + 60, and a correction taking 20 back: 180 net.
    zhang.handout(100)
    zhang.handout(40, unit_code=None, session_id=s1)
    wrong = zhang.handout(60)
    zhang.handout(-20, correction_of=wrong)
    zhang.receipt(500)
    plot = zhang.plot(area_mu=10.5)
    dropped = zhang.plot(area_mu=4.0)
    zhang.update(p.PLOT, dropped, {"deleted": True})
    zhang.plot(area_mu=8.0, established_on="2025-10-01")  # last year's plot
    observe(zhang, plot, "2026-08-15")  # a day with no session: a service day
    observe(zhang, dropped, "2026-08-20")  # of a deleted plot: not counted
    # 李梅 leads one session, co-run by 张三, with one check-in.
    s6 = new_id()
    li.push(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "玉米高产栽培",
            "unit_code": VILLAGE_WEST,
            "starts_at": "2026-09-09T02:00:00Z",
            "lead_envoy_id": li.envoy_id,
            "co_envoy_ids": [zhang.envoy_id],
        },
        s6,
    )
    li.checkin(s6, li.farmer("周四", village_code=VILLAGE_WEST))
    # 王五: a plot, and 99 copies handed out by mistake and taken back.
    south = wang.plot(area_mu=5.5, village_code=VILLAGE_SOUTH)
    mistake = wang.handout(99, unit_code=VILLAGE_SOUTH)
    wang.handout(-99, unit_code=VILLAGE_SOUTH, correction_of=mistake)
    # Reviews: two of 张三's records under question, one approved, one on a deleted session.
    review(db, "session", s1, QUESTIONED)
    review(db, "plot", plot, RETURNED)
    review(db, "session", s2, APPROVED)
    review(db, "session", s4, QUESTIONED)
    review(db, "plot", south, CORRECTED)
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    users.add_user(db, "admin", users.ADMIN, PASSWORD)
    users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang.envoy_id)
    yield {"db": db, "zhang": zhang, "li": li, "wang": wang, "s3": s3, "s5": s5}
    db.close()


ZHANG = {
    "kind_village_training": 2,  # s1 and 1 January's; 31 December's is last year's
    "kind_large_training": 1,
    "kind_tv_lecture": 1,
    "kind_field_day": 0,  # deleted
    "kind_science_week": 0,
    "kind_other": 0,
    "co_run": 1,  # 李梅's session
    "verified": 4,  # s1: 赵大 (twice, merged: once), 钱二; s2: 赵大, 孙三
    "reported": 130,  # 30 + 100; the TV audience and the deleted session's 9 left out
    "trainees": 3,  # 赵大, 钱二, 孙三
    "service_days": 5,  # 1 Jan, 10 May, 1 Jun (TV), 15 Aug (observation), 9 Sep (co-run)
    "leaflets": 180,
    "plots": 1,
    "area_mu": 10.5,
    # 4 sessions, 4 hand-outs, 1 receipt, 1 plot, 1 observation (deleted ones left out)
    "records": 11,
    "questioned": 2,
    "questioned_share": 18.2,
}
LI = {"kind_village_training": 1, "co_run": 1, "verified": 1, "trainees": 1, "service_days": 2}
WANG = {"plots": 1, "area_mu": 5.5, "leaflets": 0, "records": 3, "questioned": 1}


def by_name(db: Database, **options: Any) -> dict[str, EnvoyFigures]:
    return {row.envoy: row for row in performance(db, 2026, **options).rows}


def test_every_figure_of_every_envoy(work: dict[str, Any]) -> None:
    rows = by_name(work["db"])
    assert set(rows) == {"张三", "李梅", "王五"}
    for name, expected in (("张三", ZHANG), ("李梅", LI), ("王五", WANG)):
        row = rows[name].row()
        for key in COLUMNS[2:]:
            if key in expected:
                assert row[key] == expected[key], (name, key)
    assert rows["李梅"].row()["reported"] == 0 and rows["李梅"].questioned_share == 0.0
    assert rows["王五"].questioned_share == pytest.approx(33.3)
    assert rows["张三"].townships == "城关镇" and rows["张三"].township_codes == ["530102001000"]


def test_a_unit_lists_the_envoys_serving_it_with_their_whole_year(work: dict[str, Any]) -> None:
    db = work["db"]
    assert set(by_name(db, unit_code=TOWNSHIP_1)) == {"张三", "李梅"}
    assert set(by_name(db, unit_code=TOWNSHIP_2)) == {"王五"}
    # The county-wide TV lecture is 张三's wherever it was: the unit picks envoys, not records.
    assert by_name(db, unit_code="530102001001")["张三"].sessions["tv_lecture"] == 1
    only = performance(db, 2026, envoy_id=work["li"].envoy_id)
    assert [row.envoy for row in only.rows] == ["李梅"]
    # Another year: the envoys listed, nothing counted.
    last = {row.envoy: row for row in performance(db, 2025).rows}
    assert last["张三"].sessions == {"village_training": 1} and last["张三"].plots == 1


# ------------------------------------------------------------------ the page


def client_of(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, name, PASSWORD).status_code == 302
    return client


class TableReader(HTMLParser):
    """The performance table's header keys and, per row, each cell's value and link."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []
        self.sort_links: dict[str, str] = {}
        self.rows: list[list[tuple[str, str | None]]] = []
        self.inside = False
        self.header: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("data-table") == "performance":
            self.inside = True
        if not self.inside:
            return
        if tag == "th" and found.get("data-key"):
            self.header = found["data-key"]
            self.keys.append(self.header)
        elif tag == "a" and self.header:
            self.sort_links[self.header] = found["href"] or ""
        elif tag == "tr" and self.keys:
            self.rows.append([])
        elif tag == "td" and self.rows:
            self.rows[-1].append((found.get("data-value") or "", None))
        elif tag == "a" and self.rows and self.rows[-1]:
            value, _ = self.rows[-1][-1]
            self.rows[-1][-1] = (value, found["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self.header = None
        if tag == "table":
            self.inside = False


def read_table(html: str) -> TableReader:
    reader = TableReader()
    reader.feed(html)
    return reader


def cells(reader: TableReader) -> list[dict[str, tuple[str, str | None]]]:
    return [dict(zip(reader.keys, row, strict=True)) for row in reader.rows]


def test_staff_see_every_envoy_with_figures_linked(app: Flask, work: dict[str, Any]) -> None:
    staff = client_of(app, "staff")
    response = staff.get("/performance?year=2026")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "特派员绩效考评" in html and "进村培训（场）" in html
    reader = read_table(html)
    assert reader.keys[:3] == ["envoy", "townships", "kind_village_training"]
    assert set(COLUMNS) <= set(reader.keys)
    rows = {row["envoy"][0]: row for row in cells(reader)}
    assert set(rows) == {"张三", "李梅", "王五"}
    for key, value in ZHANG.items():
        assert float(rows["张三"][key][0]) == pytest.approx(value), key
    assert rows["张三"]["records"][1] is None  # the denominator has no list of its own


def drilled_figure(client: FlaskClient, key: str, href: str) -> float:
    """What the list a cell links to says: its count, or the sum that figure is."""
    html = client.get(href).get_data(as_text=True)
    sums = {
        "verified": "person_times",
        "trainees": "people",
        "reported": "reported_headcount",
        "leaflets": "copies",
        "area_mu": "area_mu",
    }
    if key in sums:
        found = re.search(rf'id="record-sum-{sums[key]}" data-value="([^"]*)"', html)
    else:
        found = re.search(r'id="record-count">共 ([\d,]+) 条', html)
    assert found, (key, href)
    return float(found.group(1).replace(",", ""))


def test_each_figure_drills_to_records_that_count_the_same(
    app: Flask, work: dict[str, Any]
) -> None:
    staff = client_of(app, "staff")
    reader = read_table(staff.get("/performance?year=2026").get_data(as_text=True))
    checked = 0
    for row in cells(reader):
        for key in COLUMNS[2:]:
            value, href = row[key]
            if key in ("records", "questioned_share"):
                continue
            assert href, (row["envoy"][0], key)
            assert float(value) == pytest.approx(drilled_figure(staff, key, href)), (
                row["envoy"][0],
                key,
                href,
            )
            checked += 1
    assert checked == 3 * (len(COLUMNS) - 4)
    # The share links to the records under question, whose count over the records is the share.
    zhang = next(row for row in cells(reader) if row["envoy"][0] == "张三")
    assert drilled_figure(staff, "questioned", zhang["questioned_share"][1] or "") == 2


def test_the_questioned_list_and_service_days_list(app: Flask, work: dict[str, Any]) -> None:
    staff = client_of(app, "staff")
    zhang = work["zhang"].envoy_id
    html = staff.get(f"/records/questioned?year=2026&envoy={zhang}").get_data(as_text=True)
    assert "有问题" in html and "退回" in html and "通过" not in html
    assert "/review/session/" in html and "/review/plot/" in html
    days = staff.get(f"/records/days?year=2026&envoy={zhang}").get_data(as_text=True)
    assert re.findall(r'data-value="(2026-\d\d-\d\d)"', days) == [
        "2026-09-09",
        "2026-08-15",
        "2026-06-01",
        "2026-05-10",
        "2026-01-01",
    ]
    # A list of one envoy's days needs the envoy.
    assert staff.get("/records/days?year=2026").status_code == 422


def sort_order(client: FlaskClient, key: str, desc: bool) -> list[str]:
    query = f"/performance?year=2026&sort={key}" + ("&desc=1" if desc else "")
    reader = read_table(client.get(query).get_data(as_text=True))
    return [row["envoy"][0] for row in cells(reader)]


@pytest.mark.parametrize("key", COLUMNS)
def test_sorting_by_each_column_over_all_envoys(app: Flask, work: dict[str, Any], key: str) -> None:
    staff = client_of(app, "staff")
    rows = list(by_name(work["db"]).values())

    def value(row: EnvoyFigures) -> Any:
        found = row.row()[key]
        return float("-inf") if found is None else found

    for desc in (False, True):
        expected = sorted(sorted(rows, key=lambda r: r.envoy), key=value, reverse=desc)
        assert sort_order(staff, key, desc) == [row.envoy for row in expected], (key, desc)


def test_header_links_sort_and_toggle(app: Flask, work: dict[str, Any]) -> None:
    staff = client_of(app, "staff")
    reader = read_table(staff.get("/performance?year=2026").get_data(as_text=True))
    # A figure sorts largest first on the first click; the sorted column toggles.
    link = reader.sort_links["verified"]
    assert "sort=verified" in link and "desc=1" in link
    assert sort_order(staff, "verified", True) == ["张三", "李梅", "王五"]
    again = read_table(staff.get(link).get_data(as_text=True)).sort_links["verified"]
    assert "sort=verified" in again and "desc=1" not in again
    assert staff.get("/performance?year=2026&sort=nonsense").status_code == 422


def test_csv_has_a_bom_and_xlsx_keeps_codes_as_text(app: Flask, work: dict[str, Any]) -> None:
    staff = client_of(app, "staff")
    data = staff.get("/performance?year=2026&sort=verified&desc=1&format=csv").get_data()
    assert data.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert "特派员绩效考评" in lines[0][0] and "2026" in lines[0][0]
    header = lines[1]
    assert header[0] == "特派员" and "核实人次（实名签到）" in header
    assert [line[0] for line in lines[2:]] == ["张三", "李梅", "王五"]
    zhang = dict(zip(header, lines[2], strict=True))
    assert zhang["服务天数"] == "5" and zhang["服务乡镇代码"] == "530102001000"
    response = staff.get("/performance?year=2026&sort=verified&desc=1&format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    header = list(sheet[1])
    zhang_row = dict(zip(header, sheet[2], strict=True))
    assert zhang_row["服务乡镇代码"] == "530102001000"  # text, its zeros kept
    assert zhang_row["核实人次（实名签到）"] == 4 and zhang_row["示范面积（亩）"] == 10.5
    assert [row[0] for row in sheet[2:]] == ["张三", "李梅", "王五"]


def test_an_envoy_sees_only_their_own_row(app: Flask, work: dict[str, Any]) -> None:
    zhang = client_of(app, "zhang")
    reader = read_table(zhang.get("/performance?year=2026").get_data(as_text=True))
    assert [row["envoy"][0] for row in cells(reader)] == ["张三"]
    li = work["li"].envoy_id
    assert zhang.get(f"/performance?year=2026&envoy={li}").status_code == 403
    assert zhang.get(f"/performance?year=2026&unit={TOWNSHIP_1}").status_code == 403
    data = zhang.get("/performance?year=2026&format=csv").get_data().decode("utf-8-sig")
    assert "李梅" not in data and "王五" not in data
    # Their own drill lists open; another envoy's do not.
    own = cells(reader)[0]["verified"][1] or ""
    assert zhang.get(own).status_code == 200
    assert zhang.get(f"/records/days?year=2026&envoy={li}").status_code == 403


def test_the_page_in_english(app: Flask, work: dict[str, Any]) -> None:
    staff = client_of(app, "staff")
    staff.get("/lang/en")
    html = staff.get("/performance?year=2026").get_data(as_text=True)
    assert "Envoy performance" in html and "Person-times verified (named)" in html
    assert "Service days" in html and "特派员绩效考评" not in html
    assert "Village trainings" in html and "进村培训（场）" not in html
