"""The ledger page: Chinese first with English switchable, every line with its records and
reasons, an envoy user only their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from shared import protocol as p
from shared.device_report import KindCounts
from shared.ids import new_id
from tests.helpers import sign_in
from tests.server.fieldwork import Envoy, report_db
from tests.server.quality.test_ledger import cursor_now, report, send

PASSWORD = "correct-horse"


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    yield from report_db(db_path)


def test_the_ledger_page_explains_each_line_in_chinese_and_english(
    app: Flask, db: Database
) -> None:
    zhang, wang = Envoy(db, "张三"), Envoy(db, "王五")
    farmer = zhang.farmer("赵大")
    missing = new_id()
    held = send(
        zhang,
        p.ATTENDANCE,
        {
            "session_id": missing,
            "farmer_id": farmer,
            "checked_in_at": "2026-05-10T02:15:00Z",
            "method": "roster",
        },
    )
    assert held["s"] == p.HELD
    refused = send(zhang, p.SESSION, {"kind": "village_training"}, new_id())
    assert refused["s"] == p.REJECTED
    report(
        zhang,
        cursor_now(db),
        farmer=KindCounts(live=3, waiting=2, new=2),
        session=KindCounts(refused=1),
        attendance=KindCounts(live=2),  # one more than anything explains
    )
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    users.add_user(db, "wang", users.ENVOY, PASSWORD, wang.envoy_id)
    db.conn.commit()
    path = f"/ledger/{zhang.envoy_id}"

    staff = app.test_client()
    assert sign_in(staff, "staff", PASSWORD).status_code == 302
    page = staff.get(path).get_data(as_text=True)
    assert "张三 · 台账" in page
    assert "有未解释的差别" in page
    for words in ("未同步", "被拒", "暂存待关联", "拒收原因", "等待尚未到达的记录", "未解释"):
        assert words in page, words
    assert refused["r"].split(" / ")[0] in page  # the reason, in Chinese
    assert missing[:8] in page  # what the check-in waits for
    assert "2 条变更待发送，其中新建 2 条" in page
    index = staff.get("/ledger/").get_data(as_text=True)
    assert path in index and "王五" in index

    assert staff.get("/lang/en").status_code == 302
    english = staff.get(path).get_data(as_text=True)
    assert "Ledger" in english and "refused" in english.lower()
    assert "not yet synced" in english.lower() and "unexplained" in english.lower()
    assert "台账" not in english

    envoy = app.test_client()
    assert sign_in(envoy, "wang", PASSWORD).status_code == 302
    assert envoy.get(path).status_code == 403
    own = envoy.get("/ledger/")
    assert own.status_code == 302 and own.headers["Location"].endswith(f"/ledger/{wang.envoy_id}")
    assert "这位特派员没有在用的设备" not in envoy.get(own.headers["Location"]).get_data(
        as_text=True
    )


def test_a_check_in_is_listed_by_the_farmers_name_not_an_id(app: Flask, db: Database) -> None:
    zhang = Envoy(db, "张三")
    farmer = zhang.farmer("赵大")
    held = send(
        zhang,
        p.ATTENDANCE,
        {
            "session_id": new_id(),
            "farmer_id": farmer,
            "checked_in_at": "2026-05-10T02:15:00Z",
            "method": "roster",
        },
    )
    assert held["s"] == p.HELD
    report(zhang, cursor_now(db), attendance=KindCounts(live=1))
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    db.conn.commit()
    staff = app.test_client()
    assert sign_in(staff, "staff", PASSWORD).status_code == 302
    page = staff.get(f"/ledger/{zhang.envoy_id}").get_data(as_text=True)
    line = page[page.index('data-kind="attendance" data-line="held"') :]
    line = line[: line.index("</details>")]
    assert "赵大" in line
    assert farmer not in line
