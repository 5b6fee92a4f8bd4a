"""Raised flags are kept (issue 19.10): a sync that moves what is usual does not take a flag off
the list; it says it no longer stands out, and goes once someone has reviewed the record."""

from __future__ import annotations

import re
from html import unescape

from flask import Flask
from sqlite_utils import Database

from server.accounts import users
from server.figures.counted import Scope
from server.quality.flags import HANDOUT_COPIES, FlagRules, flags
from server.store.db import init_db
from server.sync import apply_push
from shared import protocol as p
from shared.ids import new_id
from tests.helpers import (
    LEAFLET_POTATO,
    VILLAGE_EAST,
    VILLAGE_SOUTH,
    csrf_token,
    results_of,
    sign_in,
)
from tests.server.fieldwork import MID_2026, Envoy

PASSWORD = "correct-horse"


def listed(page: str) -> str:
    found = re.search(r'id="table-flags">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert found, "no flags table"
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", found.group(1))))


def sync_handouts(envoy: Envoy, copies: list[int]) -> None:
    """One push of many hand-outs from the envoy's device, as a sync sends them."""
    changes = []
    for count in copies:
        envoy.seq += 1
        fields = {
            "leaflet_title_id": LEAFLET_POTATO,
            "copies": count,
            "handed_out_at": "2026-05-20T03:00:00Z",
            "unit_code": VILLAGE_EAST,
        }
        changes.append(
            {"q": envoy.seq, "k": p.LEAFLET_HANDOUT, "h": envoy.stamp(), "f": fields, "i": new_id()}
        )
    results = results_of(apply_push(envoy.db, envoy.device, changes))
    assert {result["s"] for result in results} == {p.APPLIED}


def test_a_flag_stays_listed_after_a_sync_moves_the_figures_until_it_is_reviewed(
    app: Flask, db_path: str
) -> None:
    db = init_db(db_path)
    zhang, li, wang = Envoy(db, "张三"), Envoy(db, "李梅"), Envoy(db, "王五")
    for copies in (18, 20, 22, 19, 21):
        zhang.handout(copies)
        li.handout(copies)
    # Two hand-outs far above the county's usual (about 20), synced; nobody opens the list.
    big = wang.handout(160, unit_code=VILLAGE_SOUTH)
    bigger = wang.handout(120, unit_code=VILLAGE_SOUTH)
    # A later sync (one push) brings many large hand-outs: 160 and 120 are ordinary now.
    sync_handouts(li, [100, 150, 200, 130, 170, 110, 190, 140, 180, 120, 160, 135, 175, 145, 155])
    now = flags(db, Scope(2026), MID_2026, FlagRules())
    kept = {flag.record_id: flag for flag in now if flag.kind == HANDOUT_COPIES}
    assert set(kept) == {big, bigger}
    for flag in kept.values():
        assert flag.note is not None and flag.note.startswith("现已不再突出")
        assert "no longer stands out" in flag.note
        assert flag.review is None
    # As raised: the value and the reason of the day it stood out.
    assert kept[big].value == 160 and "发放份数 160 份，远高于" in kept[big].reason
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    db.conn.commit()
    db.close()

    staff = app.test_client()
    assert sign_in(staff, "staff", PASSWORD).status_code == 302
    page = listed(staff.get("/flags?year=2026").get_data(as_text=True))
    assert page.count("现已不再突出") == 2 and "发放份数 160 份" in page

    # Reviewed (approved) on the review page: it leaves the list; the other stays.
    review_path = f"/review/leaflet_handout/{big}"
    done = staff.post(
        review_path,
        data={"status": "approved", "note": "", "csrf_token": csrf_token(staff, review_path)},
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    page = listed(staff.get("/flags?year=2026").get_data(as_text=True))
    assert "发放份数 160 份" not in page and "发放份数 120 份" in page
    api = staff.get("/api/v1/reconciliation/2026").get_json()["flags"]
    assert [f["record_id"] for f in api if f["kind"] == HANDOUT_COPIES] == [bigger]


def test_a_deleted_record_takes_its_kept_flag_with_it(app: Flask, db_path: str) -> None:
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    for area in (8, 10, 12, 9, 11):
        zhang.plot(area_mu=area)
        li.plot(area_mu=area)
    typo = zhang.plot(area_mu=400)
    assert [f.record_id for f in flags(db, Scope(2026), MID_2026, FlagRules())] == [typo]
    zhang.update(p.PLOT, typo, {"deleted": True})
    assert flags(db, Scope(2026), MID_2026, FlagRules()) == []
    db.close()


def contents(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted: what any write would change, on either engine."""
    return {
        table: sorted((tuple(row) for row in db.execute(f'SELECT * FROM "{table}"')), key=repr)
        for table in db.table_names()
    }


def test_listing_writes_only_flags_not_kept_yet(app: Flask, db_path: str) -> None:
    """A stricter threshold than the sync's raises a flag when the list is computed; computing
    it again writes nothing (a list is a read once every flag is kept)."""
    db = init_db(db_path)
    zhang, li, wang = Envoy(db, "张三"), Envoy(db, "李梅"), Envoy(db, "王五")
    for area in (8, 10, 12, 9, 11):
        zhang.plot(area_mu=area)
        li.plot(area_mu=area)
    large = wang.plot(area_mu=13)  # z 2.02: not raised by the sync's default threshold
    db.conn.commit()
    assert db.execute("SELECT count(*) FROM raised_flags").fetchone()[0] == 0
    strict = FlagRules(z_threshold=2.0)
    assert [f.record_id for f in flags(db, Scope(2026), MID_2026, strict)] == [large]
    assert db.execute("SELECT record_id FROM raised_flags").fetchall() == [(large,)]
    before = contents(db)
    assert [f.note for f in flags(db, Scope(2026), MID_2026, strict)] == [None]
    assert contents(db) == before
    # Under the default it no longer stands out, and says so.
    [kept] = flags(db, Scope(2026), MID_2026, FlagRules())
    assert kept.record_id == large and kept.note is not None
    db.close()
