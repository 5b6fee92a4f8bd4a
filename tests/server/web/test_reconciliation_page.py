"""The reconciliation page (数据核对) on crafted data: sections, files, who sees what, English."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from html import unescape

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.accounts import users
from server.store.db import init_db
from shared import protocol as p
from tests.helpers import VILLAGE_EAST, VILLAGE_SOUTH, VILLAGE_WEST, sign_in
from tests.server.fieldwork import Envoy

TOWNSHIP_1, TOWNSHIP_2, COUNTY = "530102001", "530102002", "530102"
PASSWORD = "correct-horse"
PAGE = "/reconciliation/?year=2026"


def checkin_at(envoy: Envoy, session: str, farmer: str, at: str) -> None:
    envoy.push(
        p.ATTENDANCE,
        {"session_id": session, "farmer_id": farmer, "checked_in_at": at, "method": "qr_self"},
    )


@pytest.fixture
def crafted(app: Flask, db_path: str) -> Iterator[dict[str, str]]:
    """张三 serves township 1; 王五 serves townships 1 and 2 and hands out more than he got."""
    db = init_db(db_path)
    zhang, wang = Envoy(db, "张三"), Envoy(db, "王五")
    codes = [TOWNSHIP_1.ljust(12, "0"), TOWNSHIP_2.ljust(12, "0")]
    db["envoys"].update(wang.envoy_id, {"township_codes": json.dumps(codes)})
    zhang.receipt(1000)
    wang.receipt(600)
    wang.handout(700, unit_code=VILLAGE_SOUTH)
    padded = zhang.session(reported_headcount=50, starts_at="2026-05-11T02:00:00Z")
    fine = zhang.session(reported_headcount=3, starts_at="2026-05-12T02:00:00Z")
    nameless = wang.session(
        reported_headcount=20, unit_code=VILLAGE_SOUTH, starts_at="2026-05-13T02:00:00Z"
    )
    empty = zhang.session(starts_at="2026-05-20T02:00:00Z")  # no names, no headcount: flagged
    for session, day in ((padded, 11), (fine, 12)):
        for name in ("赵大", "钱二"):
            checkin_at(zhang, session, zhang.farmer(name), f"2026-05-{day}T02:15:00Z")
    # Five hours after the session started (it has no end time).
    checkin_at(zhang, fine, zhang.farmer("孙迟到"), "2026-05-12T07:00:00Z")
    # Silent since 2020, when it last said 7 changes were waiting in its outbox.
    db.execute(
        "UPDATE devices SET last_seen_at = ?, outbox_waiting = 7, reported_at = ? WHERE id = ?",
        ["2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", wang.device.id],
    )
    db.conn.commit()
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang.envoy_id)
    ids = {
        "zhang": zhang.envoy_id,
        "wang": wang.envoy_id,
        "padded": padded,
        "fine": fine,
        "nameless": nameless,
        "empty": empty,
    }
    db.close()
    yield ids


def signed_in(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, name, PASSWORD).status_code == 302
    return client


def section(page: str, name: str) -> str:
    """The text of one table block of the page (tags dropped)."""
    found = re.search(
        rf'<section class="table-block" id="table-{name}">(.*?)</section>', page, re.S
    )
    assert found, f"no table {name}"
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", found.group(1))))


def rows_of(page: str, name: str) -> list[str]:
    found = re.search(rf'id="table-{name}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert found, f"no table {name}"
    return re.findall(r"<tr[^>]*>.*?</tr>", found.group(1), re.S)


def cells_by_header(page: str, name: str, row: str) -> dict[str, str]:
    """A row's cell texts keyed by their column's header."""
    block = page.split(f'id="table-{name}"')[1].split("</section>")[0]
    headers = [
        re.sub(r"<[^>]+>|\s", "", th) for th in re.findall(r"<th[^>]*>(.*?)</th>", block, re.S)
    ]
    cells = [re.sub(r"<[^>]+>|\s", "", td) for td in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return dict(zip(headers, cells, strict=False))


def test_signed_out_people_are_sent_to_sign_in(client: FlaskClient) -> None:
    answer = client.get(PAGE)
    assert answer.status_code == 302 and "/signin" in answer.headers["Location"]


def test_every_section_renders_its_doubtful_lines(app: Flask, crafted: dict[str, str]) -> None:
    staff = signed_in(app, "staff")
    page = staff.get(PAGE).get_data(as_text=True)
    assert "数据核对" in page and 'href="/reconciliation/"' in page  # the nav link
    for heading in ("人数核对", "资料核对", "签到核对", "设备"):
        assert f"<h2>{heading}</h2>" in page
    # Headcounts: per envoy, and the doubtful sessions only (the padded and the nameless).
    envoys = section(page, "headcount-envoys")
    assert re.search(r"张三 3 53 5 9\.4 1", envoys), envoys  # 53 typed, 5 named: 5/53
    assert re.search(r"王五 1 20 0 0 1", envoys), envoys
    doubtful = page.split('id="table-headcount-sessions"')[1].split("</section>")[0]
    assert f"/records/session/{crafted['padded']}" in doubtful
    assert f"/review/session/{crafted['padded']}" in doubtful
    assert f"/review/session/{crafted['nameless']}" in doubtful
    assert crafted["fine"] not in doubtful
    assert "2026年5月11日 10:00" in doubtful  # China time
    # Leaflets: 王五 handed out 700 of 600, his line highlighted; 1,000 with separators.
    leaflets = rows_of(page, "leaflets")
    [over] = [row for row in leaflets if "王五" in row]
    assert 'class="over"' in over and "-100" in over and "是" in over
    [zhang_row] = [row for row in leaflets if "张三" in row]
    assert "class=" not in zhang_row.split(">")[0] and "1,000" in zhang_row
    assert f"/ledger/{crafted['wang']}" in over
    # Check-ins: the late one, with its minutes outside the window and its reason in words.
    checkins = rows_of(page, "checkins")
    [late] = checkins
    assert "孙迟到" in late and "签到时间在场次时间之外" in late and ">300<" in late
    assert "2026年5月12日 15:00" in late
    # Devices: 王五's phone silent since 2020.
    devices = section(page, "devices")
    assert "王五的手机" in devices and "张三的手机" not in devices
    assert "2020年1月1日 08:00" in devices
    [device] = rows_of(page, "devices")
    assert cells_by_header(page, "devices", device)["待上传变更（最后一次报告）"] == "7"
    # Flagged records: counted as the JSON lists them, linked to the flags list of this scope.
    flags = staff.get(f"/api/v1/reconciliation/2026?unit={COUNTY}").get_json()["flags"]
    assert crafted["empty"] in {flag["record_id"] for flag in flags}
    link = re.search(r'<a id="flags-link" href="([^"]+)">存疑记录（(\d+) 条）</a>', page)
    assert link and int(link.group(2)) == len(flags)
    assert unescape(link.group(1)) == "/flags?year=2026"


@pytest.mark.parametrize(
    ("unit", "total", "shares"),
    [
        # 王五 serves two townships: half of his 600 counts in each.
        (TOWNSHIP_1, "1,300", {"张三": "1,000", "王五": "300"}),
        (TOWNSHIP_2, "300", {"王五": "300"}),
        # A village: its township's share split over the township's villages (two, one).
        (VILLAGE_EAST, "650", {"张三": "500", "王五": "150"}),
        (VILLAGE_WEST, "650", {"张三": "500", "王五": "150"}),
        (VILLAGE_SOUTH, "300", {"王五": "300"}),
        (COUNTY, "1,600", {"张三": "1,000", "王五": "600"}),
    ],
)
def test_receipts_counted_toward_a_township_or_village_by_the_envoys_serving_it(
    app: Flask, crafted: dict[str, str], unit: str, total: str, shares: dict[str, str]
) -> None:
    staff = signed_in(app, "staff")
    page = staff.get(f"{PAGE}&unit={unit}").get_data(as_text=True)
    assert "领取的资料归领取的特派员" in page  # the page says how receipts are shared
    shown = re.search(r'id="receipts-total"><strong>[^：]*：([\d,.]+)', page)
    assert shown and shown.group(1) == total
    rows = rows_of(page, "receipts")
    assert len(rows) == len(shares)
    for envoy, share in shares.items():
        [row] = [row for row in rows if envoy in row]
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert re.sub(r"<[^>]+>|\s", "", cells[-1]) == share


def test_a_township_lists_only_the_envoys_serving_it(app: Flask, crafted: dict[str, str]) -> None:
    staff = signed_in(app, "staff")
    page = staff.get(f"{PAGE}&unit={TOWNSHIP_2}").get_data(as_text=True)
    assert "张三" not in section(page, "leaflets") and "王五" in section(page, "leaflets")
    # The village menu of the township chosen, to look at one village.
    assert f'value="{VILLAGE_SOUTH}"' in page


def test_sections_export_as_csv_with_a_bom_and_xlsx_with_codes_as_text(
    app: Flask, crafted: dict[str, str]
) -> None:
    staff = signed_in(app, "staff")
    page = staff.get(PAGE).get_data(as_text=True)
    for name in ("headcount-envoys", "headcount-sessions", "leaflets", "receipts", "checkins"):
        assert f"table={name}&amp;format=csv" in page and f"table={name}&amp;format=xlsx" in page
    answer = staff.get(f"{PAGE}&table=leaflets&format=csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.data.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("资料核对（按特派员和资料）")
    assert lines[1].split(",") == ["特派员", "资料名称", *lines[1].split(",")[2:]]
    assert "结存" in lines[1] and "超发" in lines[1]
    body = {line.split(",")[0]: line for line in lines[2:]}
    assert set(body) == {"张三", "王五"}
    assert body["王五"].endswith(",600,700,-100,是") and body["张三"].endswith(",否")

    answer = staff.get(f"{PAGE}&table=headcount-sessions&format=xlsx")
    assert answer.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[1]
    code_column = header.index("区划代码")
    codes = [row[code_column] for row in rows[2:]]
    assert sorted(codes) == sorted([VILLAGE_EAST, VILLAGE_SOUTH])
    assert all(isinstance(code, str) for code in codes)
    reported = header.index("填报人数")
    assert sorted(row[reported] for row in rows[2:]) == [20, 50]


def test_an_envoy_user_sees_only_their_own_rows(app: Flask, crafted: dict[str, str]) -> None:
    envoy = signed_in(app, "zhang")
    # Asking for another envoy or a unit is refused (server/api/scope.py); asking for nobody
    # in particular gives one's own.
    wang = crafted["wang"]
    for asked in (f"&envoy={wang}", f"&unit={TOWNSHIP_2}", f"&envoy={wang}&format=csv"):
        refused = envoy.get(f"{PAGE}{asked}")
        assert refused.status_code == 403 and "特派员只能查看自己的数据" in refused.text
    page = envoy.get(PAGE).get_data(as_text=True)
    assert "王五" not in page
    assert "张三" in section(page, "headcount-envoys") and "张三" in section(page, "leaflets")
    assert crafted["nameless"] not in page and crafted["padded"] in page
    assert "/review/session/" not in page  # reviewing is the bureau's
    assert 'name="unit"' not in page and 'name="envoy"' not in page
    text = envoy.get(f"{PAGE}&table=leaflets&format=csv").data
    assert "王五".encode() not in text and "张三".encode() in text


def test_the_page_switches_to_english(app: Flask, crafted: dict[str, str]) -> None:
    staff = signed_in(app, "staff")
    staff.get("/lang/en")
    page = staff.get(PAGE).get_data(as_text=True)
    for words in (
        "Headcounts by envoy",
        "Leaflets by envoy and title",
        "Over-distributed",
        "Silent devices",
        "outside the session&#39;s time",
    ):
        assert words in page, words
    assert "人数核对</h2>" not in page


def test_a_bad_scope_is_named(app: Flask, crafted: dict[str, str], db_path: str) -> None:
    staff = signed_in(app, "staff")
    unit = staff.get(f"{PAGE}&unit=99999x")
    assert unit.status_code == 404 and "未知的区划代码" in unit.text and "99999x" in unit.text
    assert staff.get(f"{PAGE}&envoy=nobody").status_code == 404
    db = init_db(db_path)
    # Nothing written by looking.
    assert db.execute("SELECT count(*) FROM leaflet_receipts").fetchone()[0] == 2
    db.close()
