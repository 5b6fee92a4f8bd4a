"""What a device pulls: its envoy's townships, sessions it leads or co-runs wherever they are,
and other envoys' farmers with their mobiles masked; a change of townships is followed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from server.reference import load as reference
from server.store.db import init_db
from shared import protocol as p
from shared.ids import attendance_id, new_id
from shared.mobile import mask_mobile, mobile_hash
from tests.helpers import LEAFLET_POTATO, VILLAGE_SOUTH, VILLAGE_WEST
from tests.server.test_api import (
    Device,
    checkin_fields,
    farmer_fields,
    row,
    session_fields,
)

ZHANG_FARMER_MOBILE = "13612345678"


def field_ids(records: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["k"], r["r"]["id"]) for r in records if r["k"] in p.FIELD_KINDS}


def test_a_co_run_session_reaches_its_co_envoy_outside_their_townships(
    client: FlaskClient, db_path: str
) -> None:
    zhang = Device(client, db_path, "张三")  # serves 530102001
    wang = Device(client, db_path, "王五")  # serves 530102002 only
    farmer_id, co_run, alone = new_id(), new_id(), new_id()
    handout = new_id()
    zhang.push(
        [
            zhang.change(p.FARMER, farmer_fields("赵大"), farmer_id),
            zhang.change(
                p.SESSION,
                {**session_fields(zhang.envoy_id), "co_envoy_ids": [wang.envoy_id]},
                co_run,
            ),
            zhang.change(p.SESSION, session_fields(zhang.envoy_id), alone),
            zhang.change(p.ATTENDANCE, checkin_fields(co_run, farmer_id)),
            zhang.change(
                p.LEAFLET_HANDOUT,
                {
                    "leaflet_title_id": LEAFLET_POTATO,
                    "copies": 20,
                    "session_id": co_run,
                    "handed_out_at": "2026-05-10T03:00:00Z",
                },
                handout,
            ),
        ]
    )
    pulled = field_ids(wang.pull_all(limit=2))
    assert (p.SESSION, co_run) in pulled
    assert (p.ATTENDANCE, attendance_id(co_run, farmer_id)) in pulled
    assert (p.LEAFLET_HANDOUT, handout) in pulled
    # Only what belongs to the co-run session: not 张三's other session.
    assert (p.SESSION, alone) not in pulled

    # The co-envoy checks a farmer of their own township into it; the lead's device gets it.
    own_farmer = new_id()
    answer = wang.push(
        [
            wang.change(
                p.FARMER, {**farmer_fields("钱二"), "village_code": VILLAGE_SOUTH}, own_farmer
            ),
            wang.change(p.ATTENDANCE, checkin_fields(co_run, own_farmer)),
        ]
    )
    assert answer["answers"] == [] and answer["applied"] == [[1, 2]]
    assert (p.ATTENDANCE, attendance_id(co_run, own_farmer)) in field_ids(zhang.pull_all())

    # A check-in added later still reaches the co-envoy, on the next pull after their cursor.
    cursor = wang.pull(0, 5000)["cursor"]
    late_farmer = new_id()
    zhang.push(
        [
            zhang.change(p.FARMER, farmer_fields("孙三"), late_farmer),
            zhang.change(p.ATTENDANCE, checkin_fields(co_run, late_farmer)),
        ]
    )
    later = field_ids(wang.pull(cursor)["records"])
    assert (p.ATTENDANCE, attendance_id(co_run, late_farmer)) in later


def set_townships(db_path: str, tmp_path: Path, townships: dict[str, str]) -> None:
    """Staff reload the envoys file with new township codes (`envoys load`)."""
    csv = tmp_path / "envoys-new.csv"
    lines = ["name,mobile,township_codes", *(f"{n},,{t}" for n, t in townships.items())]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = init_db(db_path)
    reference.load_envoys(db, str(csv))
    db.close()


def test_a_device_follows_its_envoys_new_townships(
    client: FlaskClient, db_path: str, tmp_path: Path
) -> None:
    zhang = Device(client, db_path, "张三")
    li = Device(client, db_path, "李梅")
    wang = Device(client, db_path, "王五")
    li_farmer, wang_farmer, zhang_farmer = new_id(), new_id(), new_id()
    li.push([li.change(p.FARMER, farmer_fields("李家", mobile="13911112222"), li_farmer)])
    wang.push(
        [
            wang.change(
                p.FARMER,
                {**farmer_fields("王家", mobile="13733334444"), "village_code": VILLAGE_SOUTH},
                wang_farmer,
            )
        ]
    )
    zhang.push([zhang.change(p.FARMER, farmer_fields("张家", mobile="13655556666"), zhang_farmer)])
    first = zhang.pull(0, 5000)
    assert (p.FARMER, li_farmer) in field_ids(first["records"])
    assert (p.FARMER, wang_farmer) not in field_ids(first["records"])

    set_townships(
        db_path, tmp_path, {"张三": "530102002", "李梅": "530102001", "王五": "530102002"}
    )

    # The cursor is past 王五's farmer: the device is told to start again, and then gets it.
    again = zhang.pull(first["cursor"], 5000)
    assert again["full_resync"] is True
    records = zhang.pull(0, 5000, include_own=True)
    held = field_ids(records["records"])
    assert (p.FARMER, wang_farmer) in held
    assert (p.FARMER, zhang_farmer) in held  # their own records stay theirs
    assert (p.FARMER, li_farmer) not in held  # 李梅's farmer of a township no longer served
    # Once caught up, pulls carry on as before.
    after = zhang.pull(records["cursor"], 5000)
    assert after["full_resync"] is False and after["records"] == []


def test_other_envoys_farmers_come_with_masked_mobiles_and_a_short_keyed_hash(
    client: FlaskClient, db_path: str
) -> None:
    zhang = Device(client, db_path, "张三")
    zhang_second = Device(client, db_path, "张三")  # the same envoy's other phone
    li = Device(client, db_path, "李梅")
    farmer_id = new_id()
    zhang.push([zhang.change(p.FARMER, farmer_fields("赵大", ZHANG_FARMER_MOBILE), farmer_id)])

    response = client.get("/api/v1/sync/pull", query_string={"limit": 5000}, headers=li.headers)
    assert ZHANG_FARMER_MOBILE not in response.get_data(as_text=True)
    page = response.get_json()
    farmer = next(r["r"] for r in page["records"] if r["r"].get("id") == farmer_id)
    assert farmer["mobile"] == mask_mobile(ZHANG_FARMER_MOBILE) == "136****5678"
    key = bytes.fromhex(page["mobile_key"])
    assert farmer["mobile_hash"] == mobile_hash(key, farmer_id, ZHANG_FARMER_MOBILE)
    assert len(farmer["mobile_hash"]) == 1

    own = next(r["r"] for r in zhang_second.pull_all() if r["r"].get("id") == farmer_id)
    assert own["mobile"] == ZHANG_FARMER_MOBILE and "mobile_hash" not in own


def test_a_masked_mobile_never_overwrites_the_number_on_the_server(
    client: FlaskClient, db_path: str
) -> None:
    zhang = Device(client, db_path, "张三")
    li = Device(client, db_path, "李梅")
    farmer_id = new_id()
    zhang.push([zhang.change(p.FARMER, farmer_fields("赵大", ZHANG_FARMER_MOBILE), farmer_id)])
    held = next(r["r"] for r in li.pull_all() if r["r"].get("id") == farmer_id)
    masked = held["mobile"]
    # The holder's own device sends the masked text back (an edit form showing it), and so does
    # another envoy's device; a new record copied from the masked one is refused as well.
    own = zhang.push([zhang.change(p.FARMER, {"mobile": masked}, farmer_id, base=held["hlc"])])
    assert [a["s"] for a in own["answers"]] == [p.REJECTED]
    assert "mobile" in own["answers"][0]["e"]
    for answer in (
        li.push([li.change(p.FARMER, {"mobile": masked}, farmer_id, base=held["hlc"])]),
        li.push([li.change(p.FARMER, farmer_fields("赵大", masked), new_id())]),
    ):
        assert [a["s"] for a in answer["answers"]] == [p.REJECTED]
        # Nor does a refusal hand the number to a device that holds it masked.
        assert ZHANG_FARMER_MOBILE not in json.dumps(answer)
    assert row(db_path, "farmers", farmer_id)["mobile"] == ZHANG_FARMER_MOBILE


def test_a_co_envoy_receives_the_farmers_of_the_sessions_village_and_those_checked_in(
    client: FlaskClient, db_path: str
) -> None:
    zhang = Device(client, db_path, "张三")  # serves 530102001
    wang = Device(client, db_path, "王五")  # serves 530102002 only
    in_village, checked_in_from_west, elsewhere = new_id(), new_id(), new_id()
    co_run = new_id()
    zhang.push(
        [
            zhang.change(p.FARMER, farmer_fields("赵大", ZHANG_FARMER_MOBILE), in_village),
            zhang.change(
                p.FARMER, {**farmer_fields("钱一"), "village_code": VILLAGE_WEST}, elsewhere
            ),
            zhang.change(
                p.FARMER,
                {**farmer_fields("孙二"), "village_code": VILLAGE_WEST},
                checked_in_from_west,
            ),
            zhang.change(
                p.SESSION,
                {**session_fields(zhang.envoy_id), "co_envoy_ids": [wang.envoy_id]},
                co_run,
            ),
            zhang.change(p.ATTENDANCE, checkin_fields(co_run, checked_in_from_west)),
        ]
    )
    records = wang.pull_all(limit=2)
    pulled = field_ids(records)
    assert (p.FARMER, in_village) in pulled and (p.FARMER, checked_in_from_west) in pulled
    # Not every farmer of the lead's township: only the session's village and its check-ins.
    assert (p.FARMER, elsewhere) not in pulled
    farmer = next(r["r"] for r in records if r["r"].get("id") == in_village)
    assert farmer["mobile"] == mask_mobile(ZHANG_FARMER_MOBILE)
    assert ZHANG_FARMER_MOBILE not in json.dumps(records)

    # The co-envoy checks in the lead's farmer: accepted, and no second farmer is made.
    answer = wang.push([wang.change(p.ATTENDANCE, checkin_fields(co_run, in_village))])
    assert answer["answers"] == [] and answer["applied"] == [[1, 1]]
    assert (p.ATTENDANCE, attendance_id(co_run, in_village)) in field_ids(zhang.pull_all())


def test_a_co_envoy_added_later_receives_what_came_before(
    client: FlaskClient, db_path: str
) -> None:
    zhang = Device(client, db_path, "张三")
    wang = Device(client, db_path, "王五")
    farmer_id, session_id, handout = new_id(), new_id(), new_id()
    zhang.push(
        [
            zhang.change(p.FARMER, farmer_fields("赵大", ZHANG_FARMER_MOBILE), farmer_id),
            zhang.change(p.SESSION, session_fields(zhang.envoy_id), session_id),
            zhang.change(p.ATTENDANCE, checkin_fields(session_id, farmer_id)),
            zhang.change(
                p.LEAFLET_HANDOUT,
                {
                    "leaflet_title_id": LEAFLET_POTATO,
                    "copies": 20,
                    "session_id": session_id,
                    "handed_out_at": "2026-05-10T03:00:00Z",
                },
                handout,
            ),
        ]
    )
    first = wang.pull(0, 5000)
    assert (p.SESSION, session_id) not in field_ids(first["records"])
    assert (p.FARMER, farmer_id) not in field_ids(first["records"])

    # 张三 adds 王五 as a co-envoy: 王五's next pull, after his cursor, brings what came before.
    zhang.push([zhang.change(p.SESSION, {"co_envoy_ids": [wang.envoy_id]}, session_id)])
    later = wang.pull(first["cursor"], 5000)
    pulled = field_ids(later["records"])
    assert (p.SESSION, session_id) in pulled
    assert (p.ATTENDANCE, attendance_id(session_id, farmer_id)) in pulled
    assert (p.LEAFLET_HANDOUT, handout) in pulled
    assert (p.FARMER, farmer_id) in pulled
    assert ZHANG_FARMER_MOBILE not in json.dumps(later)
    # Once: nothing more after the new cursor.
    assert wang.pull(later["cursor"], 5000)["records"] == []
