"""Sync between real devices: wrong clocks, shared farmers, co-run sessions, restores, old tombstones."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from field_client.store import FieldStore
from server.farmers.matching import creation_key
from server.plan.report import build_report
from server.store.db import init_db
from server.sync.maintenance import purge_tombstones
from shared import protocol as p
from shared.clock import parse_iso, to_iso, utc_now, wall_ms
from tests.e2e.conftest import count_rows, device_records, server_records
from tests.helpers import VILLAGE_EAST, LiveServer, enrolled_store, fast_client

DAY_MS = 24 * 3600 * 1000


class Clock:
    """A device clock the test can set wrong, as village devices' clocks often are."""

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms

    def __call__(self) -> int:
        return wall_ms() + self.offset_ms


def add_farmer(store: FieldStore, name: str, mobile: str | None = None, **extra: object) -> str:
    return store.create(
        p.FARMER, {"name": name, "village_code": VILLAGE_EAST, "mobile": mobile, **extra}
    )


def add_session(
    store: FieldStore, title: str, co_envoys: list[str] | None = None, day: int = 1
) -> str:
    return store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": title,
            "unit_code": VILLAGE_EAST,
            "starts_at": f"2026-06-{day:02d}T01:00:00Z",
            "lead_envoy_id": store.get("envoy_id"),
            "co_envoy_ids": co_envoys or [],
        },
    )


def figures(server: LiveServer) -> dict[str, dict]:
    db = init_db(server.db_path)
    try:
        return {line["key"]: line for line in build_report(db, 2026)["indicators"]}
    finally:
        db.close()


def totals(server: LiveServer) -> dict[str, int]:
    """Live records on the server, by table: what the bureau's figures are counted from."""
    return {
        table: count_rows(server.db_path, table) for table in ("farmers", "sessions", "attendances")
    }


def assert_converged(server: LiveServer, *stores: FieldStore, live_only: bool = False) -> None:
    """After a final sync of every device (twice, so each sees the others' last pushes)."""
    for _round in range(2):
        for store in stores:
            fast_client(store).sync()
    for store in stores:
        assert store.counts().get("pending", 0) == 0
        expected = server_records(server.db_path, viewer=store.get("envoy_id"))
        held = device_records(store)
        if live_only:
            # A device may keep its own tombstone after the server purged it: deleted either way.
            held = {key: value for key, value in held.items() if '"deleted": true' not in value}
        assert held == expected


def test_a_clock_wrong_from_the_start_is_corrected_at_enrolment(
    live_server: LiveServer, tmp_path: Path
) -> None:
    store = enrolled_store(live_server, str(tmp_path / "a.db"), "张三", Clock(3 * DAY_MS))
    farmer = add_farmer(store, "李四")
    session = add_session(store, "培训")
    store.checkin(session, farmer, "qr_self")
    checked_in = parse_iso(store.records(p.ATTENDANCE)[0]["checked_in_at"])
    assert abs((checked_in - utc_now()).total_seconds()) < 60
    assert_converged(live_server, store)
    assert totals(live_server) == {"farmers": 1, "sessions": 1, "attendances": 1}
    db = init_db(live_server.db_path)
    skew = db.execute(
        "SELECT skew_ms FROM devices WHERE id = ?", [store.get("device_id")]
    ).fetchone()[0]
    db.close()
    assert abs(skew - 3 * DAY_MS) < 60_000  # staff can see the device clock is 3 days fast


