"""Integrity of the figures (issue 10): no device adds to another envoy's work, corrections
correct something real, refusals leak nothing, and held changes have limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.plan.report import build_report
from server.store.db import init_db
from server.sync import HeldLimits, apply_push, drop_held, list_held
from server.sync.devices import Device as Authenticated
from server.sync.maintenance import purge_tombstones
from shared import protocol as p
from shared.clock import to_iso, utc_now
from shared.ids import attendance_id, new_id
from tests.helpers import LEAFLET_POTATO, VILLAGE_EAST, VILLAGE_SOUTH, results_of
from tests.server.test_api import (
    Device,
    checkin_fields,
    farmer_fields,
    row,
    session_fields,
)

LEAFLET_MAIZE = "leaflet-maize"


def count(db_path: str, sql: str, params: list[Any] | None = None) -> Any:
    db = init_db(db_path)
    try:
        return db.execute(sql, params or []).fetchone()[0]
    finally:
        db.close()


def build_report_of(db_path: str) -> dict[str, Any]:
    db = init_db(db_path)
    try:
        return build_report(db, 2026)
    finally:
        db.close()


def answer_of(answer: dict[str, Any], seq: int) -> dict[str, Any]:
    """One change's answer: its own entry, or applied when its number is in an applied run."""
    for first, last in answer["applied"]:
        if first <= seq <= last:
            return {"q": seq, "s": p.APPLIED}
    return next(a for a in answer["answers"] if a["q"] == seq)


@pytest.fixture
def zhang(client: FlaskClient, db_path: str) -> Device:
    return Device(client, db_path, "张三")


@pytest.fixture
def li(client: FlaskClient, db_path: str) -> Device:
    """李梅: a colleague of 张三 in the same township."""
    return Device(client, db_path, "李梅")


@pytest.fixture
def wang(client: FlaskClient, db_path: str) -> Device:
    """王五: an envoy of another township."""
    return Device(client, db_path, "王五")


def own_session(device: Device, co_envoys: list[str] | None = None) -> str:
    session_id = new_id()
    fields = {**session_fields(device.envoy_id), "co_envoy_ids": co_envoys or []}
    assert device.push([device.change(p.SESSION, fields, session_id)])["answers"] == []
    return session_id


def own_farmer(device: Device, name: str = "赵大") -> str:
    farmer_id = new_id()
    assert device.push([device.change(p.FARMER, farmer_fields(name), farmer_id)])["answers"] == []
    return farmer_id


def checkin(device: Device, session_id: str, farmer_id: str, general: bool) -> dict[str, Any]:
    """A new check-in as the bulk path takes it, or (with its id) as the general path does."""
    record_id = attendance_id(session_id, farmer_id) if general else None
    return device.change(p.ATTENDANCE, checkin_fields(session_id, farmer_id), record_id)


# ---------------------------------------------------------------- 1. another envoy's work


@pytest.mark.parametrize("general", [False, True], ids=["bulk path", "general path"])
def test_a_check_in_into_another_envoys_session_is_refused(
    zhang: Device, wang: Device, li: Device, db_path: str, general: bool
) -> None:
    session_id = own_session(zhang)
    farmer_id = own_farmer(wang, "孙七")
    answer = wang.push([checkin(wang, session_id, farmer_id, general)])
    [refused] = answer["answers"]
    assert refused["s"] == p.REJECTED
    assert "sessions this envoy leads or co-runs" in refused["r"]
    assert "只能在本人主持或协办的培训中" in refused["r"]
    assert set(refused["e"]) == {"session_id"}
    assert count(db_path, "SELECT count(*) FROM attendances") == 0
    report = build_report_of(db_path)
    assert report["indicators"][0]["actual"] == 0


@pytest.mark.parametrize("general", [False, True], ids=["bulk path", "general path"])
def test_the_lead_and_co_envoys_may_check_farmers_in(
    zhang: Device, li: Device, wang: Device, db_path: str, general: bool
) -> None:
    session_id = own_session(zhang, co_envoys=[wang.envoy_id])
    mine, theirs = own_farmer(zhang), own_farmer(wang, "孙七")
    assert zhang.push([checkin(zhang, session_id, mine, general)])["answers"] == []
    assert wang.push([checkin(wang, session_id, theirs, general)])["answers"] == []
    # A colleague of the same township who is not on the session still may not.
    refused = li.push([checkin(li, session_id, own_farmer(li, "周八"), general)])["answers"]
    assert [a["s"] for a in refused] == [p.REJECTED]
    assert count(db_path, "SELECT count(*) FROM attendances") == 2


