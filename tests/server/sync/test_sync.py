"""The sync engine's own bookkeeping: held changes released in the same push, idempotency keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.store.db import init_db
from server.sync import apply_push, devices, push
from shared import protocol as p
from shared.clock import wall_ms
from shared.ids import new_id
from tests.helpers import VILLAGE_EAST, load_demo_reference, results_of


def enrolled(db_path: str) -> tuple[object, devices.Device, str]:
    db = init_db(db_path)
    envoy = devices.envoy_by_name(db, "张三")
    code = devices.new_enrolment_code(db, envoy["id"], 60)
    db.conn.commit()
    token = devices.enrol_device(db, code, "phone")["token"]
    return db, devices.authenticate(db, token), envoy["id"]


def test_a_check_in_ahead_of_its_session_in_one_push_is_applied(tmp_path: Path) -> None:
    """Other records are applied before check-ins, so order within a push does not matter."""
    db_path = str(tmp_path / "s.db")
    load_demo_reference(db_path)
    db, device, envoy_id = enrolled(db_path)
    session_id, farmer_id = new_id(), new_id()
    now = wall_ms()
    changes = [
        {
            "q": 1,
            "k": p.FARMER,
            "i": farmer_id,
            "h": f"{now:013d}.00001",
            "f": {"name": "李四", "village_code": VILLAGE_EAST},
        },
        {
            "q": 2,
            "k": p.ATTENDANCE,
            "h": f"{now:013d}.00002",
            "f": {
                "session_id": session_id,
                "farmer_id": farmer_id,
                "checked_in_at": "2026-05-01T01:30:00Z",
                "method": "qr_self",
            },
        },
        {
            "q": 3,
            "k": p.SESSION,
            "i": session_id,
            "h": f"{now:013d}.00003",
            "f": {
                "kind": "village_training",
                "title": "培训",
                "unit_code": VILLAGE_EAST,
                "starts_at": "2026-05-01T01:00:00Z",
                "lead_envoy_id": envoy_id,
            },
        },
    ]
    answers = {r["q"]: r["s"] for r in results_of(apply_push(db, device, changes))}
    assert answers == {1: p.APPLIED, 2: p.APPLIED, 3: p.APPLIED}
    assert db.execute("SELECT count(*) FROM attendances").fetchone()[0] == 1
    # The session is written first, so a device pulling in order meets it before its check-in.
    seqs = dict(
        db.execute(
            "SELECT 'session', server_seq FROM sessions UNION ALL "
            "SELECT 'attendance', server_seq FROM attendances"
        ).fetchall()
    )
    assert seqs["session"] < seqs["attendance"]
    # The same push again is all duplicates: nothing doubles.
    again = {r["q"]: r["s"] for r in results_of(apply_push(db, device, changes))}
    assert set(again.values()) == {p.DUPLICATE}
    assert db.execute("SELECT count(*) FROM attendances").fetchone()[0] == 1


def test_an_observation_ahead_of_its_plot_in_one_push_is_released_and_recorded(
    tmp_path: Path,
) -> None:
    db_path = str(tmp_path / "s.db")
    load_demo_reference(db_path)
    db, device, _envoy_id = enrolled(db_path)
    plot_id = new_id()
    now = wall_ms()
    changes = [
        {
            "q": 1,
            "k": p.PLOT_OBSERVATION,
            "i": new_id(),
            "h": f"{now:013d}.00001",
            "f": {"plot_id": plot_id, "observed_on": "2026-05-28", "stage": "seedling"},
        },
        {
            "q": 2,
            "k": p.PLOT,
            "i": plot_id,
            "h": f"{now:013d}.00002",
            "f": {
                "village_code": VILLAGE_EAST,
                "host_name": "李大户",
                "crop": "马铃薯",
                "area_mu": 12.5,
                "established_on": "2026-03-01",
            },
        },
    ]
    answers = {r["q"]: r["s"] for r in results_of(apply_push(db, device, changes))}
    assert answers == {1: p.HELD, 2: p.APPLIED}
    assert db.execute("SELECT count(*) FROM plot_observations").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM held_changes").fetchone()[0] == 0
    # Held, so recorded on its own; released, so now recorded as applied.
    status = db.execute(
        "SELECT status FROM device_change_runs WHERE first_seq = 1 AND last_seq = 1"
    ).fetchone()[0]
    assert status == p.APPLIED
    again = {r["q"]: r["s"] for r in results_of(apply_push(db, device, changes))}
    assert set(again.values()) == {p.DUPLICATE}
    assert db.execute("SELECT count(*) FROM plot_observations").fetchone()[0] == 1


@pytest.mark.parametrize("phone", [None, "0f1e2d3c4b5a6978"], ids=["no phone", "phone"])
def test_the_quick_path_for_new_check_ins_stores_what_the_general_path_would(
    tmp_path: Path, phone: str | None
) -> None:
    """Most of a big push takes the quick path; it must leave exactly the general path's row,
    with or without the phone that made the check-in."""
    rows = []
    for name, quick in (("quick", True), ("general", False)):
        db_path = str(tmp_path / f"{name}.db")
        load_demo_reference(db_path)
        db = init_db(db_path)
        envoy = devices.envoy_by_name(db, "张三")
        device_id = "00000000-0000-4000-8000-000000000001"
        db["devices"].insert({"id": device_id, "envoy_id": envoy["id"], "max_seq": 0})
        db.conn.commit()
        device = devices.Device(device_id, envoy["id"], ())
        session_id = "11111111-1111-4111-8111-111111111111"
        farmer_id = "22222222-2222-4222-8222-222222222222"
        stamp = "1795316892918.00000"
        changes = [
            {
                "q": 1,
                "k": p.FARMER,
                "i": farmer_id,
                "h": stamp,
                "b": None,
                "f": {"name": "李四", "village_code": VILLAGE_EAST},
            },
            {
                "q": 2,
                "k": p.SESSION,
                "i": session_id,
                "h": stamp,
                "b": None,
                "f": {
                    "kind": "village_training",
                    "title": "培训",
                    "unit_code": VILLAGE_EAST,
                    "starts_at": "2026-05-01T01:00:00Z",
                    "lead_envoy_id": envoy["id"],
                },
            },
            {
                "q": 3,
                "k": p.ATTENDANCE,
                "i": None,
                "h": "1795316892918.00001",
                "b": None,
                "f": {
                    "session_id": session_id,
                    "farmer_id": farmer_id,
                    "checked_in_at": "2026-05-01T01:30:00Z",
                    "method": "qr_self",
                    **({"phone": phone} if phone else {}),
                },
            },
        ]
        with pytest.MonkeyPatch.context() as patch:
            if not quick:
                patch.setattr(push, "store_checkins", lambda batch, items: items)
            answers = results_of(apply_push(db, device, changes))
        assert [a["s"] for a in answers] == [p.APPLIED] * 3
        rows.append(dict(next(db.query("SELECT * FROM attendances"))))
    assert rows[0] == rows[1]
    assert rows[0]["phone"] == phone


def test_new_farmers_are_offered_as_pairs_within_a_push_and_across_pushes(tmp_path: Path) -> None:
    """Only farmers sharing a mobile, or a name, village and birth year, are looked at closely;
    the pairs they make are the same as looking at every farmer would find."""
    db_path = str(tmp_path / "s.db")
    load_demo_reference(db_path)
    db, device, _envoy_id = enrolled(db_path)
    now = wall_ms()
    ids = {name: new_id() for name in ("wang1", "wang2", "chen1", "chen2", "zhao", "wang3", "li")}

    def farmer(seq: int, key: str, **values: object) -> dict[str, object]:
        fields = {"name": values.pop("name"), "village_code": VILLAGE_EAST, **values}
        return {"q": seq, "k": p.FARMER, "i": ids[key], "h": f"{now:013d}.{seq:05d}", "f": fields}

    first = [
        farmer(1, "wang1", name="王五", birth_year=1960, mobile="13900000001"),
        farmer(2, "wang2", name="王五", birth_year=1960, mobile="13900000002"),
        farmer(3, "chen1", name="陈七", birth_year=1970),  # no phone on either: still a pair
        farmer(4, "chen2", name="陈七", birth_year=1970),
        farmer(5, "zhao", name="赵八", birth_year=1970, mobile="13900000005"),
    ]
    apply_push(db, device, first)
    second = [
        farmer(6, "wang3", name="王五", birth_year=1960, mobile="13900000009"),
        farmer(7, "li", name="李九", mobile="13900000005"),  # 赵八's phone: a family phone
    ]
    apply_push(db, device, second)
    pairs = {
        (frozenset((a, b)), reason)
        for a, b, reason in db.execute("SELECT farmer_a, farmer_b, reason FROM merge_candidates")
    }
    by_name = {
        (frozenset((ids[a], ids[b])), reason)
        for a, b, reason in [
            ("wang1", "wang2", "same_name_village_birth_year"),
            ("chen1", "chen2", "same_name_village_birth_year"),
            ("wang1", "wang3", "same_name_village_birth_year"),
            ("wang2", "wang3", "same_name_village_birth_year"),
            ("zhao", "li", "same_mobile"),
        ]
    }
    assert pairs == by_name
    assert db.execute("SELECT count(*) FROM farmer_aliases").fetchone()[0] == 0


def _check_in(
    seq: int, session_id: str, farmer_id: str, stamp_ms: int, at: str
) -> dict[str, object]:
    return {
        "q": seq,
        "k": p.ATTENDANCE,
        "h": f"{stamp_ms:013d}.{seq:05d}",
        "f": {
            "session_id": session_id,
            "farmer_id": farmer_id,
            "checked_in_at": at,
            "method": "roster",
        },
    }


def _co_run_session(
    tmp_path: Path,
) -> tuple[object, devices.Device, devices.Device, str, list[str]]:
    """Device A stores a session, two farmers and the first farmer's check-in; device B (the
    same envoy's second phone) has not synced yet."""
    db_path = str(tmp_path / "s.db")
    load_demo_reference(db_path)
    db, device_a, envoy_id = enrolled(db_path)
    code = devices.new_enrolment_code(db, envoy_id, 60)
    db.conn.commit()
    device_b = devices.authenticate(db, devices.enrol_device(db, code, "laptop")["token"])
    session_id, farmer_ids = new_id(), [new_id(), new_id()]
    now = wall_ms()
    changes: list[dict[str, object]] = [
        {
            "q": n + 1,
            "k": p.FARMER,
            "i": farmer_id,
            "h": f"{now:013d}.{n + 1:05d}",
            "f": {"name": f"农户{n}", "village_code": VILLAGE_EAST},
        }
        for n, farmer_id in enumerate(farmer_ids)
    ]
    changes.append(
        {
            "q": 3,
            "k": p.SESSION,
            "i": session_id,
            "h": f"{now:013d}.00003",
            "f": {
                "kind": "village_training",
                "title": "培训",
                "unit_code": VILLAGE_EAST,
                "starts_at": "2026-05-01T01:00:00Z",
                "lead_envoy_id": envoy_id,
            },
        }
    )
    changes.append(_check_in(4, session_id, farmer_ids[0], now, "2026-05-01T01:40:00Z"))
    apply_push(db, device_a, changes)
    return db, device_a, device_b, session_id, farmer_ids


