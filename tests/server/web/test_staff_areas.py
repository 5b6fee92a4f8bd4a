"""The staff pages for a user with an area (server/api/scope.py `area_rows`): on a province
with two counties, a city user and a county user list only their counties' devices, held
changes, edit conflicts, farmer pairs and merged farmers, and acting on another county's row
(revoking its device, merging or dismissing its pair, reviewing its record) is refused with
the bilingual 403 and writes nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.accounts import areas, users
from server.api.scope import OutsideArea
from server.farmers import merges
from server.plan import targets
from server.upstream.codes import enrol_link, issue_link_code
from shared import protocol as p
from shared.clock import to_iso, utc_now
from tests.helpers import csrf_token
from tests.server.api.test_scope import refused_as, shown
from tests.server.api.test_scope_areas import (  # noqa: F401  (the province fixture)
    PASSWORD,
    VILLAGE_B,
    client_of,
    province,
)
from tests.server.fieldwork import Envoy

LISTS = ("/staff/devices", "/staff/held", "/staff/conflicts", "/staff/candidates", "/staff/merged")


@pytest.fixture
def rows(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The province fixture's records (its keys), and beside them in each county a device, a
    held change, a losing edit, a farmer pair and a merged farmer; a pair across the two
    counties; county B's link."""
    made: dict[str, Any] = dict(request.getfixturevalue("province"))
    db = made["db"]
    users.add_user(db, "admin_a", users.ADMIN, PASSWORD)
    areas.set_area(db, users.user_by_name(db, "admin_a").id, "county", "530102")
    zhang, zhao = Envoy(db, "张三"), Envoy(db, "赵丽")
    link = enrol_link(db, issue_link_code(db, "532301").code, "楚雄市上报")
    made.update(zhang_phone=zhang.device.id, zhao_phone=zhao.device.id, link=link.device_id)
    for key, envoy, village, names in (
        ("a", zhang, None, ("甲一", "甲二", "甲三", "甲四", "甲五")),
        ("b", zhao, VILLAGE_B, ("乙一", "乙二", "乙三", "乙四", "乙五")),
    ):
        ids = [
            envoy.farmer(name, **({"village_code": village} if village else {})) for name in names
        ]
        made[f"farmers_{key}"] = ids
        made[f"pair_{key}"] = offer(db, ids[0], ids[1])
        merges.merge(db, ids[3], ids[2], "system")
    made["pair_across"] = offer(db, made["farmers_a"][4], made["farmers_b"][4])
    now = to_iso(utc_now())
    for device, envoy_id, seq in (
        (zhang.device.id, zhang.envoy_id, 901),
        (zhao.device.id, zhao.envoy_id, 902),
        (link.device_id, zhao.envoy_id, 903),
    ):
        db.execute(
            "INSERT INTO held_changes (device_id, seq, envoy_id, change, waiting_kind, "
            "waiting_id, held_at) VALUES (?, ?, ?, '{}', 'session', ?, ?)",
            [device, seq, envoy_id, f"waiting-{seq}", now],
        )
        db.execute(
            "INSERT INTO conflicts (kind, record_id, field, winning_value, winning_stamp, "
            "losing_value, losing_stamp, device_id, recorded_at) "
            "VALUES ('farmer', 'x', 'name', '\"w\"', 's', ?, 's', ?, ?)",
            [f'"lost-{seq}"', device, now],
        )
    db.conn.commit()
    return made


def offer(db: Any, farmer_a: str, farmer_b: str) -> int:
    db.execute(
        "INSERT INTO merge_candidates (farmer_a, farmer_b, reason, found_at) "
        "VALUES (?, ?, 'same_mobile', ?)",
        [farmer_a, farmer_b, to_iso(utc_now())],
    )
    return int(
        db.execute(
            "SELECT id FROM merge_candidates WHERE farmer_a = ? AND farmer_b = ?",
            [farmer_a, farmer_b],
        ).fetchone()[0]
    )


def lists(client: FlaskClient) -> str:
    pages = []
    for path in LISTS:
        answer = client.get(path)
        assert answer.status_code == 200, (path, shown(answer)[:300])
        pages.append(shown(answer))
    return "\n".join(pages)