def test_a_bulk_push_refuses_only_the_check_ins_into_others_sessions(
    zhang: Device, wang: Device, db_path: str
) -> None:
    theirs = own_session(zhang)
    mine = own_session(wang)
    farmers = [own_farmer(wang, f"农户{n}") for n in range(4)]
    changes = [checkin(wang, theirs if n % 2 else mine, f, False) for n, f in enumerate(farmers)]
    answer = wang.push(changes)
    assert [(a["q"], a["s"]) for a in answer["answers"]] == [
        (changes[1]["q"], p.REJECTED),
        (changes[3]["q"], p.REJECTED),
    ]
    assert count(db_path, "SELECT count(*) FROM attendances WHERE session_id = ?", [mine]) == 2
    assert count(db_path, "SELECT count(*) FROM attendances WHERE session_id = ?", [theirs]) == 0


def test_a_hand_out_at_another_envoys_session_is_refused(
    zhang: Device, wang: Device, db_path: str
) -> None:
    session_id = own_session(zhang)
    fields = {
        "leaflet_title_id": LEAFLET_POTATO,
        "copies": 1_000_000,
        "session_id": session_id,
        "handed_out_at": "2026-05-10T03:00:00Z",
    }
    [refused] = wang.push([wang.change(p.LEAFLET_HANDOUT, fields, new_id())])["answers"]
    assert refused["s"] == p.REJECTED and "leads or co-runs" in refused["r"]
    # The session's own envoy hands out as before; so does anyone in their own village.
    assert zhang.push([zhang.change(p.LEAFLET_HANDOUT, fields, new_id())])["answers"] == []
    village = {**fields, "session_id": None, "unit_code": VILLAGE_SOUTH}
    assert wang.push([wang.change(p.LEAFLET_HANDOUT, village, new_id())])["answers"] == []
    assert count(db_path, "SELECT sum(copies) FROM leaflet_handouts") == 2_000_000
    assert (
        count(db_path, "SELECT count(*) FROM leaflet_handouts WHERE envoy_id = ?", [wang.envoy_id])
        == 1
    )


def test_an_observation_of_another_envoys_plot_is_refused(
    zhang: Device, wang: Device, db_path: str
) -> None:
    plot_id = new_id()
    plot = {
        "village_code": VILLAGE_EAST,
        "host_name": "赵大",
        "crop": "马铃薯",
        "area_mu": 50,
        "established_on": "2026-03-01",
    }
    assert zhang.push([zhang.change(p.PLOT, plot, plot_id)])["answers"] == []
    observation = {"plot_id": plot_id, "observed_on": "2026-06-01", "stage": "harvest"}
    [refused] = wang.push(
        [wang.change(p.PLOT_OBSERVATION, {**observation, "yield_kg_per_mu": 9e4}, new_id())]
    )["answers"]
    assert refused["s"] == p.REJECTED and "this envoy's own plots" in refused["r"]
    assert set(refused["e"]) == {"plot_id"}
    assert zhang.push([zhang.change(p.PLOT_OBSERVATION, observation, new_id())])["answers"] == []
    assert count(db_path, "SELECT count(*) FROM plot_observations") == 1


@pytest.mark.parametrize("co_run", [False, True])
def test_a_held_check_in_is_checked_for_ownership_when_its_session_arrives(
    zhang: Device, wang: Device, db_path: str, co_run: bool
) -> None:
    session_id, farmer_id = new_id(), own_farmer(wang, "孙七")
    early = checkin(wang, session_id, farmer_id, False)
    assert wang.push([early])["answers"] == [{"q": early["q"], "s": p.HELD}]
    fields = {**session_fields(zhang.envoy_id), "co_envoy_ids": [wang.envoy_id] if co_run else []}
    assert zhang.push([zhang.change(p.SESSION, fields, session_id)])["answers"] == []
    assert count(db_path, "SELECT count(*) FROM held_changes") == 0
    assert count(db_path, "SELECT count(*) FROM attendances") == (1 if co_run else 0)
    # The device sending it again learns how it ended.
    [again] = wang.push([early])["answers"]
    if co_run:
        assert again["s"] == p.DUPLICATE
    else:
        assert again["s"] == p.REJECTED and "leads or co-runs" in again["r"]


# ---------------------------------------------------------------- 2. corrections


