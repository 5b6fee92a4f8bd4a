"""The bureau's pages on crafted field work: who sees what, drill-down, and exports read back."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlite_utils import Database

from server.accounts import users
from server.plan import profiles
from server.plan.progress import progress
from server.store.db import init_db
from server.sync import devices
from tests.helpers import VILLAGE_EAST, VILLAGE_WEST, csrf_token, sign_in
from tests.server.fieldwork import Envoy

PASSWORD = "page-password"
MOBILE = "13912345678"


@pytest.fixture
def busy(app: Flask, db_path: str) -> Iterator[dict[str, Any]]:
    """张三 trains three farmers in 东村 (one with a mobile), types a headcount of 40 and hands
    out 100 leaflets; 李梅 trains two farmers in 西村."""
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    east = zhang.session(reported_headcount=40)
    for number, name in enumerate(("赵大", "钱二", "孙三")):
        farmer = zhang.farmer(name, mobile=MOBILE if number == 0 else None)
        zhang.checkin(east, farmer)
    zhang.handout(100, session_id=east)
    west = li.session(unit_code=VILLAGE_WEST)
    for name in ("周四", "吴五"):
        li.checkin(west, li.farmer(name, village_code=VILLAGE_WEST))
    users.add_user(db, "admin", users.ADMIN, PASSWORD)
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang.envoy_id)
    yield {"db": db, "zhang": zhang, "li": li, "east": east, "west": west}
    db.close()


def client_of(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, name, PASSWORD).status_code == 302
    return client


def csv_rows(response: Any) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith("\ufeff".encode()), "CSV starts with a BOM"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(response: Any) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def cell_text(page: str, row_key: str) -> str:
    row = re.search(rf'<tr>\s*<td[^>]*data-value="{row_key}"', page)
    assert row, row_key
    return page[row.start() : page.index("</tr>", row.start())]


# ------------------------------------------------------------------ who sees what


def test_staff_see_the_county_with_verified_and_reported_apart(
    app: Flask, busy: dict[str, Any]
) -> None:
    page = client_of(app, "staff").get("/progress?year=2026").get_data(as_text=True)
    line = cell_text(page, "培训人次")
    values = re.findall(r'data-value="([^"]*)"', line)
    # 培训人次: verified 5 (named check-ins), reported 40 beside it (after 其中存疑), never 45.
    assert values[2] == "5" and values[4] == "40"
    assert "45" not in values
    assert "/records/checkins?year=2026" in line


def test_an_envoy_user_sees_only_their_own_figures_and_records(
    app: Flask, busy: dict[str, Any]
) -> None:
    zhang = client_of(app, "zhang")
    page = zhang.get("/progress?year=2026").get_data(as_text=True)
    assert re.findall(r'data-value="([^"]*)"', cell_text(page, "培训人次"))[2] == "3"
    li_id = busy["li"].envoy_id
    assert zhang.get(f"/progress?year=2026&envoy={li_id}").status_code == 403
    assert zhang.get("/progress?year=2026&unit=530102").status_code == 403
    listed = zhang.get("/records/checkins?year=2026").get_data(as_text=True)
    assert "赵大" in listed and "周四" not in listed and "吴五" not in listed
    assert zhang.get(f"/records/checkins?year=2026&envoy={li_id}").status_code == 403
    assert zhang.get(f"/records/session/{busy['west']}").status_code == 403
    assert zhang.get(f"/records/session/{busy['east']}").status_code == 200
    for path in ("/breakdowns?year=2026", "/summary?year=2026", "/staff/devices", "/targets/"):
        assert zhang.get(path).status_code == 403, path
    # Nor through the report API, which gives them their own figures only (asking for none
    # gives their own, as the pages do; server/api/scope.py).
    mine = zhang.get("/api/v1/reports/2026")
    assert mine.status_code == 200 and mine.get_json()["indicators"][0]["actual"] == 3
    assert zhang.get(f"/api/v1/reports/2026?envoy={li_id}").status_code == 403
    own = zhang.get(f"/api/v1/reports/2026?envoy={busy['zhang'].envoy_id}")
    assert own.status_code == 200 and own.get_json()["indicators"][0]["actual"] == 3


def test_staff_cannot_change_targets_and_admins_can(app: Flask, busy: dict[str, Any]) -> None:
    staff, admin = client_of(app, "staff"), client_of(app, "admin")
    form = {
        "year": "2026",
        "unit_code": "530102001000",
        "indicator": "village_trainings",
        "comparator": ">=",
        "value": "4",
    }
    refused = staff.post("/targets/", data={**form, "csrf_token": csrf_token(staff, "/targets/")})
    assert refused.status_code == 403
    upload = staff.post(
        "/targets/upload?year=2026",
        data={
            "csrf_token": csrf_token(staff, "/targets/"),
            "file": (io.BytesIO("指标,比较,目标值,单位代码\n".encode()), "t.csv"),
        },
    )
    assert upload.status_code == 403
    db = busy["db"]
    assert (
        db.execute("SELECT count(*) FROM targets WHERE unit_code = '530102001000'").fetchone()[0]
        == 0
    )
    saved = admin.post("/targets/", data={**form, "csrf_token": csrf_token(admin, "/targets/")})
    assert saved.status_code == 302
    assert (
        db.execute(
            "SELECT value FROM targets WHERE unit_code = '530102001000' AND indicator = 'village_trainings'"
        ).fetchone()[0]
        == 4
    )
    loaded = admin.post(
        "/targets/upload?year=2026",
        data={
            "csrf_token": csrf_token(admin, "/targets/"),
            "file": (
                io.BytesIO("指标,比较,目标值,单位代码\n培训人次,超过,50,530102001000\n".encode()),
                "目标.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    assert loaded.status_code == 302, loaded.get_data(as_text=True)
    page = staff.get("/progress?year=2026&unit=530102001").get_data(as_text=True)
    assert "超过 50" in cell_text(page, "培训人次")


# ------------------------------------------------------------------ drill-down


def test_a_figure_drills_down_to_the_check_ins_it_counts(app: Flask, busy: dict[str, Any]) -> None:
    staff = client_of(app, "staff")
    page = staff.get("/progress?year=2026").get_data(as_text=True)
    link = re.search(r'href="(/records/checkins[^"]*)"', cell_text(page, "培训人次")).group(1)
    listed = staff.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "共 5 条" in listed
    for name in ("赵大", "钱二", "孙三", "周四", "吴五"):
        assert name in listed
    # Masked for staff; from a record to its session.
    assert MOBILE not in listed and "139****5678" in listed
    session_link = re.search(r'href="(/records/session/[^"]+)"', listed).group(1)
    session_page = staff.get(session_link).get_data(as_text=True)
    assert "张三" in session_page or "李梅" in session_page
    # Filterable and by breakdown row: the township's village 西村 only.
    west = staff.get(f"/records/checkins?year=2026&unit={VILLAGE_WEST}").get_data(as_text=True)
    assert "共 2 条" in west and "赵大" not in west


def test_a_breakdown_links_each_row_to_its_records(app: Flask, busy: dict[str, Any]) -> None:
    staff = client_of(app, "staff")
    page = staff.get("/breakdowns?year=2026&by=village").get_data(as_text=True)
    assert "东村" in page and "西村" in page
    east = staff.get(f"/records/checkins?year=2026&unit={VILLAGE_EAST}").get_data(as_text=True)
    assert "共 3 条" in east


# ------------------------------------------------------------------ exports


def test_progress_csv_reads_back_as_the_page_figures(app: Flask, busy: dict[str, Any]) -> None:
    staff = client_of(app, "staff")
    response = staff.get("/progress?year=2026&format=csv")
    disposition = response.headers["Content-Disposition"]
    assert "2026" in disposition and ".csv" in disposition and "filename*=UTF-8" in disposition
    rows = csv_rows(response)
    assert "示范县" in rows[0][0] and "2026" in rows[0][0] and "截至" in rows[0][0]
    header = rows[1]
    assert header[:3] == ["指标", "目标", "完成（核实）"]
    report = progress(busy["db"], 2026)
    by_label = {row[0]: row for row in rows[2:]}
    for line in report["indicators"]:
        row = by_label[line["label_zh"]]
        assert float(row[header.index("完成（核实）")]) == line["actual"]
        met = row[header.index("是否达标")]
        assert met == {True: "是", False: "否", None: ""}[line["met"]]


def test_checkins_xlsx_keeps_mobiles_as_text_and_masks_them_for_staff(
    app: Flask, busy: dict[str, Any]
) -> None:
    admin, staff = client_of(app, "admin"), client_of(app, "staff")
    rows = xlsx_rows(admin.get("/records/checkins?year=2026&format=xlsx"))
    assert "签到" in rows[0][0] and "2026" in rows[0][0]
    header = rows[1]
    mobiles = [row[header.index("手机")] for row in rows[2:]]
    assert MOBILE in mobiles and all(m is None or isinstance(m, str) for m in mobiles)
    assert len(rows) - 2 == 5
    masked = xlsx_rows(staff.get("/records/checkins?year=2026&format=xlsx"))
    assert "139****5678" in [row[header.index("手机")] for row in masked[2:]]
    units = xlsx_rows(staff.get("/reference/units?format=xlsx"))
    codes = [row[0] for row in units[2:]]
    assert "530102001001" in codes and all(isinstance(code, str) for code in codes)


def test_breakdown_xlsx_equals_the_page(app: Flask, busy: dict[str, Any]) -> None:
    staff = client_of(app, "staff")
    page = staff.get("/breakdowns?year=2026&by=envoy").get_data(as_text=True)
    rows = xlsx_rows(staff.get("/breakdowns?year=2026&by=envoy&format=xlsx"))
    header = rows[1]
    column = header.index("培训人次")
    figures = {row[0]: row[column] for row in rows[2:]}
    assert figures["张三"] == 3 and figures["李梅"] == 2 and figures["合计（本单位）"] == 5
    for name, value in (("张三", 3), ("李梅", 2)):
        cells = re.findall(r'data-value="([^"]*)"', cell_text(page, name))
        assert str(value) == cells[column]


# ------------------------------------------------------------------ staff pages


def test_devices_page_shows_china_time_and_only_admins_revoke(
    app: Flask, busy: dict[str, Any]
) -> None:
    db: Database = busy["db"]
    device_id = busy["zhang"].device.id
    db.execute(
        "UPDATE devices SET last_seen_at = '2026-11-26T06:05:00Z', skew_ms = 93000 WHERE id = ?",
        [device_id],
    )
    db.conn.commit()
    staff, admin = client_of(app, "staff"), client_of(app, "admin")
    page = staff.get("/staff/devices").get_data(as_text=True)
    assert "2026年11月26日 14:05" in page and ">93<" in page
    assert "revoke" not in page
    token = csrf_token(staff, "/staff/devices")
    assert (
        staff.post(f"/staff/devices/{device_id}/revoke", data={"csrf_token": token}).status_code
        == 403
    )
    token = csrf_token(admin, "/staff/devices")
    assert (
        admin.post(f"/staff/devices/{device_id}/revoke", data={"csrf_token": token}).status_code
        == 302
    )
    assert [d["revoked_at"] for d in devices.list_devices(db) if d["id"] == device_id][0]


def test_staff_merge_a_candidate_pair_on_the_page(app: Flask, busy: dict[str, Any]) -> None:
    db: Database = busy["db"]
    zhang, li = busy["zhang"], busy["li"]
    first = zhang.farmer("郑六", mobile="13700001111")
    second = li.farmer("郑陆", mobile="13700001111")
    pair = db.execute(
        "SELECT id FROM merge_candidates WHERE resolved_at IS NULL AND farmer_a IN (?, ?)",
        [first, second],
    ).fetchone()
    assert pair, "the same mobile under two names is offered as a pair"
    staff = client_of(app, "staff")
    page = staff.get("/staff/candidates").get_data(as_text=True)
    assert "郑六" in page and "郑陆" in page and "13700001111" not in page
    token = csrf_token(staff, "/staff/candidates")
    done = staff.post(f"/staff/candidates/{pair[0]}/merge", data={"csrf_token": token, "keep": "a"})
    assert done.status_code == 302
    assert db.execute("SELECT count(*) FROM farmer_aliases").fetchone()[0] == 1
    merged = staff.get("/staff/merged").get_data(as_text=True)
    assert "郑六" in merged
    for path in ("/staff/conflicts", "/staff/held"):
        assert staff.get(path).status_code == 200


def test_reference_data_loads_from_an_upload_by_admins_only(
    app: Flask, busy: dict[str, Any]
) -> None:
    staff, admin = client_of(app, "staff"), client_of(app, "admin")
    body = "code,name,parent_code,level\n530102003,新河乡,530102,township\n".encode()
    refused = staff.post(
        "/reference/units",
        data={
            "csrf_token": csrf_token(staff, "/reference/units"),
            "file": (io.BytesIO(body), "u.csv"),
        },
    )
    assert refused.status_code == 403
    loaded = admin.post(
        "/reference/units",
        data={
            "csrf_token": csrf_token(admin, "/reference/units"),
            "file": (io.BytesIO(body), "u.csv"),
        },
    )
    assert loaded.status_code == 302
    assert "新河乡" in staff.get("/reference/units").get_data(as_text=True)
    bad = admin.post(
        "/reference/units",
        data={
            "csrf_token": csrf_token(admin, "/reference/units"),
            "file": (io.BytesIO(b"code,name\nabc,x\n"), "u.csv"),
        },
    )
    assert bad.status_code in (400, 422)
    assert "Traceback" not in bad.get_data(as_text=True)


def test_year_end_summary_lists_leaflets_and_sessions(app: Flask, busy: dict[str, Any]) -> None:
    page = client_of(app, "staff").get("/summary?year=2026").get_data(as_text=True)
    assert "年度总结" in page and "马铃薯晚疫病防治" in page
    assert 'media="print"' in page


def test_the_monthly_profile_reads_full_width_digits(app: Flask, busy: dict[str, Any]) -> None:
    """Shares typed with a Chinese input method's full-width digits (２５．５) are numbers."""
    admin = client_of(app, "admin")
    shares = {
        f"m{month}": "".join(chr(ord(c) + 0xFEE0) for c in str(month * 5 if month < 12 else 100))
        for month in range(1, 13)
    }
    shares["m6"] = "３０．５"
    answer = admin.post(
        "/targets/profile?year=２０２６",
        data={"csrf_token": csrf_token(admin, "/targets/"), **shares},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    saved = profiles.profiles_for(busy["db"], 2026)["trainee_attendances"]
    assert saved[5] == 0.305 and saved[-1] == 1