def test_each_level_lists_only_its_area_on_the_staff_pages(
    app: Flask,
    rows: dict[str, Any],
) -> None:
    county_a, city = lists(client_of(app, "county_a")), lists(client_of(app, "city"))
    county_b, whole = lists(client_of(app, "county_b")), lists(client_of(app, "prov"))
    mine_a = ("张三的手机", "waiting-901", "lost-901", "甲一", "甲四")
    mine_b = ("赵丽的手机", "楚雄市上报", "waiting-902", "waiting-903", "lost-902", "lost-903")
    mine_b += ("乙一", "乙四")
    # 昆明市 holds 示范县 only; the pair across the two counties is neither county's.
    for page in (county_a, city):
        assert all(word in page for word in mine_a), page
        assert not any(word in page for word in mine_b)
        assert "乙五" not in page
    assert all(word in county_b for word in mine_b)
    assert not any(word in county_b for word in mine_a) and "甲五" not in county_b
    # The province (and a user with no area) sees both counties and the pair across them.
    for page in (whole, lists(client_of(app, "admin"))):
        assert all(word in page for word in mine_a + mine_b)
        assert "甲五" in page and "乙五" in page


def open_pairs(db: Any) -> set[int]:
    return {
        row[0] for row in db.execute("SELECT id FROM merge_candidates WHERE resolved_at IS NULL")
    }


def test_acting_on_another_countys_row_is_refused_and_writes_nothing(
    app: Flask,
    rows: dict[str, Any],
) -> None:
    db = rows["db"]
    before = (open_pairs(db), db.execute("SELECT count(*) FROM farmer_aliases").fetchone()[0])
    logged = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    for name in ("county_a", "city"):
        client = client_of(app, name)
        token = csrf_token(client, "/staff/candidates")
        for pair in (rows["pair_b"], rows["pair_across"]):
            for action, form in (("merge", {"keep": "a"}), ("dismiss", {})):
                answer = client.post(
                    f"/staff/candidates/{pair}/{action}", data={**form, "csrf_token": token}
                )
                refused_as(answer, OutsideArea, 403)
        review = client.post(
            f"/review/{p.SESSION}/{rows['north']}",
            data={"status": "questioned", "note": "看看", "csrf_token": token},
        )
        refused_as(review, OutsideArea, 403)
    # An admin with an area revokes no device outside it, not even a county's link.
    admin_a = client_of(app, "admin_a")
    token = csrf_token(admin_a, "/staff/devices")
    for device in (rows["zhao_phone"], rows["link"]):
        refused_as(
            admin_a.post(f"/staff/devices/{device}/revoke", data={"csrf_token": token}),
            OutsideArea,
            403,
        )
    assert (open_pairs(db), db.execute("SELECT count(*) FROM farmer_aliases").fetchone()[0]) == (
        before
    )
    assert db.execute("SELECT count(*) FROM devices WHERE revoked_at IS NOT NULL").fetchone() == (
        0,
    )
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == logged
    # Their own rows they act on: merged, dismissed, reviewed, revoked.
    county_a = client_of(app, "county_a")
    token = csrf_token(county_a, "/staff/candidates")
    merged = county_a.post(
        f"/staff/candidates/{rows['pair_a']}/merge", data={"keep": "a", "csrf_token": token}
    )
    assert merged.status_code == 302
    reviewed = county_a.post(
        f"/review/{p.SESSION}/{rows['east']}",
        data={"status": "approved", "csrf_token": token},
    )
    assert reviewed.status_code == 302
    revoked = admin_a.post(
        f"/staff/devices/{rows['zhang_phone']}/revoke",
        data={"csrf_token": csrf_token(admin_a, "/staff/devices")},
    )
    assert revoked.status_code == 302
    assert open_pairs(db) == before[0] - {rows["pair_a"]}
    # The province's user acts on the pair across both counties.
    prov = client_of(app, "prov")
    token = csrf_token(prov, "/staff/candidates")
    answer = prov.post(
        f"/staff/candidates/{rows['pair_across']}/dismiss", data={"csrf_token": token}
    )
    assert answer.status_code == 302
    assert rows["pair_across"] not in open_pairs(db)


def target_of(owner: dict[str, str], value: int) -> dict[str, Any]:
    return {
        "year": 2026,
        "indicator": "village_trainings",
        "comparator": ">=",
        "value": value,
        **owner,
    }