def test_a_clock_that_jumps_ahead_cannot_win_for_days(
    live_server: LiveServer, tmp_path: Path
) -> None:
    clock = Clock()
    fast_device = enrolled_store(live_server, str(tmp_path / "a.db"), "张三", clock)
    other = enrolled_store(live_server, str(tmp_path / "b.db"), "张三")  # the envoy's second device
    farmer = add_farmer(fast_device, "李四", "13800138000")
    fast_client(fast_device).sync()
    fast_client(other).sync()
    clock.offset_ms = 3 * DAY_MS
    fast_device.update(p.FARMER, farmer, {"birth_year": 1960})
    fast_client(fast_device).sync()
    # A real edit made after that push must win; an unclamped stamp 3 days ahead would beat it.
    other.update(p.FARMER, farmer, {"birth_year": 1961})
    fast_client(other).sync()
    assert_converged(live_server, fast_device, other)
    assert other.record(p.FARMER, farmer)["birth_year"] == 1961
    assert totals(live_server) == {"farmers": 1, "sessions": 0, "attendances": 0}


def test_clocks_a_year_behind_and_at_1970_still_order_edits(
    live_server: LiveServer, tmp_path: Path
) -> None:
    behind, epoch = Clock(), Clock()
    late = enrolled_store(live_server, str(tmp_path / "a.db"), "张三", behind)
    reset = enrolled_store(live_server, str(tmp_path / "b.db"), "张三", epoch)
    farmer = add_farmer(late, "李四")
    session = add_session(late, "培训")
    fast_client(late).sync()
    fast_client(reset).sync()
    behind.offset_ms = -365 * DAY_MS
    epoch.offset_ms = -wall_ms()  # the battery died: the clock reads 1 January 1970
    late.update(p.FARMER, farmer, {"name": "李四光"})
    fast_client(late).sync()
    fast_client(reset).sync()
    reset.update(p.FARMER, farmer, {"gender": "male"})
    reset.checkin(session, farmer, "card_scan")
    checked_in = parse_iso(reset.records(p.ATTENDANCE)[0]["checked_in_at"])
    assert checked_in.year >= 2026  # never 1970: the last known time stands in for a dead clock
    assert_converged(live_server, late, reset)
    assert totals(live_server) == {"farmers": 1, "sessions": 1, "attendances": 1}
    merged = late.record(p.FARMER, farmer)
    assert merged["name"] == "李四光" and merged["gender"] == "male"
    assert count_rows(live_server.db_path, "attendances") == 1


def test_two_devices_share_a_farmer_and_co_run_a_session(
    live_server: LiveServer, tmp_path: Path
) -> None:
    a = enrolled_store(live_server, str(tmp_path / "a.db"), "张三")
    b = enrolled_store(live_server, str(tmp_path / "b.db"), "李梅")
    shared_session = add_session(a, "联合培训", co_envoys=[b.get("envoy_id")])
    regular = add_farmer(a, "赵六", "13900000001")
    fast_client(a).sync()
    fast_client(b).sync()
    # Offline on both devices: the same person registered twice, and one registered once.
    li_on_a = add_farmer(a, "李四", "138 0013 8000", birth_year=1970)
    li_on_b = add_farmer(b, "李四", "13800138000", birth_year=1970)
    namesake = add_farmer(b, "王芳", "13800138000")  # same phone, another name: a family phone
    second_session = add_session(b, "第二场", day=2)
    a.checkin(shared_session, regular, "qr_self", "2026-06-01T01:20:00Z")
    b.checkin(shared_session, regular, "roster", "2026-06-01T01:10:00Z")
    a.checkin(shared_session, li_on_a, "qr_self")
    b.checkin(second_session, li_on_b, "qr_self")
    b.checkin(second_session, namesake, "qr_self")
    fast_client(a).sync()
    fast_client(b).sync()
    assert_converged(live_server, a, b)

    db = init_db(live_server.db_path)
    aliases = dict(db.execute("SELECT id, canonical_id FROM farmer_aliases").fetchall())
    candidates = db.execute("SELECT reason FROM merge_candidates").fetchall()
    attendance = next(db.query("SELECT * FROM attendances WHERE farmer_id = ?", [regular]))
    # Both were made within a few milliseconds on two clocks: the earlier clock stamp wins
    # (farmers.creation_key), whichever device's that is, never the arrival order.
    pair = [dict(row) for row in db.query("SELECT * FROM farmers WHERE name = '李四'")]
    db.close()
    first, second = sorted(pair, key=creation_key)
    li_on_a, li_on_b = first["id"], second["id"]
    assert aliases == {li_on_b: li_on_a}
    assert ("same_mobile",) in candidates
    assert attendance["checked_in_at"] == "2026-06-01T01:10:00Z"  # the earliest check-in is kept
    assert a.canonical_farmer(li_on_b) == li_on_a  # the alias travelled down
    line = figures(live_server)
    assert line["trainee_attendances"]["actual"] == 4
    assert line["unique_trainees"]["actual"] == 3  # 赵六, 李四 once, 王芳


