"""FieldStore: records and outbox written together, check-ins, tombstones, clocks, settling."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from field_client.outbox import PENDING, REJECTED
from field_client.store import (
    AppendOnly,
    FieldStore,
    NotEnrolled,
    UnknownRecord,
)
from shared import protocol as p
from shared.clock import format_stamp, parse_iso, parse_stamp, stamp_node
from shared.errors import InvalidRecord
from shared.ids import attendance_id
from shared.merge import STAMPS

DEVICE = "d0d0d0d0-0000-4000-8000-000000000001"
ENVOY = "e0e0e0e0-0000-4000-8000-000000000001"
TITLE = "77777777-0000-4000-8000-000000000001"
VILLAGE = "530102001001"
MAY_2026_MS = 1_780_000_000_000  # 2026-05-28T20:26:40Z
MAY_2026_ISO = "2026-05-28T20:26:40Z"


class FakeWall:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def enrol(store: FieldStore, offset_ms: int = 0, **extra: Any) -> None:
    answer = {"device_id": DEVICE, "token": "t", "envoy": {"id": ENVOY, "name": "x"}, **extra}
    store.save_enrolment("http://127.0.0.1:9/", answer, offset_ms)


@pytest.fixture
def wall() -> FakeWall:
    return FakeWall(MAY_2026_MS)


@pytest.fixture
def store(tmp_path: Path, wall: FakeWall) -> Iterator[FieldStore]:
    store = FieldStore(str(tmp_path / "field.db"), device_clock=wall)
    enrol(store)
    yield store
    store.close()


def outbox(store: FieldStore) -> list[dict[str, Any]]:
    return list(store.db.query("SELECT * FROM outbox ORDER BY seq"))


def record_rows(store: FieldStore) -> int:
    return store.db.execute("SELECT count(*) FROM records").fetchone()[0]


def new_farmer(store: FieldStore, **values: Any) -> str:
    return store.create(p.FARMER, {"name": "王芳", "village_code": VILLAGE, **values})


def new_session(store: FieldStore) -> str:
    return store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": "马铃薯晚疫病防治",
            "unit_code": VILLAGE,
            "starts_at": "2026-05-29T09:00:00",
            "lead_envoy_id": ENVOY,
        },
    )


# ------------------------------------------------------------------ enrolment


def test_enrolment_is_saved(store: FieldStore) -> None:
    assert store.enrolled
    assert store.identity() == (DEVICE, ENVOY)
    assert store.get("server_url") == "http://127.0.0.1:9"
    assert store.get("token") == "t"
    assert json.loads(store.get("envoy") or "{}") == {"id": ENVOY, "name": "x"}
    assert store.get("next_seq") == "1"
    assert store.get("cursor") == "0"


def test_unenrolled_store_refuses_to_create(tmp_path: Path) -> None:
    store = FieldStore(str(tmp_path / "new.db"))
    assert not store.enrolled
    with pytest.raises(NotEnrolled, match="enroll"):
        new_farmer(store)
    assert record_rows(store) == 0
    store.close()


def test_store_reopens_with_its_data(tmp_path: Path, wall: FakeWall) -> None:
    path = str(tmp_path / "field.db")
    first = FieldStore(path, device_clock=wall)
    enrol(first)
    farmer_id = new_farmer(first)
    first.close()
    again = FieldStore(path, device_clock=wall)
    assert again.enrolled
    assert again.record(p.FARMER, farmer_id) is not None
    assert len(again.pending(10)) == 1
    again.close()


# ------------------------------------------------------------------ create


def test_create_writes_the_record_and_one_outbox_entry(store: FieldStore) -> None:
    farmer_id = new_farmer(store, mobile="+86 138 0013 8000")
    record = store.record(p.FARMER, farmer_id)
    assert record is not None
    assert record["id"] == farmer_id
    assert record["mobile"] == "13800138000"
    assert record["envoy_id"] == ENVOY
    assert record["device_id"] == DEVICE
    assert record["deleted"] is False
    assert record["created_at"] == record["updated_at"] == MAY_2026_ISO
    assert set(record[STAMPS].values()) == {record["hlc"]}
    assert stamp_node(record["hlc"]) == DEVICE

    [entry] = outbox(store)
    assert entry["seq"] == 1
    assert entry["kind"] == p.FARMER
    assert entry["id"] == farmer_id
    assert entry["stamp"] == record["hlc"]
    assert entry["base"] is None
    assert entry["is_create"] == 1
    assert entry["state"] == PENDING
    sent = json.loads(entry["fields"])
    assert sent["name"] == "王芳"
    assert sent["mobile"] == "13800138000"
    assert not {"id", "envoy_id", "device_id", "hlc"} & set(sent)
    assert store.get("next_seq") == "2"
    assert store.get("hlc") == record["hlc"]


def test_sequences_and_stamps_increase(store: FieldStore) -> None:
    ids = [new_farmer(store, name=f"农户{n}") for n in range(5)]
    entries = outbox(store)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert [e["id"] for e in entries] == ids
    stamps = [e["stamp"] for e in entries]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 5


def test_invalid_record_writes_nothing(store: FieldStore) -> None:
    new_farmer(store)
    hlc_before, seq_before = store.get("hlc"), store.get("next_seq")
    with pytest.raises(InvalidRecord) as caught:
        store.create(p.FARMER, {"name": "王芳", "village_code": VILLAGE, "mobile": "0871-123"})
    assert "mobile" in caught.value.errors
    assert record_rows(store) == 1
    assert len(outbox(store)) == 1
    assert store.get("hlc") == hlc_before
    assert store.get("next_seq") == seq_before


def test_failure_after_the_record_is_written_rolls_everything_back(
    store: FieldStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_enqueue(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_enqueue", broken_enqueue)
    with pytest.raises(RuntimeError, match="disk full"):
        new_farmer(store)
    assert record_rows(store) == 0
    assert outbox(store) == []
    assert store.get("next_seq") == "1"
    monkeypatch.undo()
    farmer_id = new_farmer(store)
    assert [e["id"] for e in outbox(store)] == [farmer_id]
    assert outbox(store)[0]["seq"] == 1


def test_failure_after_the_outbox_entry_rolls_back_the_record_too(
    store: FieldStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_set = store.set

    def failing_set(key: str, value: object) -> None:
        real_set(key, value)
        if key == "hlc":
            raise OSError("power cut")

    monkeypatch.setattr(store, "set", failing_set)
    with pytest.raises(OSError, match="power cut"):
        new_farmer(store)
    monkeypatch.undo()
    assert record_rows(store) == 0
    assert outbox(store) == []
    assert store.get("next_seq") == "1"


def test_attendance_must_use_the_derived_id(store: FieldStore) -> None:
    session_id, farmer_id = new_session(store), new_farmer(store)
    values = {
        "session_id": session_id,
        "farmer_id": farmer_id,
        "checked_in_at": MAY_2026_ISO,
        "method": "roster",
    }
    with pytest.raises(InvalidRecord):
        store.create(p.ATTENDANCE, values, "00000000-0000-4000-8000-000000000000")
    assert store.records(p.ATTENDANCE) == []


# ------------------------------------------------------------------ check-in


def test_check_in_twice_is_one_row_and_one_outbox_entry(store: FieldStore) -> None:
    session_id, farmer_id = new_session(store), new_farmer(store)
    first_id, first_new = store.checkin(session_id, farmer_id)
    second_id, second_new = store.checkin(session_id, farmer_id, method="qr_self")
    assert first_id == second_id == attendance_id(session_id, farmer_id)
    assert (first_new, second_new) == (True, False)
    assert len(store.records(p.ATTENDANCE)) == 1
    attendance_entries = [e for e in outbox(store) if e["kind"] == p.ATTENDANCE]
    assert len(attendance_entries) == 1
    record = store.record(p.ATTENDANCE, first_id)
    assert record is not None
    assert record["method"] == "roster"
    assert record["seen_by"] == [DEVICE]
    assert "seen_by" not in json.loads(attendance_entries[0]["fields"])


def test_check_in_time_defaults_to_now_and_can_be_given(store: FieldStore) -> None:
    session_id = new_session(store)
    a, b = new_farmer(store), new_farmer(store, name="李梅")
    store.checkin(session_id, a)
    store.checkin(session_id, b, at="2026-05-29T09:05:00")
    assert store.record(p.ATTENDANCE, attendance_id(session_id, a))["checked_in_at"] == MAY_2026_ISO
    later = store.record(p.ATTENDANCE, attendance_id(session_id, b))
    assert later["checked_in_at"] == "2026-05-29T01:05:00Z"


def test_delete_then_re_check_in(store: FieldStore, wall: FakeWall) -> None:
    session_id, farmer_id = new_session(store), new_farmer(store)
    record_id, _ = store.checkin(session_id, farmer_id)
    created = store.record(p.ATTENDANCE, record_id)
    wall.ms += 60_000
    store.delete(p.ATTENDANCE, record_id)
    gone = store.record(p.ATTENDANCE, record_id)
    assert gone is not None and gone["deleted"] is True
    assert store.records(p.ATTENDANCE) == []
    assert len(store.records(p.ATTENDANCE, include_deleted=True)) == 1

    wall.ms += 60_000
    again_id, new = store.checkin(session_id, farmer_id)
    assert (again_id, new) == (record_id, True)
    back = store.record(p.ATTENDANCE, record_id)
    assert back is not None and back["deleted"] is False
    assert back[STAMPS]["deleted"] > gone[STAMPS]["deleted"]
    assert back["hlc"] > gone["hlc"] > created["hlc"]
    assert len(store.records(p.ATTENDANCE)) == 1

    entries = [e for e in outbox(store) if e["kind"] == p.ATTENDANCE]
    assert [e["is_create"] for e in entries] == [1, 0, 0]
    assert json.loads(entries[1]["fields"]) == {"deleted": True}
    assert entries[1]["base"] == created["hlc"]
    recheck = json.loads(entries[2]["fields"])
    assert recheck["deleted"] is False
    assert recheck["session_id"] == session_id
    assert entries[2]["base"] == gone["hlc"]


def test_delete_of_an_unknown_record_is_refused(store: FieldStore) -> None:
    with pytest.raises(UnknownRecord):
        store.delete(p.FARMER, "00000000-0000-4000-8000-000000000000")
    assert outbox(store) == []


# ------------------------------------------------------------------ update


def test_update_carries_the_base_stamp(store: FieldStore, wall: FakeWall) -> None:
    farmer_id = new_farmer(store)
    before = store.record(p.FARMER, farmer_id)
    wall.ms += 5_000
    store.update(p.FARMER, farmer_id, {"name": "王芳芳", "mobile": "139 0013 9000"})
    after = store.record(p.FARMER, farmer_id)
    assert after["name"] == "王芳芳"
    assert after["mobile"] == "13900139000"
    assert after["village_code"] == VILLAGE
    assert after["hlc"] > before["hlc"]
    assert after["created_at"] == MAY_2026_ISO
    assert after["updated_at"] == "2026-05-28T20:26:45Z"
    assert after[STAMPS]["village_code"] == before["hlc"]
    entry = outbox(store)[-1]
    assert entry["is_create"] == 0
    assert entry["base"] == before["hlc"]
    assert entry["stamp"] == after["hlc"]
    assert json.loads(entry["fields"]) == {"name": "王芳芳", "mobile": "13900139000"}


def test_second_update_is_based_on_the_first(store: FieldStore) -> None:
    farmer_id = new_farmer(store)
    store.update(p.FARMER, farmer_id, {"name": "一"})
    first = store.record(p.FARMER, farmer_id)
    store.update(p.FARMER, farmer_id, {"name": "二"})
    assert outbox(store)[-1]["base"] == first["hlc"]


def test_invalid_update_changes_nothing(store: FieldStore) -> None:
    farmer_id = new_farmer(store)
    before = store.record(p.FARMER, farmer_id)
    with pytest.raises(InvalidRecord) as caught:
        store.update(p.FARMER, farmer_id, {"mobile": "12345"})
    assert "mobile" in caught.value.errors
    with pytest.raises(InvalidRecord) as caught:
        store.update(p.FARMER, farmer_id, {"envoy_id": ENVOY})
    assert "envoy_id" in caught.value.errors
    assert store.record(p.FARMER, farmer_id) == before
    assert len(outbox(store)) == 1


def test_update_that_breaks_a_whole_record_rule_changes_nothing(store: FieldStore) -> None:
    session_id = new_session(store)
    with pytest.raises(InvalidRecord) as caught:
        store.update(p.SESSION, session_id, {"ends_at": "2026-05-29T08:00:00"})
    assert "ends_at" in caught.value.errors
    assert store.record(p.SESSION, session_id)["ends_at"] is None
    assert len(outbox(store)) == 1


def test_update_of_an_unknown_record_is_refused(store: FieldStore) -> None:
    with pytest.raises(UnknownRecord):
        store.update(p.FARMER, "00000000-0000-4000-8000-000000000000", {"name": "x"})
    assert outbox(store) == []


@pytest.mark.parametrize("kind", p.APPEND_ONLY_KINDS)
def test_append_only_kinds_refuse_update(store: FieldStore, kind: str) -> None:
    with pytest.raises(AppendOnly, match="correction"):
        store.update(kind, "00000000-0000-4000-8000-000000000000", {"notes": "x"})


def test_append_only_correction_is_a_new_event(store: FieldStore) -> None:
    values = {"leaflet_title_id": TITLE, "copies": 100, "received_on": "2026-05-20"}
    first = store.create(p.LEAFLET_RECEIPT, values)
    with pytest.raises(AppendOnly):
        store.update(p.LEAFLET_RECEIPT, first, {"copies": 90})
    fix = store.create(p.LEAFLET_RECEIPT, {**values, "copies": -10, "correction_of": first})
    assert sum(r["copies"] for r in store.records(p.LEAFLET_RECEIPT)) == 90
    assert store.record(p.LEAFLET_RECEIPT, first)["copies"] == 100
    assert store.record(p.LEAFLET_RECEIPT, fix)["correction_of"] == first


# ------------------------------------------------------------------ wrong device clocks


def test_clock_reset_to_1970_still_gives_sane_times(store: FieldStore, wall: FakeWall) -> None:
    first = new_farmer(store)
    wall.ms = 0  # battery pulled, clock back to 1970
    assert store.best_now_iso() == MAY_2026_ISO
    second = new_farmer(store, name="李梅")
    record = store.record(p.FARMER, second)
    assert record["created_at"] == MAY_2026_ISO
    assert record["hlc"] > store.record(p.FARMER, first)["hlc"]
    assert parse_iso(record["created_at"]).year == 2026
    session_id = new_session(store)
    attendance, _ = store.checkin(session_id, second)
    assert store.record(p.ATTENDANCE, attendance)["checked_in_at"] == MAY_2026_ISO
    assert all(e["created_at"] == MAY_2026_ISO for e in outbox(store))


def test_1970_device_enrolled_with_a_server_offset_gets_server_time(tmp_path: Path) -> None:
    store = FieldStore(str(tmp_path / "field.db"), device_clock=FakeWall(0))
    enrol(store, offset_ms=MAY_2026_MS)
    assert store.best_now_iso() == MAY_2026_ISO
    farmer_id = new_farmer(store)
    assert store.record(p.FARMER, farmer_id)["created_at"] == MAY_2026_ISO
    store.close()


def test_1970_device_enrolled_with_a_server_stamp_orders_after_it(tmp_path: Path) -> None:
    server_hlc = format_stamp(MAY_2026_MS, 3, "server")
    store = FieldStore(str(tmp_path / "field.db"), device_clock=FakeWall(0))
    enrol(store, server_hlc=server_hlc)
    assert store.best_now_iso() == MAY_2026_ISO
    farmer_id = new_farmer(store)
    record = store.record(p.FARMER, farmer_id)
    assert record["hlc"] > server_hlc
    assert parse_stamp(record["hlc"]) == (MAY_2026_MS, 4)
    assert record["created_at"] == MAY_2026_ISO
    store.close()


def test_observe_server_moves_the_clock_and_offset(store: FieldStore, wall: FakeWall) -> None:
    store.observe_server(format_stamp(MAY_2026_MS + 3_600_000, 0, "server"), 3_600_000)
    assert store.get("clock_offset_ms") == "3600000"
    assert store.best_now_iso() == "2026-05-28T21:26:40Z"
    farmer_id = new_farmer(store)
    assert store.record(p.FARMER, farmer_id)["created_at"] == "2026-05-28T21:26:40Z"


def test_clock_set_back_an_hour_never_stamps_before_earlier_edits(
    store: FieldStore, wall: FakeWall
) -> None:
    first = new_farmer(store)
    wall.ms -= 3_600_000
    store.update(p.FARMER, first, {"name": "改"})
    record = store.record(p.FARMER, first)
    assert record["updated_at"] >= record["created_at"]
    assert outbox(store)[-1]["stamp"] > outbox(store)[0]["stamp"]


# ------------------------------------------------------------------ outbox


def test_pending_is_in_sequence_order_and_limited(store: FieldStore) -> None:
    ids = [new_farmer(store, name=f"农户{n}") for n in range(4)]
    assert [e["id"] for e in store.pending(2)] == ids[:2]
    assert [e["seq"] for e in store.pending(100)] == [1, 2, 3, 4]
    assert store.counts() == {PENDING: 4}


def test_settle_removes_done_entries_and_keeps_rejected_with_reason(store: FieldStore) -> None:
    ids = [new_farmer(store, name=f"农户{n}") for n in range(4)]
    store.settle(
        [1, 3],
        [{"q": 2, "s": p.REJECTED, "r": "村不存在 / unknown village", "e": {"village_code": "?"}}],
    )
    assert [e["seq"] for e in store.pending(10)] == [4]
    assert store.counts() == {PENDING: 1, REJECTED: 1}
    [rejected] = store.rejected()
    assert rejected["seq"] == 2
    assert rejected["id"] == ids[1]
    assert rejected["state"] == REJECTED
    assert rejected["reason"] == "村不存在 / unknown village"
    assert json.loads(rejected["errors"]) == {"village_code": "?"}
    # A refused create never reached the server: the record leaves the device's lists...
    assert store.record(p.FARMER, ids[1]) is None
    # ...while accepted records stay.
    assert store.record(p.FARMER, ids[0]) is not None
    assert store.record(p.FARMER, ids[2]) is not None


def test_settle_everything(store: FieldStore) -> None:
    for n in range(3):
        new_farmer(store, name=f"农户{n}")
    store.settle([1, 2, 3], [])
    assert store.pending(10) == []
    assert store.counts() == {}
    assert len(store.records(p.FARMER)) == 3


def test_settle_many_done_entries_in_chunks(store: FieldStore) -> None:
    for n in range(3):
        new_farmer(store, name=f"农户{n}")
    store.settle([*range(1, 1200)], [])
    assert outbox(store) == []


def test_rejected_update_keeps_the_record_and_the_reason(store: FieldStore) -> None:
    farmer_id = new_farmer(store)
    store.settle([1], [])
    store.update(p.FARMER, farmer_id, {"name": "改"})
    store.settle([], [{"q": 2, "s": p.REJECTED, "r": "not yours"}])
    assert store.record(p.FARMER, farmer_id) is not None
    [rejected] = store.rejected()
    assert rejected["reason"] == "not yours"
    assert json.loads(rejected["errors"]) == {}


def test_rejection_with_server_version_replaces_the_local_one(store: FieldStore) -> None:
    farmer_id = new_farmer(store)
    server_version = {
        **store.record(p.FARMER, farmer_id),
        "name": "服务器上的名字",
        STAMPS: {"name": format_stamp(MAY_2026_MS + 1, 0, "server")},
    }
    store.settle([], [{"q": 1, "s": p.REJECTED, "r": "held", "x": server_version}])
    assert store.record(p.FARMER, farmer_id)["name"] == "服务器上的名字"


def test_new_sequences_continue_after_settling(store: FieldStore) -> None:
    new_farmer(store)
    store.settle([1], [])
    new_farmer(store, name="李梅")
    assert [e["seq"] for e in outbox(store)] == [2]


# ------------------------------------------------------------------ pull and reference data


def test_apply_pull_stores_reference_data_and_moves_the_cursor(store: FieldStore) -> None:
    store.apply_pull(
        [
            {"k": p.UNIT, "r": {"code": VILLAGE, "name": "东村", "level": "village"}},
            {"k": p.LEAFLET_TITLE, "r": {"id": TITLE, "title": "马铃薯晚疫病防治"}},
            {"k": p.FARMER_ALIAS, "r": {"id": "a" * 8, "canonical_id": "b" * 8}},
        ],
        cursor=42,
    )
    assert store.reference(p.UNIT) == [{"code": VILLAGE, "name": "东村", "level": "village"}]
    assert store.reference(p.LEAFLET_TITLE)[0]["title"] == "马铃薯晚疫病防治"
    assert store.canonical_farmer("a" * 8) == "b" * 8
    assert store.canonical_farmer("c" * 8) == "c" * 8
    assert store.get("cursor") == "42"


def test_pulled_record_keeps_unsent_local_edits(store: FieldStore, wall: FakeWall) -> None:
    farmer_id = new_farmer(store)
    store.settle([1], [])
    wall.ms += 10_000
    store.update(p.FARMER, farmer_id, {"name": "本机改的"})
    server = {
        **store.record(p.FARMER, farmer_id),
        "name": "旧名",
        "mobile": "13700137000",
    }
    server[STAMPS] = {
        **server[STAMPS],
        "name": format_stamp(MAY_2026_MS + 1, 0, "server"),
        "mobile": format_stamp(MAY_2026_MS + 2, 0, "server"),
    }
    store.apply_pull([{"k": p.FARMER, "r": server}], cursor=7)
    merged = store.record(p.FARMER, farmer_id)
    assert merged["name"] == "本机改的"
    assert merged["mobile"] == "13700137000"


def test_pulled_record_with_nothing_unsent_replaces_the_local_one(store: FieldStore) -> None:
    farmer_id = new_farmer(store)
    store.settle([1], [])
    later = format_stamp(MAY_2026_MS + 9_000, 0, "server")
    server = {**store.record(p.FARMER, farmer_id), "name": "服务器的", "envoy_id": TITLE}
    server[STAMPS] = {**server[STAMPS], "name": later}
    store.apply_pull([{"k": p.FARMER, "r": server}], cursor=8)
    local = store.record(p.FARMER, farmer_id)
    assert local["name"] == "服务器的"
    assert local["envoy_id"] == TITLE
    assert local["hlc"] == later
    assert store.pending(10) == []
    assert store.get("cursor") == "8"