def test_targets_of_another_county_are_not_listed_nor_changed(
    app: Flask,
    rows: dict[str, Any],
) -> None:
    db = rows["db"]
    mine = targets.set_target(db, target_of({"unit_code": "530102000000"}, 371))
    theirs = targets.set_target(db, target_of({"unit_code": "532301000000"}, 372))
    their_envoy = targets.set_target(db, target_of({"envoy_id": rows["zhao"]}, 373))
    db.conn.commit()
    for name in ("county_a", "admin_a"):
        # The table as a file: its rows only, no page furniture to match by chance.
        page = shown(client_of(app, name).get("/targets/?year=2026&format=csv"))
        assert "371" in page and "372" not in page and "373" not in page
        assert "楚雄市" not in page and "赵丽" not in page
    page = shown(client_of(app, "prov").get("/targets/?year=2026&format=csv"))
    assert all(value in page for value in ("371", "372", "373"))
    admin_a = client_of(app, "admin_a")
    token = csrf_token(admin_a, "/targets/?year=2026")
    for form in (
        target_of({"unit_code": "532301000000"}, 99),
        target_of({"envoy_id": rows["zhao"]}, 99),
    ):
        answer = admin_a.post("/targets/", data={**form, "csrf_token": token})
        refused_as(answer, OutsideArea, 403)
    for target in (theirs, their_envoy):
        answer = admin_a.post(f"/targets/{target.id}/delete?year=2026", data={"csrf_token": token})
        refused_as(answer, OutsideArea, 403)
    # A file of targets and the monthly profile reach every unit: the whole server's users only.
    for path in ("/targets/profile?year=2026", "/targets/upload?year=2026"):
        answer = admin_a.post(path, data={"even": "1", "csrf_token": token})
        refused_as(answer, OutsideArea, 403)
    stored = {
        t.id: t.value for t in targets.list_targets(db, 2026) if t.value in (371, 372, 373, 99)
    }
    assert stored == {mine.id: 371, theirs.id: 372, their_envoy.id: 373}
    # Their own county's target they change.
    answer = admin_a.post(
        "/targets/", data={**target_of({"unit_code": "530102000000"}, 374), "csrf_token": token}
    )
    assert answer.status_code == 302
    assert targets.target_by_id(db, mine.id).value == 374  # type: ignore[union-attr]


def test_the_audit_log_shows_what_the_areas_users_did(app: Flask, rows: dict[str, Any]) -> None:
    county_a = client_of(app, "county_a")
    token = csrf_token(county_a, "/staff/candidates")
    answer = county_a.post(
        f"/staff/candidates/{rows['pair_a']}/dismiss", data={"csrf_token": token}
    )
    assert answer.status_code == 302
    for name, sees in (("county_a", True), ("city", True), ("county_b", False), ("admin", True)):
        page = shown(client_of(app, name).get("/audit"))
        assert ("county_a" in page) is sees, name
        # Done by the system (the fixture's merges and areas): the whole server's users only.
        assert (">系统<" in page) is (name == "admin"), name


def test_the_envoys_list_holds_to_the_area_and_whole_server_files_are_refused(
    app: Flask, rows: dict[str, Any]
) -> None:
    for name, zhang, zhao in (
        ("county_a", True, False),
        ("city", True, False),
        ("county_b", False, True),
        ("prov", True, True),
    ):
        page = shown(client_of(app, name).get("/reference/envoys?format=csv"))
        assert ("张三" in page, "赵丽" in page) == (zhang, zhao), name
    # Reference files reach every county: an admin with an area loads none.
    admin_a = client_of(app, "admin_a")
    token = csrf_token(admin_a, "/reference/envoys")
    before = rows["db"].execute("SELECT count(*) FROM envoys").fetchone()[0]
    upload = {"file": (io.BytesIO("姓名,手机,乡镇代码\n李四,,532301001\n".encode()), "e.csv")}
    answer = admin_a.post(
        "/reference/envoys",
        data={**upload, "csrf_token": token},
        content_type="multipart/form-data",
    )
    refused_as(answer, OutsideArea, 403)
    assert rows["db"].execute("SELECT count(*) FROM envoys").fetchone()[0] == before