def handout(
    device: Device,
    copies: int,
    session_id: str,
    correction_of: str | None = None,
    title: str = LEAFLET_POTATO,
    record_id: str | None = None,
) -> dict[str, Any]:
    fields = {
        "leaflet_title_id": title,
        "copies": copies,
        "session_id": session_id,
        "handed_out_at": "2026-05-10T03:00:00Z",
        "correction_of": correction_of,
    }
    return device.change(p.LEAFLET_HANDOUT, fields, record_id or new_id())


def receipt(device: Device, copies: int, correction_of: str | None = None) -> dict[str, Any]:
    fields = {
        "leaflet_title_id": LEAFLET_POTATO,
        "copies": copies,
        "received_on": "2026-05-01",
        "correction_of": correction_of,
    }
    return device.change(p.LEAFLET_RECEIPT, fields, new_id())


def handed_out(db_path: str) -> int:
    return int(count(db_path, "SELECT coalesce(sum(copies), 0) FROM leaflet_handouts"))


def test_a_correction_of_nothing_is_held_not_counted(zhang: Device, db_path: str) -> None:
    session_id = own_session(zhang)
    nothing = handout(zhang, -1_000_000, session_id, correction_of=new_id())
    assert zhang.push([nothing])["answers"] == [{"q": nothing["q"], "s": p.HELD}]
    assert handed_out(db_path) == 0
    report = build_report_of(db_path)
    leaflets = next(i for i in report["indicators"] if "leaflet" in i["key"])
    assert leaflets["actual"] >= 0


def test_corrections_never_take_an_event_below_zero(zhang: Device, db_path: str) -> None:
    session_id = own_session(zhang)
    event = handout(zhang, 100, session_id)
    zhang.push([event])
    first = handout(zhang, -60, session_id, correction_of=event["i"])
    too_far = handout(zhang, -50, session_id, correction_of=event["i"])
    to_zero = handout(zhang, -40, session_id, correction_of=event["i"])
    answer = zhang.push([first, too_far, to_zero])
    assert answer_of(answer, first["q"])["s"] == p.APPLIED
    refused = answer_of(answer, too_far["q"])
    assert refused["s"] == p.REJECTED and "below zero" in refused["r"] and "copies" in refused["e"]
    assert answer_of(answer, to_zero["q"])["s"] == p.APPLIED
    assert handed_out(db_path) == 0
    # Across pushes too: nothing is left to take away.
    [again] = zhang.push([handout(zhang, -1, session_id, correction_of=event["i"])])["answers"]
    assert again["s"] == p.REJECTED
    # Adding back is always allowed.
    assert zhang.push([handout(zhang, 5, session_id, correction_of=event["i"])])["answers"] == []
    assert handed_out(db_path) == 5


def test_a_correction_must_match_its_event(zhang: Device, li: Device, db_path: str) -> None:
    session_id = own_session(zhang, co_envoys=[li.envoy_id])
    other_session = own_session(zhang)
    event = handout(zhang, 100, session_id)
    got = receipt(zhang, 500)
    assert zhang.push([event, got])["answers"] == []
    other_title = "c0ffee00-0000-4000-8000-000000000000"
    wrong = {
        "another envoy's": handout(li, -10, session_id, correction_of=event["i"]),
        "other title": handout(zhang, -10, session_id, event["i"], title=LEAFLET_POTATO),
        "other session": handout(zhang, -10, other_session, correction_of=event["i"]),
        "other kind": handout(zhang, -10, session_id, correction_of=got["i"]),
    }
    # A title the server knows but not the event's.
    db = init_db(db_path)
    other_title = db.execute(
        "SELECT id FROM leaflet_titles WHERE id != ?", [LEAFLET_POTATO]
    ).fetchone()[0]
    db.close()
    wrong["other title"]["f"]["leaflet_title_id"] = other_title
    answers = {}
    for name, change in wrong.items():
        device = li if name == "another envoy's" else zhang
        [answers[name]] = device.push([change])["answers"]
    assert {name: a["s"] for name, a in answers.items()} == dict.fromkeys(wrong, p.REJECTED)
    assert "envoy_id" in answers["another envoy's"]["e"]
    assert "leaflet_title_id" in answers["other title"]["e"]
    assert "session_id" in answers["other session"]["e"]
    assert "not a leaflet_receipt" in answers["other kind"]["r"]
    # A correction of a correction is refused: corrections name the original event.
    fix = handout(zhang, -10, session_id, correction_of=event["i"])
    assert zhang.push([fix])["answers"] == []
    [chained] = zhang.push([handout(zhang, -10, session_id, correction_of=fix["i"])])["answers"]
    assert chained["s"] == p.REJECTED and "original event" in chained["r"]
    assert handed_out(db_path) == 90


