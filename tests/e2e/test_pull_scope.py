"""Real devices and a real server: a co-envoy outside the session's township, an envoy moved to
another township, and other envoys' farmers held with masked mobiles."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from field_client import operations as ops
from field_client.mobiles import farmers_with_mobile
from field_client.store import FieldStore, NotYours
from server.reference import load as reference
from shared import protocol as p
from shared.errors import InvalidRecord
from shared.mobile import mask_mobile, mobile_hash
from tests.e2e.conftest import count_rows
from tests.helpers import (
    VILLAGE_EAST,
    VILLAGE_SOUTH,
    LiveServer,
    enrolled_store,
    fast_client,
)

WANG = reference.catalogue_id(p.ENVOY, "王五")


def add_farmer(store: FieldStore, name: str, village: str, mobile: str | None = None) -> str:
    return store.create(p.FARMER, {"name": name, "village_code": village, "mobile": mobile})


def test_a_co_envoy_from_another_township_checks_farmers_into_the_session(
    live_server: LiveServer, tmp_path: Path
) -> None:
    zhang = enrolled_store(live_server, str(tmp_path / "zhang.db"), "张三")  # 530102001
    wang = enrolled_store(live_server, str(tmp_path / "wang.db"), "王五")  # 530102002
    farmer = add_farmer(zhang, "赵大", VILLAGE_EAST)
    session = zhang.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "马铃薯晚疫病防治",
            "unit_code": VILLAGE_EAST,
            "starts_at": "2026-06-01T01:00:00Z",
            "lead_envoy_id": zhang.get("envoy_id"),
            "co_envoy_ids": [WANG],
        },
    )
    zhang.checkin(session, farmer, "qr_self")
    fast_client(zhang).sync()

    fast_client(wang).sync()
    assert wang.record(p.SESSION, session) is not None
    assert [a["farmer_id"] for a in wang.records(p.ATTENDANCE)] == [farmer]

    own = add_farmer(wang, "钱二", VILLAGE_SOUTH)
    wang.checkin(session, own, "roster")
    report = fast_client(wang).sync()
    assert report.statuses == {p.APPLIED: 2} and wang.rejected() == []
    fast_client(zhang).sync()
    assert sorted(a["farmer_id"] for a in zhang.records(p.ATTENDANCE)) == sorted([farmer, own])
    assert count_rows(live_server.db_path, "attendances") == 2


def load_envoys(server: LiveServer, tmp_path: Path, townships: dict[str, str]) -> None:
    """Staff run `tianjian-server envoys load` with a new file while the server runs."""
    csv = tmp_path / "envoys-new.csv"
    lines = ["name,mobile,township_codes", *(f"{n},,{t}" for n, t in townships.items())]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "server", "envoys", "load", str(csv)],
        env={**os.environ, "TIANJIAN_DB": server.db_path},
        check=True,
        capture_output=True,
    )


def test_a_device_follows_its_envoy_to_a_new_township(
    live_server: LiveServer, tmp_path: Path
) -> None:
    zhang = enrolled_store(live_server, str(tmp_path / "zhang.db"), "张三")
    li = enrolled_store(live_server, str(tmp_path / "li.db"), "李梅")
    wang = enrolled_store(live_server, str(tmp_path / "wang.db"), "王五")
    li_farmer = add_farmer(li, "李家", VILLAGE_EAST, "13911112222")
    wang_farmer = add_farmer(wang, "王家", VILLAGE_SOUTH, "13733334444")
    fast_client(li).sync()
    fast_client(wang).sync()
    own_farmer = add_farmer(zhang, "张家", VILLAGE_EAST, "13655556666")
    fast_client(zhang).sync()
    assert zhang.record(p.FARMER, li_farmer) is not None
    assert zhang.record(p.FARMER, wang_farmer) is None

    load_envoys(
        live_server, tmp_path, {"张三": "530102002", "李梅": "530102001", "王五": "530102002"}
    )
    unsent = add_farmer(zhang, "张二家", VILLAGE_SOUTH)  # made offline meanwhile
    report = fast_client(zhang).sync()

    assert report.full_resync
    assert zhang.record(p.FARMER, wang_farmer)["mobile"] == "137****4444"
    # Other envoys' farmers of the township no longer served are gone from the device...
    assert zhang.record(p.FARMER, li_farmer) is None
    # ...the envoy's own records stay, and nothing made offline was lost.
    assert zhang.record(p.FARMER, own_farmer)["mobile"] == "13655556666"
    assert zhang.record(p.FARMER, unsent) is not None
    assert zhang.counts().get("pending", 0) == 0 and zhang.rejected() == []
    # The next sync carries on from the new cursor.
    assert not fast_client(zhang).sync().full_resync


def test_other_envoys_farmers_are_held_masked_and_found_by_a_typed_number(
    live_server: LiveServer, tmp_path: Path
) -> None:
    zhang = enrolled_store(live_server, str(tmp_path / "zhang.db"), "张三")
    li = enrolled_store(live_server, str(tmp_path / "li.db"), "李梅")
    farmer = add_farmer(zhang, "赵大", VILLAGE_EAST, "13612345678")
    fast_client(zhang).sync()
    fast_client(li).sync()

    held = li.record(p.FARMER, farmer)
    assert held["mobile"] == "136****5678"
    database = Path(li.db.conn.execute("PRAGMA database_list").fetchone()[2])
    li.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"13612345678" not in database.read_bytes()

    # A farmer gives their number at check-in: typed any usual way, it finds them.
    assert [f["id"] for f in farmers_with_mobile(li, "136 1234 5678")] == [farmer]
    assert [f["id"] for f in farmers_with_mobile(zhang, "+86 13612345678")] == [farmer]
    # Another number with the same mask but another hash does not.
    key = bytes.fromhex(li.get("mobile_key") or "")
    others = [f"136{n:04d}5678" for n in range(10_000)]
    other = next(m for m in others if mobile_hash(key, farmer, m) != held["mobile_hash"])
    assert mask_mobile(other) == held["mobile"] and farmers_with_mobile(li, other) == []

    # The masked number can never go back up as an edit: the device refuses to edit a farmer
    # it holds masked, and refuses a masked number as a number.
    with pytest.raises(NotYours):
        li.update(p.FARMER, farmer, {"mobile": held["mobile"]})
    with pytest.raises(InvalidRecord):
        zhang.update(p.FARMER, farmer, {"mobile": held["mobile"]})
    assert li.counts().get("pending", 0) == 0 and zhang.counts().get("pending", 0) == 0


def test_a_co_envoy_checks_in_a_farmer_the_lead_registered_without_a_duplicate(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """王五 serves another township; added to 张三's session after it began, his device gets
    the farmers of its village and the check-ins made before, and checks in 张三's farmer."""
    zhang = enrolled_store(live_server, str(tmp_path / "zhang.db"), "张三")  # 530102001
    wang = enrolled_store(live_server, str(tmp_path / "wang.db"), "王五")  # 530102002
    lead_farmer = add_farmer(zhang, "赵大", VILLAGE_EAST, "13612345678")
    early = add_farmer(zhang, "孙二", VILLAGE_EAST)
    session = ops.open_session(zhang, title="马铃薯晚疫病防治", unit=VILLAGE_EAST)
    zhang.checkin(session, early, "qr_self")
    fast_client(zhang).sync()
    fast_client(wang).sync()
    assert wang.record(p.SESSION, session) is None

    ops.edit_session(zhang, session, co_envoys=[WANG])
    fast_client(zhang).sync()
    fast_client(wang).sync()
    assert wang.record(p.SESSION, session) is not None
    assert [a["farmer_id"] for a in wang.records(p.ATTENDANCE)] == [early]
    held = wang.record(p.FARMER, lead_farmer)
    assert held is not None and held["mobile"] == mask_mobile("13612345678")

    done = ops.check_in(wang, session, "赵大", method="roster")
    assert done.new and done.farmer_name == "赵大"
    report = fast_client(wang).sync()
    assert report.statuses == {p.APPLIED: 1} and wang.rejected() == []
    assert count_rows(live_server.db_path, "farmers") == 2
    fast_client(zhang).sync()
    assert sorted(a["farmer_id"] for a in zhang.records(p.ATTENDANCE)) == sorted(
        [early, lead_farmer]
    )