def test_a_new_check_in_already_on_the_server_is_merged_after_a_careful_second_attempt(
    tmp_path: Path, monkeypatch: object
) -> None:
    """New check-ins are stored without looking their ids up first; one that was already there
    makes the push start again, carefully, and end as if it had looked."""
    import pytest

    db, device_a, device_b, session_id, farmer_ids = _co_run_session(tmp_path)
    attempts: list[bool] = []
    original = push._apply_push

    def spy(*args: object, careful: bool) -> dict[str, object]:
        attempts.append(careful)
        return original(*args, careful=careful)  # type: ignore[arg-type]

    now = wall_ms()
    changes = [
        _check_in(1, session_id, farmer_ids[0], now, "2026-05-01T01:30:00Z"),
        _check_in(2, session_id, farmer_ids[1], now, "2026-05-01T01:35:00Z"),
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(push, "_apply_push", spy)
        answers = {a["q"]: a["s"] for a in results_of(apply_push(db, device_b, changes))}
    assert attempts == [False, True]
    assert answers == {1: p.MERGED, 2: p.APPLIED}
    rows = {r["farmer_id"]: r for r in db.query("SELECT * FROM attendances")}
    assert len(rows) == 2
    shared = rows[farmer_ids[0]]
    assert sorted(json.loads(shared["seen_by"])) == sorted([device_a.id, device_b.id])
    assert shared["checked_in_at"] == "2026-05-01T01:30:00Z"  # the earlier of the two
    assert (
        db.execute(
            "SELECT count(*) FROM device_change_runs WHERE device_id = ?", [device_b.id]
        ).fetchone()[0]
        >= 1
    )


def test_a_known_check_in_off_the_quick_path_is_looked_up_before_it_is_merged(
    tmp_path: Path,
) -> None:
    """A check-in stamped from the future leaves the quick path; its stored state is still
    read first, so it merges with the row already there instead of replacing it."""
    db, device_a, device_b, session_id, farmer_ids = _co_run_session(tmp_path)
    ahead = wall_ms() + 3 * 24 * 3600 * 1000
    changes = [_check_in(1, session_id, farmer_ids[0], ahead, "2026-05-01T01:50:00Z")]
    answers = results_of(apply_push(db, device_b, changes))
    assert [a["s"] for a in answers] == [p.MERGED]
    row = next(db.query("SELECT * FROM attendances"))
    assert sorted(json.loads(row["seen_by"])) == sorted([device_a.id, device_b.id])
    assert row["checked_in_at"] == "2026-05-01T01:40:00Z"
