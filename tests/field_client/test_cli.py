"""tianjian-field CLI offline: clear one-line errors, every field command, JSON output, help."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from field_client import sync as sync_module
from field_client.cli import KIND_NAMES, cli
from field_client.store import FieldStore
from shared import protocol as p
from shared.gc_tuning import GEN0_THRESHOLD
from shared.ids import attendance_id, is_uuid

DEVICE = "d0d0d0d0-0000-4000-8000-000000000001"
ENVOY = "e0e0e0e0-0000-4000-8000-000000000001"
TECH = "7ec07ec0-0000-4000-8000-000000000001"
VARIETY = "7a7a7a7a-0000-4000-8000-000000000001"
TITLE = "77777777-0000-4000-8000-000000000001"
VILLAGE = "530102001001"
TOWNSHIP = "530102001000"
# Nothing listens on the discard port: any attempt to reach a server fails at once.
NO_SERVER = "http://127.0.0.1:9"


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args])


def ok(db: Path, *args: str) -> str:
    result = run(db, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    # What a script reads: notes for the envoy go to stderr.
    return result.stdout.strip()


def ok_json(db: Path, *args: str) -> Any:
    return json.loads(ok(db, "--json", *args))


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(("错误 / Error: ", "错误："))
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def stored(db: Path) -> FieldStore:
    return FieldStore(str(db))


def add_farmer(db: Path, name: str = "王芳", *extra: str) -> str:
    return ok(db, "farmer", "add", "--name", name, "--village", "东村", *extra)


def new_session(db: Path, *extra: str) -> str:
    return ok(db, "session", "new", "--title", "马铃薯晚疫病防治培训", "--unit", "东村", *extra)


# ------------------------------------------------------------------ not enrolled


@pytest.mark.parametrize(
    "args",
    [
        ["farmer", "add", "--name", "王芳", "--village", VILLAGE],
        ["session", "new", "--title", "t", "--unit", VILLAGE],
        ["leaflets", "give", "--title", TITLE, "--copies", "5", "--village", VILLAGE],
        ["leaflets", "receive", "--title", TITLE, "--copies", "5", "--on", "2026-05-20"],
        [
            "plot",
            "new",
            "--village",
            VILLAGE,
            "--host",
            "李家",
            "--crop",
            "玉米",
            "--area",
            "2",
            "--established",
            "2026-03-01",
        ],
        ["sync"],
    ],
)
def test_not_enrolled_is_a_one_line_error(blank_db: Path, args: list[str]) -> None:
    result = run(blank_db, *args)
    assert_one_line_error(result, "enroll", "not enrolled")


def test_status_of_a_fresh_device_says_not_enrolled(blank_db: Path) -> None:
    assert "not enrolled" in ok(blank_db, "status")
    data = ok_json(blank_db, "status")
    assert data["enrolled"] is False
    assert data["server"] is None
    assert data["pending"] == 0


def test_listing_on_a_fresh_device_says_none(blank_db: Path) -> None:
    assert ok(blank_db, "list", "farmers") == "（无 / none）"
    assert ok_json(blank_db, "list", "farmers") == []


# ------------------------------------------------------------------ the offline round


def test_farmer_add_prints_the_new_id_and_stores_it(db: Path) -> None:
    farmer_id = add_farmer(db, "王芳", "--mobile", "+86 138-0013-8000", "--gender", "female")
    assert is_uuid(farmer_id)
    record = stored(db).record(p.FARMER, farmer_id)
    assert record is not None
    assert record["mobile"] == "13800138000"
    assert record["village_code"] == VILLAGE
    assert record["gender"] == "female"


def test_farmer_add_takes_a_village_code(db: Path) -> None:
    farmer_id = ok(db, "farmer", "add", "--name", "李梅", "--village", VILLAGE)
    assert stored(db).record(p.FARMER, farmer_id)["village_code"] == VILLAGE


def test_farmer_add_json(db: Path) -> None:
    data = ok_json(db, "farmer", "add", "--name", "王芳", "--village", "东村")
    assert set(data) == {"id"}
    assert is_uuid(data["id"])


def test_bad_mobile_is_a_clear_error_naming_the_field(db: Path) -> None:
    result = run(
        db, "farmer", "add", "--name", "王芳", "--village", "东村", "--mobile", "0871-12345"
    )
    assert_one_line_error(result, "mobile", "0871-12345", "invalid farmer")
    assert stored(db).records(p.FARMER) == []


def test_unknown_village_name_is_a_clear_error(db: Path) -> None:
    result = run(db, "farmer", "add", "--name", "王芳", "--village", "北村")
    assert_one_line_error(result, "北村")


def test_session_new_resolves_names_and_defaults_to_now(db: Path) -> None:
    session_id = new_session(db, "--tech", "马铃薯脱毒种薯技术", "--headcount", "40")
    assert is_uuid(session_id)
    record = stored(db).record(p.SESSION, session_id)
    assert record["unit_code"] == VILLAGE
    assert record["technology_ids"] == [TECH]
    assert record["lead_envoy_id"] == ENVOY
    assert record["reported_headcount"] == 40
    assert record["kind"] == "village_training"
    assert record["starts_at"].endswith("Z")


def test_session_new_with_china_time_and_end_before_start(db: Path) -> None:
    session_id = new_session(db, "--start", "2026-05-29T09:00:00", "--end", "2026-05-29T11:00:00")
    record = stored(db).record(p.SESSION, session_id)
    assert record["starts_at"] == "2026-05-29T01:00:00Z"
    result = run(
        db,
        "session",
        "new",
        "--title",
        "t",
        "--unit",
        "东村",
        "--start",
        "2026-05-29T09:00:00",
        "--end",
        "2026-05-29T08:00:00",
    )
    assert_one_line_error(result, "ends_at")


def test_unknown_technology_is_a_clear_error(db: Path) -> None:
    result = run(db, "session", "new", "--title", "t", "--unit", "东村", "--tech", "量子种田")
    assert_one_line_error(result, "量子种田")


def test_session_close(db: Path) -> None:
    session_id = new_session(db, "--start", "2026-05-29T09:00:00")
    out = ok(
        db, "session", "close", session_id, "--end", "2026-05-29T11:30:00", "--headcount", "35"
    )
    assert session_id in out
    record = stored(db).record(p.SESSION, session_id)
    assert record["closed"] is True
    assert record["ends_at"] == "2026-05-29T03:30:00Z"
    assert record["reported_headcount"] == 35


def test_closing_an_unknown_session_is_a_clear_error(db: Path) -> None:
    result = run(db, "session", "close", "00000000-0000-4000-8000-000000000000")
    assert_one_line_error(result, "no such record")


def test_checkin_prints_the_attendance_id_and_counts_once(db: Path) -> None:
    farmer_id, session_id = add_farmer(db), new_session(db)
    expected = attendance_id(session_id, farmer_id)
    assert ok(db, "checkin", "--session", session_id, "--farmer", farmer_id) == expected
    again = ok(db, "checkin", "--session", session_id, "--farmer", farmer_id)
    assert again.startswith(expected)
    assert "already checked in" in again
    assert ok_json(db, "checkin", "--session", session_id, "--farmer", farmer_id) == {
        "id": expected,
        "new": False,
    }
    assert len(stored(db).records(p.ATTENDANCE)) == 1


def test_checkin_json_for_a_new_check_in(db: Path) -> None:
    farmer_id, session_id = add_farmer(db), new_session(db)
    data = ok_json(
        db, "checkin", "--session", session_id, "--farmer", farmer_id, "--method", "card_scan"
    )
    assert data == {"id": attendance_id(session_id, farmer_id), "new": True}
    assert stored(db).record(p.ATTENDANCE, data["id"])["method"] == "card_scan"


def test_checkin_of_unknown_farmer_or_session_is_a_clear_error(db: Path) -> None:
    farmer_id, session_id = add_farmer(db), new_session(db)
    nobody = "00000000-0000-4000-8000-000000000000"
    assert_one_line_error(run(db, "checkin", "--session", nobody, "--farmer", farmer_id), "session")
    assert_one_line_error(run(db, "checkin", "--session", session_id, "--farmer", nobody), "farmer")


def test_leaflets_give_at_a_session_and_in_a_village(db: Path) -> None:
    session_id = new_session(db)
    at_session = ok(
        db,
        "leaflets",
        "give",
        "--title",
        "马铃薯晚疫病防治",
        "--copies",
        "30",
        "--session",
        session_id,
    )
    in_village = ok_json(
        db, "leaflets", "give", "--title", TITLE, "--copies", "20", "--village", "东村"
    )["id"]
    store = stored(db)
    first = store.record(p.LEAFLET_HANDOUT, at_session)
    assert first["leaflet_title_id"] == TITLE
    assert first["copies"] == 30
    assert first["session_id"] == session_id
    second = store.record(p.LEAFLET_HANDOUT, in_village)
    assert second["unit_code"] == VILLAGE
    assert second["session_id"] is None


def test_handing_out_more_than_held_is_said_and_carried_in_json(db: Path) -> None:
    ok(db, "leaflets", "receive", "--title", TITLE, "--copies", "10", "--on", "2026-05-20")
    within = run(db, "leaflets", "give", "--title", TITLE, "--copies", "10", "--village", "东村")
    assert within.exit_code == 0 and within.stderr == ""
    over = run(db, "leaflets", "give", "--title", TITLE, "--copies", "3", "--village", "东村")
    assert over.exit_code == 0
    assert "多于库存" in over.stderr and "持有“马铃薯晚疫病防治”0 份" in over.stderr
    assert "handed out 3" in over.stderr
    assert stored(db).record(p.LEAFLET_HANDOUT, over.stdout.strip())["copies"] == 3
    answer = ok_json(db, "leaflets", "give", "--title", TITLE, "--copies", "4", "--village", "东村")
    assert answer["over_stock"] == {"title": "马铃薯晚疫病防治", "held": -3, "copies": 4}
    ok(db, "leaflets", "receive", "--title", TITLE, "--copies", "100", "--on", "2026-05-21")
    fine = ok_json(db, "leaflets", "give", "--title", TITLE, "--copies", "5", "--village", "东村")
    assert fine["over_stock"] is None


def test_leaflets_give_without_session_or_village_names_the_problem(db: Path) -> None:
    result = run(db, "leaflets", "give", "--title", TITLE, "--copies", "30")
    assert_one_line_error(result, "unit_code", "session or the village")


def test_negative_hand_out_needs_a_correction(db: Path) -> None:
    result = run(db, "leaflets", "give", "--title", TITLE, "--copies", "-5", "--village", "东村")
    assert_one_line_error(result, "copies", "correction")
    first = ok(db, "leaflets", "give", "--title", TITLE, "--copies", "30", "--village", "东村")
    fix = ok(
        db,
        "leaflets",
        "give",
        "--title",
        TITLE,
        "--copies",
        "-5",
        "--village",
        "东村",
        "--correction-of",
        first,
    )
    assert stored(db).record(p.LEAFLET_HANDOUT, fix)["correction_of"] == first


def test_leaflets_receive(db: Path) -> None:
    receipt = ok(
        db,
        "leaflets",
        "receive",
        "--title",
        "马铃薯晚疫病防治",
        "--copies",
        "500",
        "--on",
        "2026-05-20",
    )
    record = stored(db).record(p.LEAFLET_RECEIPT, receipt)
    assert record["copies"] == 500
    assert record["received_on"] == "2026-05-20"


def test_plot_new_and_observe(db: Path) -> None:
    plot_id = ok(
        db,
        "plot",
        "new",
        "--village",
        "东村",
        "--host",
        "李家",
        "--crop",
        "马铃薯",
        "--variety",
        "云薯304",
        "--tech",
        "马铃薯脱毒种薯技术",
        "--area",
        "12.5",
        "--altitude",
        "2100",
        "--target-yield",
        "650",
        "--established",
        "2026-03-01",
    )
    assert is_uuid(plot_id)
    plot = stored(db).record(p.PLOT, plot_id)
    assert plot["variety_id"] == VARIETY
    assert plot["technology_ids"] == [TECH]
    assert plot["area_mu"] == 12.5
    assert plot["established_on"] == "2026-03-01"

    observation = ok(
        db,
        "plot",
        "observe",
        plot_id,
        "--stage",
        "seedling",
        "--survival",
        "92.5",
        "--on",
        "2026-05-28",
        "--notes",
        "干旱",
    )
    assert is_uuid(observation)
    record = stored(db).record(p.PLOT_OBSERVATION, observation)
    assert record["plot_id"] == plot_id
    assert record["survival_rate"] == 92.5
    assert record["observed_on"] == "2026-05-28"
    assert record["notes"] == "干旱"

    as_json = ok_json(db, "plot", "observe", plot_id, "--stage", "harvest", "--yield", "780")
    assert is_uuid(as_json["id"])


def test_plot_defaults_to_today(db: Path) -> None:
    plot_id = ok(
        db, "plot", "new", "--village", VILLAGE, "--host", "李家", "--crop", "玉米", "--area", "3"
    )
    established = stored(db).record(p.PLOT, plot_id)["established_on"]
    assert len(established) == 10 and established[4] == "-"


def test_numbers_typed_in_full_width_are_read(db: Path) -> None:
    plot_id = ok(
        db,
        "plot",
        "new",
        "--village",
        VILLAGE,
        "--host",
        "李家",
        "--crop",
        "玉米",
        "--area",
        "１２．５",
    )
    assert stored(db).record(p.PLOT, plot_id)["area_mu"] == 12.5
    farmer = ok(
        db, "farmer", "add", "--name", "王芳", "--village", "东村", "--birth-year", "１９７５"
    )
    assert stored(db).record(p.FARMER, farmer)["birth_year"] == 1975
    result = run(
        db, "plot", "new", "--village", VILLAGE, "--host", "李", "--crop", "玉米", "--area", "十亩"
    )
    assert result.exit_code == 2 and "不是有效的数字" in result.output


def test_plot_edit_changes_only_what_is_given(db: Path) -> None:
    plot_id = ok(
        db,
        "plot",
        "new",
        "--village",
        VILLAGE,
        "--host",
        "李家",
        "--crop",
        "玉米",
        "--area",
        "99999",
    )
    assert ok(db, "plot", "edit", plot_id[:8], "--area", "9.5") == plot_id
    plot = stored(db).record(p.PLOT, plot_id)
    assert plot["area_mu"] == 9.5 and plot["host_name"] == "李家" and plot["crop"] == "玉米"
    assert_one_line_error(run(db, "plot", "edit", plot_id, "--area", "0"), "area_mu")
    assert stored(db).record(p.PLOT, plot_id)["area_mu"] == 9.5


def test_bad_plot_values_are_clear_errors(db: Path) -> None:
    zero_area = run(
        db, "plot", "new", "--village", VILLAGE, "--host", "李家", "--crop", "玉米", "--area", "0"
    )
    assert_one_line_error(zero_area, "area_mu")
    unknown = run(
        db, "plot", "observe", "00000000-0000-4000-8000-000000000000", "--stage", "harvest"
    )
    assert_one_line_error(unknown, "no such record")


def test_status_counts_what_is_waiting(db: Path) -> None:
    farmer_id, session_id = add_farmer(db), new_session(db)
    ok(db, "checkin", "--session", session_id, "--farmer", farmer_id)
    text = ok(db, "status")
    assert NO_SERVER in text
    assert "pending: 3" in text
    assert "rejected: 0" in text
    data = ok_json(db, "status")
    assert data["enrolled"] is True
    assert data["device_id"] == DEVICE
    assert data["pending"] == 3
    assert data["rejected"] == []
    assert data["cursor"] == 0


def test_status_shows_refused_changes_with_their_reason(db: Path) -> None:
    farmer_id = add_farmer(db)
    store = stored(db)
    store.settle([], [{"q": 1, "r": "村不存在 / unknown village", "e": {"village_code": "?"}}])
    store.close()
    text = ok(db, "status")
    assert "rejected: 1" in text
    assert "unknown village" in text
    assert farmer_id in text
    data = ok_json(db, "status")
    assert data["rejected"] == [
        {
            "seq": 1,
            "kind": p.FARMER,
            "id": farmer_id,
            "reason": "村不存在 / unknown village",
            "errors": {"village_code": "?"},
        }
    ]


def test_list_farmers_masks_phone_numbers(db: Path) -> None:
    farmer_id = add_farmer(db, "王芳", "--mobile", "13800138000")
    add_farmer(db, "李梅")
    text = ok(db, "list", "farmers")
    # Lists show ids by their first eight characters, which name the record when typed.
    assert farmer_id[:8] in text
    assert "王芳" in text and "李梅" in text
    assert "13800138000" not in text
    rows = ok_json(db, "list", "farmers")
    assert [row["name"] for row in rows] == ["王芳", "李梅"]
    assert rows[0]["mobile"] == "138****8000"
    assert rows[1]["mobile"] == ""
    assert all("_stamps" not in row for row in rows)
    assert "13800138000" not in json.dumps(rows)


def test_list_reference_and_other_kinds(db: Path) -> None:
    units = ok(db, "list", "units")
    assert VILLAGE in units and "东村" in units
    assert [row["id"] for row in ok_json(db, "list", "technologies")] == [TECH]
    session_id = new_session(db)
    assert session_id[:8] in ok(db, "list", "sessions")
    assert ok_json(db, "list", "attendances") == []


def test_list_refuses_an_unknown_kind(db: Path) -> None:
    result = run(db, "list", "spaceships")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_sync_with_no_server_keeps_changes_and_says_so(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_module.time, "sleep", lambda seconds: None)
    add_farmer(db)
    result = run(db, "sync", "--timeout", "2")
    assert_one_line_error(result, "没有丢失", "nothing was lost")
    assert ok_json(db, "status")["pending"] == 1


def test_sync_collects_garbage_less_often_only_while_it_runs(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []
    monkeypatch.setattr(
        sync_module.SyncClient, "push", lambda self: seen.append(gc.get_threshold())
    )
    monkeypatch.setattr(
        sync_module.SyncClient, "pull", lambda self: seen.append(gc.get_threshold())
    )
    before = gc.get_threshold()
    ok(db, "sync")
    assert [threshold[0] for threshold in seen] == [max(GEN0_THRESHOLD, before[0])] * 2
    assert gc.get_threshold() == before


def test_db_can_come_from_the_environment(db: Path) -> None:
    result = CliRunner(env={"TIANJIAN_FIELD_DB": str(db)}).invoke(cli, ["--json", "status"])
    assert result.exit_code == 0
    assert json.loads(result.output)["device_id"] == DEVICE


# ------------------------------------------------------------------ help text


def walk(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    found = [(" ".join(path) or "tianjian-field", command)]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += walk(sub, (*path, name))
    return found


ALL_COMMANDS = walk(cli)


def test_the_tree_holds_every_field_command() -> None:
    names = {name for name, _ in ALL_COMMANDS}
    for expected in [
        "enroll",
        "farmer add",
        "session new",
        "session close",
        "checkin",
        "leaflets receive",
        "leaflets give",
        "plot new",
        "plot observe",
        "sync",
        "status",
        "list",
    ]:
        assert expected in names


@pytest.mark.parametrize(("name", "command"), ALL_COMMANDS, ids=[n for n, _ in ALL_COMMANDS])
def test_every_command_and_group_has_help_text(name: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"{name} has no help text"
    assert command.get_short_help_str().strip()


@pytest.mark.parametrize(("name", "command"), ALL_COMMANDS, ids=[n for n, _ in ALL_COMMANDS])
def test_every_command_help_page_renders(name: str, command: click.Command) -> None:
    args = [] if name == "tianjian-field" else name.split()
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0
    assert (command.help or "").strip().splitlines()[0][:20] in result.output


def test_list_kinds_cover_every_field_kind() -> None:
    assert set(p.FIELD_KINDS) <= set(KIND_NAMES.values())


def _chinese_first(text: str) -> bool:
    first = text.strip()[:1]
    return bool(first) and ("\u4e00" <= first <= "\u9fff" or first in "（“《")


@pytest.mark.parametrize(("name", "command"), ALL_COMMANDS, ids=[n for n, _ in ALL_COMMANDS])
def test_help_texts_are_chinese_first(name: str, command: click.Command) -> None:
    assert _chinese_first(command.help or ""), f"{name}: {command.help!r}"
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert _chinese_first(param.help or ""), f"{name} {param.opts}: {param.help!r}"