def test_receipts_are_corrected_by_the_same_rule(zhang: Device, db_path: str) -> None:
    got = receipt(zhang, 200)
    zhang.push([got])
    answer = zhang.push([receipt(zhang, -150, got["i"]), receipt(zhang, -100, got["i"])])
    assert [a["s"] for a in answer["answers"]] == [p.REJECTED]
    assert count(db_path, "SELECT sum(copies) FROM leaflet_receipts") == 50


def test_a_correction_before_its_event_waits_for_it(zhang: Device, db_path: str) -> None:
    session_id = own_session(zhang)
    event_id = new_id()
    early = handout(zhang, -30, session_id, correction_of=event_id)
    too_much = handout(zhang, -80, session_id, correction_of=event_id)
    answer = zhang.push([early, too_much])
    assert [a["s"] for a in answer["answers"]] == [p.HELD, p.HELD]
    assert handed_out(db_path) == 0
    zhang.push([handout(zhang, 100, session_id, record_id=event_id)])
    assert count(db_path, "SELECT count(*) FROM held_changes") == 0
    # Released in order: the first fits, the second would go below zero.
    assert handed_out(db_path) == 70
    statuses = [a["s"] for a in zhang.push([early, too_much])["answers"]]
    assert statuses == [p.DUPLICATE, p.REJECTED]


def test_a_correction_and_its_event_in_one_push_apply_in_any_order(
    zhang: Device, db_path: str
) -> None:
    session_id = own_session(zhang)
    event_id = new_id()
    correction = handout(zhang, -30, session_id, correction_of=event_id)
    event = handout(zhang, 100, session_id, record_id=event_id)
    answer = zhang.push([correction, event])
    assert answer["answers"] == [] or all(a["s"] == p.HELD for a in answer["answers"])
    assert handed_out(db_path) == 70
    assert count(db_path, "SELECT count(*) FROM held_changes") == 0


# ---------------------------------------------------------------- 3. refusals leak nothing


def test_a_refused_edit_carries_the_servers_version_only_within_pull_scope(
    zhang: Device, li: Device, wang: Device, db_path: str
) -> None:
    farmer_id = new_id()
    zhang.push([zhang.change(p.FARMER, farmer_fields("赵大", "13912345678"), farmer_id)])
    base = row(db_path, "farmers", farmer_id)["hlc"]
    # 王五 serves another township: he could never pull this farmer.
    [outside] = wang.push([wang.change(p.FARMER, {"name": "改名"}, farmer_id, base)])["answers"]
    assert outside["s"] == p.REJECTED
    assert "x" not in outside
    assert "13912345678" not in str(outside)
    # 李梅 serves the farmer's township: she pulls the farmer anyway, so takes it back.
    [inside] = li.push([li.change(p.FARMER, {"name": "改名"}, farmer_id, base)])["answers"]
    assert inside["s"] == p.REJECTED
    assert inside["x"]["id"] == farmer_id and inside["x"]["name"] == "赵大"
    pulled = {r["r"]["id"] for r in li.pull_all() if r["k"] == p.FARMER}
    assert farmer_id in pulled
    assert farmer_id not in {r["r"]["id"] for r in wang.pull_all() if r["k"] == p.FARMER}


# ---------------------------------------------------------------- 4. held changes


def stray_checkins(device: Device, n: int) -> list[dict[str, Any]]:
    """Check-ins naming sessions that never come."""
    farmer_id = own_farmer(device)
    return [device.change(p.ATTENDANCE, checkin_fields(new_id(), farmer_id)) for _ in range(n)]


@pytest.fixture
def capped(app: Flask, db_path: str) -> Device:
    app.config.update(MAX_HELD_CHANGES=3, MAX_HELD_BYTES=1024 * 1024)
    return Device(app.test_client(), db_path, "张三")


def test_a_device_holds_at_most_its_limit_of_changes(capped: Device, db_path: str) -> None:
    answer = capped.push(stray_checkins(capped, 5))
    statuses = [a["s"] for a in answer["answers"]]
    assert statuses == [p.HELD] * 3 + [p.REJECTED] * 2
    reason = answer["answers"][-1]["r"]
    assert "limit 3 changes" in reason and "ask the bureau" in reason and "上限" in reason
    assert count(db_path, "SELECT count(*) FROM held_changes") == 3
    # Another push counts what is already held.
    [later] = capped.push(stray_checkins(capped, 1))["answers"]
    assert later["s"] == p.REJECTED