def test_one_bad_record_is_refused_and_kept_in_sight(
    live_server: LiveServer, tmp_path: Path
) -> None:
    store = enrolled_store(live_server, str(tmp_path / "a.db"), "张三")
    good = [add_farmer(store, f"农户{n}") for n in range(3)]
    bad = store.create(p.FARMER, {"name": "外村人", "village_code": "999999999999"})
    after = add_farmer(store, "后来者")
    report = fast_client(store).sync()
    assert report.statuses == {p.APPLIED: 4, p.REJECTED: 1}
    rejected = store.rejected()
    assert [r["id"] for r in rejected] == [bad]
    assert "village_code" in rejected[0]["errors"]
    assert store.record(p.FARMER, bad) is None  # out of the replica, but its change stays listed
    assert count_rows(live_server.db_path, "farmers") == 4
    assert {good[0], after} <= {key[1] for key in server_records(live_server.db_path)}
    assert_converged(live_server, store)
    assert len(store.rejected()) == 1


def test_a_device_restored_from_an_old_copy(live_server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    store = enrolled_store(live_server, str(path), "张三")
    first = add_farmer(store, "李四")
    fast_client(store).sync()
    store.close()
    shutil.copy(path, tmp_path / "backup.db")
    store = FieldStore(str(path))
    lost_life = [add_farmer(store, f"农户{n}") for n in range(3)]
    fast_client(store).sync()
    store.close()
    shutil.copy(tmp_path / "backup.db", path)
    restored = FieldStore(str(path))
    after_restore = [add_farmer(restored, f"新农户{n}") for n in range(2)]
    fast_client(restored).sync()
    ids = {key[1] for key in server_records(live_server.db_path)}
    assert ids == {first, *lost_life, *after_restore}
    assert_converged(live_server, restored)
    assert totals(live_server) == {"farmers": 6, "sessions": 0, "attendances": 0}
    assert {r["id"] for r in restored.records(p.FARMER)} == ids


def test_a_device_back_after_the_tombstone_retention(
    live_server: LiveServer, tmp_path: Path
) -> None:
    a = enrolled_store(live_server, str(tmp_path / "a.db"), "张三")
    away = enrolled_store(live_server, str(tmp_path / "b.db"), "李梅")
    gone = add_farmer(a, "搬走的人")
    kept = add_farmer(a, "留下的人")
    fast_client(a).sync()
    fast_client(away).sync()
    a.delete(p.FARMER, gone)
    fast_client(a).sync()
    db = init_db(live_server.db_path)
    long_ago = to_iso(utc_now() - timedelta(days=200))
    db.execute("UPDATE farmers SET updated_at = ? WHERE id = ?", [long_ago, gone])
    db.conn.commit()
    assert purge_tombstones(db, 180) == 1
    db.close()
    waiting = add_farmer(away, "离线时登记")
    report = fast_client(away).sync()
    assert report.full_resync
    assert away.record(p.FARMER, gone) is None
    assert away.record(p.FARMER, kept) is not None and away.record(p.FARMER, waiting) is not None
    assert_converged(live_server, a, away, live_only=True)
    assert totals(live_server) == {"farmers": 2, "sessions": 0, "attendances": 0}
