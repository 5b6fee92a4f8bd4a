"""The flags page: flags of the scope by kind and review status, Chinese first, English on
request, an envoy user's own only, the list downloadable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.accounts import users
from server.store.db import init_db
from shared import protocol as p
from shared.ids import new_id
from tests.helpers import VILLAGE_SOUTH, sign_in
from tests.server.fieldwork import Envoy

PASSWORD = "correct-horse"
PAGE = "/flags?year=2026"


@pytest.fixture
def crafted(app: Flask, db_path: str) -> Iterator[dict[str, str]]:
    """Ordinary plots and one of 99999 mu (张三), an empty session each for 张三 and 王五,
    王五's reviewed as returned."""
    db = init_db(db_path)
    zhang, li, wang = Envoy(db, "张三"), Envoy(db, "李梅"), Envoy(db, "王五")
    for area in (8, 10, 12, 9, 11):
        zhang.plot(area_mu=area)
        li.plot(area_mu=area)
    typo = zhang.plot(area_mu=99999)
    empty = zhang.session(starts_at="2026-05-10T02:00:00Z")
    theirs = wang.session(unit_code=VILLAGE_SOUTH, starts_at="2026-05-11T02:00:00Z")
    db["reviews"].insert(
        {
            "id": new_id(),
            "record_kind": p.SESSION,
            "record_id": theirs,
            "envoy_id": wang.envoy_id,
            "status": "returned",
            "note": "请补签到名单",
            "reviewed_by": "staff",
            "reviewed_at": "2026-06-01T00:00:00Z",
            "server_seq": 0,
        }
    )
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang.envoy_id)
    db.conn.commit()
    db.close()
    yield {"typo": typo, "empty": empty, "theirs": theirs}


def signed_in(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, name, PASSWORD).status_code == 302
    return client


def rows_of(page: str) -> list[str]:
    found = re.search(r'id="table-flags">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert found, "no flags table"
    return [
        re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", row))).strip()
        for row in re.findall(r"<tr[^>]*>.*?</tr>", found.group(1), re.S)
    ]


def test_staff_see_every_flag_unreviewed_first_with_review_links(
    app: Flask, crafted: dict[str, str]
) -> None:
    page = signed_in(app, "staff").get(PAGE).get_data(as_text=True)
    assert "<title>存疑记录" in page and 'href="/flags"' in page  # the nav link
    rows = rows_of(page)
    assert len(rows) == 3
    assert rows[0].startswith("面积异常 未审核") and "99,999" in rows[0] and "张三" in rows[0]
    assert "面积 99,999 亩，远高于该特派员与全县常见范围" in rows[0]
    assert rows[1].startswith("无签到无人数 未审核 2026-05-10 10:00 培训场次 张三")
    assert rows[2].startswith("无签到无人数 退回") and "王五" in rows[2]
    for record_kind, key in ((p.PLOT, "typo"), (p.SESSION, "empty"), (p.SESSION, "theirs")):
        assert f'href="/review/{record_kind}/{crafted[key]}"' in page
    # Counts by kind and by review status, each a filter.
    assert "面积异常（1）" in page and "无签到无人数（2）" in page
    assert "未审核（2）" in page and "退回（1）" in page and "通过（0）" in page


def test_the_list_filters_by_kind_and_review_status(app: Flask, crafted: dict[str, str]) -> None:
    staff = signed_in(app, "staff")
    only = rows_of(staff.get(f"{PAGE}&kind=empty_session").get_data(as_text=True))
    assert [row.split()[0] for row in only] == ["无签到无人数", "无签到无人数"]
    returned = rows_of(staff.get(f"{PAGE}&review=returned").get_data(as_text=True))
    assert len(returned) == 1 and "王五" in returned[0]
    unreviewed = rows_of(staff.get(f"{PAGE}&review=unreviewed").get_data(as_text=True))
    assert len(unreviewed) == 2
    bad = staff.get(f"{PAGE}&kind=nonsense")
    assert bad.status_code == 422 and "kind" in bad.get_data(as_text=True)


def test_an_envoy_user_sees_only_their_own_flags(app: Flask, crafted: dict[str, str]) -> None:
    envoy = signed_in(app, "zhang")
    # Another envoy's or a unit's flags are refused (server/api/scope.py), before any look-up.
    for asked in ("&envoy=nobody", "&unit=530102", "&envoy=nobody&unit=530102"):
        assert envoy.get(f"{PAGE}{asked}").status_code == 403
    page = envoy.get(PAGE).get_data(as_text=True)
    rows = rows_of(page)
    assert len(rows) == 2 and all("张三" in row for row in rows)
    assert crafted["theirs"] not in page


def test_the_page_in_english(app: Flask, crafted: dict[str, str]) -> None:
    staff = signed_in(app, "staff")
    staff.get("/lang/en")
    page = staff.get(PAGE).get_data(as_text=True)
    assert "Flagged records, 2026" in page and "modified z-score" in page
    rows = rows_of(page)
    assert rows[0].startswith("Plot area not reviewed")
    assert "area 99,999 mu, far above this envoy's and the county's usual" in rows[0]
    assert "面积" not in rows[0]
    assert rows[2].startswith("Empty session returned")


def test_the_list_downloads_as_csv_with_its_bom(app: Flask, crafted: dict[str, str]) -> None:
    answer = signed_in(app, "staff").get(f"{PAGE}&format=csv&table=flags")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data().decode("utf-8")
    assert text.startswith("\ufeff存疑记录")
    assert "面积异常" in text and crafted["typo"] in text and "退回" in text


def test_a_flagged_records_review_page_says_why_it_was_flagged(
    app: Flask, crafted: dict[str, str]
) -> None:
    """The review page shows the record's flags, judged as the list judges them; an ordinary
    record's page shows none."""
    client = signed_in(app, "staff")
    page = unescape(client.get(f"/review/plot/{crafted['typo']}").get_data(as_text=True))
    assert 'id="record-flags"' in page and "99,999" in page.split('id="record-flags"')[1]
    listed = unescape(client.get(PAGE).get_data(as_text=True))
    assert f"/review/plot/{crafted['typo']}" in listed
    empty = unescape(client.get(f"/review/session/{crafted['empty']}").get_data(as_text=True))
    assert 'id="record-flags"' in empty
    db = init_db(app.config["DATABASE"])
    ordinary = db.execute("SELECT id FROM plots WHERE area_mu = 10 ORDER BY id LIMIT 1").fetchone()[
        0
    ]
    db.close()
    plain = client.get(f"/review/plot/{ordinary}").get_data(as_text=True)
    assert 'id="record-flags"' not in plain