def test_a_device_holds_at_most_its_limit_of_bytes(tmp_path: Any) -> None:
    from server.sync import devices
    from tests.helpers import load_demo_reference

    db_path = str(tmp_path / "s.db")
    load_demo_reference(db_path)
    db = init_db(db_path)
    envoy = devices.envoy_by_name(db, "张三")
    code = devices.new_enrolment_code(db, envoy["id"], 60)
    db.conn.commit()
    device: Authenticated = devices.authenticate(db, devices.enrol_device(db, code, "p")["token"])
    farmer_id, stamp = new_id(), f"{int(utc_now().timestamp() * 1000):013d}"
    changes = [
        {
            "q": 1,
            "k": p.FARMER,
            "i": farmer_id,
            "h": f"{stamp}.00001",
            "f": {"name": "赵大", "village_code": VILLAGE_EAST},
        }
    ]
    changes += [
        {
            "q": n,
            "k": p.ATTENDANCE,
            "i": None,
            "b": None,
            "h": f"{stamp}.{n:05d}",
            "f": checkin_fields(new_id(), farmer_id),
        }
        for n in range(2, 12)
    ]
    answers = results_of(apply_push(db, device, changes, HeldLimits(changes=100, bytes=1000)))
    statuses = [a["s"] for a in answers[1:]]
    held = statuses.count(p.HELD)
    assert 1 <= held < 10 and statuses == [p.HELD] * held + [p.REJECTED] * (10 - held)
    used, largest = db.execute(
        "SELECT sum(length(CAST(change AS BLOB))), max(length(CAST(change AS BLOB))) "
        "FROM held_changes"
    ).fetchone()
    # Held up to the byte limit, and the next would not have fitted.
    assert used <= 1000 < used + largest
    db.close()


def test_staff_list_and_drop_held_changes(zhang: Device, wang: Device, db_path: str) -> None:
    mine = stray_checkins(zhang, 3)
    zhang.push(mine)
    wang.push(stray_checkins(wang, 2))
    db = init_db(db_path)
    listed = list_held(db)
    assert len(listed) == 5 and {r["envoy"] for r in listed} == {"张三", "王五"}
    first = next(r for r in listed if r["seq"] == mine[0]["q"] and r["envoy"] == "张三")
    assert drop_held(db, [first["id"]]) == 1
    assert drop_held(db, device_id=wang.id) == 2
    assert [r["seq"] for r in list_held(db)] == [mine[1]["q"], mine[2]["q"]]
    db.close()
    # The device sending a dropped change again is told it was dropped.
    [again] = zhang.push([mine[0]])["answers"]
    assert again["s"] == p.REJECTED and "bureau dropped" in again["r"]


def test_held_changes_expire_with_the_tombstone_retention(zhang: Device, db_path: str) -> None:
    old, young = stray_checkins(zhang, 2)
    zhang.push([old, young])
    db = init_db(db_path)
    with db.conn:
        db.execute(
            "UPDATE held_changes SET held_at = ? WHERE seq = ?",
            [to_iso(utc_now() - timedelta(days=p.TOMBSTONE_RETENTION_DAYS + 1)), old["q"]],
        )
    purge_tombstones(db, p.TOMBSTONE_RETENTION_DAYS)
    assert [r["seq"] for r in list_held(db)] == [young["q"]]
    db.close()
    [again] = zhang.push([old])["answers"]
    assert again["s"] == p.REJECTED and "expired" in again["r"]


def test_held_drop_on_the_command_line(zhang: Device, db_path: str) -> None:
    from click.testing import CliRunner

    from server.cli import cli

    zhang.push(stray_checkins(zhang, 2))
    runner = CliRunner()
    lines = runner.invoke(cli, ["--db", db_path, "held"]).output.splitlines()
    assert len(lines) == 2 and all(
        "张三" in line and "waiting for session" in line for line in lines
    )
    first = lines[0].split()[0].lstrip("#")
    dropped = runner.invoke(cli, ["--db", db_path, "held", "drop", first])
    assert dropped.exit_code == 0 and "dropped 1 held changes" in dropped.output
    assert len(runner.invoke(cli, ["--db", db_path, "held"]).output.splitlines()) == 1
    nothing = runner.invoke(cli, ["--db", db_path, "held", "drop"])
    assert (
        nothing.exit_code == 2
        and "--device" in nothing.output
        and "Traceback" not in nothing.output
    )
