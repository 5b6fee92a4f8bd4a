"""Every staff action, on the pages and on the command line, writes one audit row saying who,
what, before and after, in the same transaction as the action (nothing logged when it fails)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlite_utils import Database

from server.accounts import audit, users
from server.cli import cli
from server.store.db import init_db
from server.sync import apply_push
from shared import protocol as p
from shared.ids import new_id
from tests.helpers import DATA, csrf_token, results_of, sign_in
from tests.server.fieldwork import Envoy

PASSWORD = "audit-password"
MOBILE = "13700001111"


@pytest.fixture
def bureau(app: Flask, db_path: str) -> Iterator[dict[str, Any]]:
    db = init_db(db_path)
    zhang, li = Envoy(db, "张三"), Envoy(db, "李梅")
    admin = users.add_user(db, "admin", users.ADMIN, PASSWORD)
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    yield {"db": db, "zhang": zhang, "li": li, "admin": admin}
    db.close()


def client_of(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, name, PASSWORD).status_code == 302
    return client


def last_id(db: Database) -> int:
    return int(db.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0])


def entries_since(db: Database, since: int) -> list[dict[str, Any]]:
    rows = list(db.query("SELECT * FROM audit_log WHERE id > ? ORDER BY id", [since]))
    for row in rows:
        row["before"] = json.loads(row["before"]) if row["before"] else None
        row["after"] = json.loads(row["after"]) if row["after"] else None
    return rows


def one_entry(db: Database, since: int, action: str, user_name: str) -> dict[str, Any]:
    rows = entries_since(db, since)
    assert len(rows) == 1, rows
    [row] = rows
    assert row["action"] == action
    assert row["user_name"] == user_name
    assert row["at"].endswith("Z")
    return row


def post(client: FlaskClient, path: str, form_page: str, **data: Any) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, form_page), **data})


def candidate_pair(bureau: dict[str, Any]) -> tuple[int, str, str]:
    first = bureau["zhang"].farmer("郑六", mobile=MOBILE)
    second = bureau["li"].farmer("郑陆", mobile=MOBILE)
    row = (
        bureau["db"]
        .execute(
            "SELECT id, farmer_a, farmer_b FROM merge_candidates WHERE resolved_at IS NULL "
            "AND farmer_a IN (?, ?)",
            [first, second],
        )
        .fetchone()
    )
    assert row
    return int(row[0]), row[1], row[2]


# ------------------------------------------------------------------------------- on the pages


def test_a_merge_on_the_page_is_logged_without_the_mobile(
    app: Flask, bureau: dict[str, Any]
) -> None:
    db = bureau["db"]
    pair, farmer_a, farmer_b = candidate_pair(bureau)
    since = last_id(db)
    staff = client_of(app, "staff")
    done = post(staff, f"/staff/candidates/{pair}/merge", "/staff/candidates", keep="b")
    assert done.status_code == 302
    entry = one_entry(db, since, audit.FARMER_MERGE, "staff")
    assert (entry["target_kind"], entry["target_id"]) == ("farmer", farmer_a)
    assert entry["before"]["merged_into"] is None
    assert entry["after"]["merged_into"]["id"] == farmer_b
    assert entry["after"]["candidate"] == pair
    assert {entry["before"]["farmer"]["name"], entry["after"]["merged_into"]["name"]} == {
        "郑六",
        "郑陆",
    }
    assert MOBILE not in json.dumps(entry, ensure_ascii=False)
    # Merging again: refused, nothing more logged.
    again = post(staff, f"/staff/candidates/{pair}/merge", "/staff/candidates", keep="b")
    assert again.status_code == 404
    assert entries_since(db, since) == [entry]


def test_a_dismissal_on_the_page_is_logged(app: Flask, bureau: dict[str, Any]) -> None:
    db = bureau["db"]
    pair, farmer_a, farmer_b = candidate_pair(bureau)
    since = last_id(db)
    staff = client_of(app, "staff")
    assert post(staff, f"/staff/candidates/{pair}/dismiss", "/staff/candidates").status_code == 302
    entry = one_entry(db, since, audit.CANDIDATE_DISMISS, "staff")
    assert (entry["target_kind"], entry["target_id"]) == ("merge_candidate", str(pair))
    assert entry["before"]["resolution"] is None
    assert entry["after"]["resolution"] == "different_people"
    assert (entry["after"]["a"]["id"], entry["after"]["b"]["id"]) == (farmer_a, farmer_b)


TARGET_FORM = {
    "year": "2026",
    "unit_code": "530102001000",
    "indicator": "village_trainings",
    "comparator": ">=",
}
TARGET_ID = "2026:530102001000:village_trainings"


def test_setting_and_deleting_a_target_are_logged_with_before_and_after(
    app: Flask, bureau: dict[str, Any]
) -> None:
    db = bureau["db"]
    admin = client_of(app, "admin")
    since = last_id(db)
    assert post(admin, "/targets/", "/targets/", **TARGET_FORM, value="4").status_code == 302
    first = one_entry(db, since, audit.TARGET_SET, "admin")
    assert first["target_id"] == TARGET_ID
    assert first["before"] is None
    assert first["after"]["value"] == 4 and first["after"]["comparator"] == ">="
    since = last_id(db)
    assert post(admin, "/targets/", "/targets/", **TARGET_FORM, value="6").status_code == 302
    second = one_entry(db, since, audit.TARGET_SET, "admin")
    assert (second["before"]["value"], second["after"]["value"]) == (4, 6)
    since = last_id(db)
    deleted = post(admin, f"/targets/{TARGET_ID}/delete?year=2026", "/targets/")
    assert deleted.status_code == 302
    gone = one_entry(db, since, audit.TARGET_DELETE, "admin")
    assert gone["before"]["value"] == 6 and gone["after"] is None
    # A bad target: refused, nothing logged.
    since = last_id(db)
    assert post(admin, "/targets/", "/targets/", **TARGET_FORM, value="-1").status_code == 422
    assert entries_since(db, since) == []


def test_a_targets_upload_is_one_entry_naming_the_file(app: Flask, bureau: dict[str, Any]) -> None:
    db = bureau["db"]
    admin = client_of(app, "admin")
    assert post(admin, "/targets/", "/targets/", **TARGET_FORM, value="4").status_code == 302
    since = last_id(db)
    body = "指标,比较,目标值,单位代码\n进村培训次数,不少于,9,530102001000\n培训人次,超过,50,530102001000\n"
    loaded = admin.post(
        "/targets/upload?year=2026",
        data={
            "csrf_token": csrf_token(admin, "/targets/"),
            "file": (io.BytesIO(body.encode()), "县目标.csv"),
        },
        content_type="multipart/form-data",
    )
    assert loaded.status_code == 302
    entry = one_entry(db, since, audit.TARGET_UPLOAD, "admin")
    assert (entry["target_kind"], entry["target_id"]) == ("targets_file", "县目标.csv")
    assert entry["before"] == {TARGET_ID: ">= 4"}
    assert entry["after"] == {
        TARGET_ID: ">= 9",
        "2026:530102001000:trainee_attendances": "> 50",
    }


def test_the_monthly_profile_set_and_cleared_is_logged(app: Flask, bureau: dict[str, Any]) -> None:
    db = bureau["db"]
    admin = client_of(app, "admin")
    since = last_id(db)
    shares = {f"m{month}": str(month * 5 if month < 12 else 100) for month in range(1, 13)}
    assert post(admin, "/targets/profile?year=2026", "/targets/", **shares).status_code == 302
    entry = one_entry(db, since, audit.TARGET_PROFILE, "admin")
    assert entry["target_id"] == "2026"
    assert entry["before"] == {"shares": "even"}
    assert entry["after"]["shares"][0] == 0.05 and entry["after"]["shares"][-1] == 1
    since = last_id(db)
    assert post(admin, "/targets/profile?year=2026", "/targets/", even="1").status_code == 302
    cleared = one_entry(db, since, audit.TARGET_PROFILE, "admin")
    assert cleared["before"] == entry["after"] and cleared["after"] == {"shares": "even"}


def test_a_device_revocation_is_logged(app: Flask, bureau: dict[str, Any]) -> None:
    db = bureau["db"]
    device_id = bureau["zhang"].device.id
    admin = client_of(app, "admin")
    since = last_id(db)
    revoked = post(admin, f"/staff/devices/{device_id}/revoke", "/staff/devices")
    assert revoked.status_code == 302
    entry = one_entry(db, since, audit.DEVICE_REVOKE, "admin")
    assert (entry["target_kind"], entry["target_id"]) == ("device", device_id)
    assert entry["before"]["revoked_at"] is None and entry["after"]["revoked_at"]
    assert entry["after"]["envoy"] == "张三"
    # Revoking again is refused and logs nothing.
    since = last_id(db)
    assert post(admin, f"/staff/devices/{device_id}/revoke", "/staff/devices").status_code == 404
    assert entries_since(db, since) == []


def test_user_changes_are_logged_without_passwords(app: Flask, bureau: dict[str, Any]) -> None:
    db = bureau["db"]
    admin = client_of(app, "admin")
    since = last_id(db)
    added = post(
        admin, "/admin/users", "/admin/users", name="王五", role="staff", password="secret-wang5"
    )
    assert added.status_code == 302
    entry = one_entry(db, since, audit.USER_ADD, "admin")
    assert entry["user_id"] == bureau["admin"].id
    assert entry["before"] is None
    assert entry["after"] == {"name": "王五", "role": "staff", "envoy_id": None}
    wang = users.user_by_name(db, "王五")
    assert entry["target_id"] == str(wang.id)

    since = last_id(db)
    assert post(admin, f"/admin/users/{wang.id}/disable", "/admin/users").status_code == 302
    disabled = one_entry(db, since, audit.USER_DISABLE, "admin")
    assert disabled["before"]["disabled_at"] is None and disabled["after"]["disabled_at"]

    since = last_id(db)
    assert (
        post(admin, f"/admin/users/{wang.id}/disable", "/admin/users", enable="1").status_code
        == 302
    )
    enabled = one_entry(db, since, audit.USER_ENABLE, "admin")
    assert enabled["before"]["disabled_at"] and enabled["after"]["disabled_at"] is None

    since = last_id(db)
    reset = post(admin, f"/admin/users/{wang.id}/password", "/admin/users", password="new-wang5-pw")
    assert reset.status_code == 302
    changed = one_entry(db, since, audit.USER_PASSWORD, "admin")
    assert changed["after"] == {"name": "王五", "password_reset": True}

    # Disabling the last admin (oneself) is refused: nothing logged.
    since = last_id(db)
    refused = post(admin, f"/admin/users/{bureau['admin'].id}/disable", "/admin/users")
    assert refused.status_code == 422
    assert entries_since(db, since) == []

    everything = json.dumps(list(db.query("SELECT * FROM audit_log")), ensure_ascii=False)
    assert "secret-wang5" not in everything and "new-wang5-pw" not in everything
    assert "pbkdf2" not in everything and "scrypt" not in everything


def test_api_tokens_issued_and_revoked_are_logged_without_the_token(
    app: Flask, bureau: dict[str, Any]
) -> None:
    db = bureau["db"]
    admin = client_of(app, "admin")
    since = last_id(db)
    page = post(admin, "/admin/tokens", "/admin/users", label="省厅报表").get_data(as_text=True)
    token = page.split("<code>")[1].split("</code>")[0]
    assert token.startswith(users.API_TOKEN_PREFIX)
    issued = one_entry(db, since, audit.TOKEN_ISSUE, "admin")
    assert issued["after"] == {"label": "省厅报表"}
    token_id = int(issued["target_id"])
    since = last_id(db)
    assert post(admin, f"/admin/tokens/{token_id}/revoke", "/admin/users").status_code == 302
    revoked = one_entry(db, since, audit.TOKEN_REVOKE, "admin")
    assert revoked["before"] == {"label": "省厅报表", "revoked_at": None}
    assert revoked["after"]["revoked_at"]
    everything = json.dumps(list(db.query("SELECT * FROM audit_log")), ensure_ascii=False)
    assert token not in everything and token[4:20] not in everything


def test_the_log_refuses_secrets_and_writes_nothing(bureau: dict[str, Any]) -> None:
    db = bureau["db"]
    since = last_id(db)
    db.execute("BEGIN IMMEDIATE")
    with pytest.raises(audit.SecretInAuditLog):
        audit.record(db, "cli", audit.USER_ADD, "user", 1, None, {"name": "x", "password": "y"})
    db.execute("ROLLBACK")
    assert entries_since(db, since) == []


# -------------------------------------------------------------------------- on the command line


def cli_ok(db_path: str, *args: str) -> str:
    result = CliRunner().invoke(
        cli, ["--db", db_path, *args], env={"TIANJIAN_PASSWORD": "cli-pw-123"}
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_the_command_line_is_logged_as_cli(db_path: str, bureau: dict[str, Any]) -> None:
    db = bureau["db"]
    actor = audit.cli_actor()
    assert actor.startswith("cli")

    since = last_id(db)
    cli_ok(db_path, "users", "add", "赵科员", "--role", "staff")
    added = one_entry(db, since, audit.USER_ADD, actor)
    assert added["user_id"] is None and added["after"]["name"] == "赵科员"

    pair, farmer_a, farmer_b = candidate_pair(bureau)
    since = last_id(db)
    cli_ok(db_path, "farmers", "dismiss", str(pair))
    assert one_entry(db, since, audit.CANDIDATE_DISMISS, actor)["target_id"] == str(pair)

    since = last_id(db)
    cli_ok(db_path, "farmers", "merge", farmer_b, farmer_a)
    merged = one_entry(db, since, audit.FARMER_MERGE, actor)
    assert merged["target_id"] == farmer_b and merged["after"]["merged_into"]["id"] == farmer_a

    since = last_id(db)
    cli_ok(db_path, "targets", "load", str(DATA / "targets.yaml"))
    loaded = one_entry(db, since, audit.TARGET_UPLOAD, actor)
    assert loaded["target_id"].endswith("targets.yaml") and loaded["after"]

    device = bureau["li"].device
    since = last_id(db)
    cli_ok(db_path, "devices", "revoke", device.id)
    assert one_entry(db, since, audit.DEVICE_REVOKE, actor)["target_id"] == device.id


def test_held_changes_dropped_on_the_command_line_are_logged(
    db_path: str, bureau: dict[str, Any]
) -> None:
    db = bureau["db"]
    zhang = bureau["zhang"]
    farmer, missing = zhang.farmer("吴刚"), new_id()
    change = {
        "q": 99,
        "k": p.ATTENDANCE,
        "h": zhang.stamp(),
        "b": None,
        "f": {
            "session_id": missing,
            "farmer_id": farmer,
            "checked_in_at": "2026-05-01T01:30:00Z",
            "method": "qr_self",
        },
    }
    [answer] = results_of(apply_push(db, zhang.device, [change]))
    assert answer["s"] == p.HELD
    since = last_id(db)
    cli_ok(db_path, "held", "drop", "--device", zhang.device.id)
    entry = one_entry(db, since, audit.HELD_DROP, audit.cli_actor())
    assert (entry["target_kind"], entry["target_id"]) == ("device", zhang.device.id)
    assert entry["before"]["count"] == 1 and entry["after"] == {"count": 0}
    assert entry["before"]["held"][0]["waiting_for"] == f"session {missing}"
    # Nothing held any more: nothing dropped, nothing logged.
    since = last_id(db)
    cli_ok(db_path, "held", "drop", "--device", zhang.device.id)
    assert entries_since(db, since) == []


def test_set_up_without_a_named_user_is_logged_as_system(bureau: dict[str, Any]) -> None:
    [entry] = [
        row
        for row in bureau["db"].query("SELECT * FROM audit_log WHERE action = 'user.add'")
        if json.loads(row["after"])["name"] == "staff"
    ]
    assert entry["user_name"] == audit.SYSTEM


# ------------------------------------------------------------------------------ the log page


def test_the_audit_page_lists_newest_first_filters_and_pages(
    app: Flask, bureau: dict[str, Any]
) -> None:
    db = bureau["db"]
    envoy_user = users.add_user(db, "zhang", users.ENVOY, PASSWORD, bureau["zhang"].envoy_id)
    assert envoy_user.role == users.ENVOY
    db.execute("BEGIN IMMEDIATE")
    for number in range(60):
        audit.record(
            db, "cli:root", audit.TARGET_DELETE, "target", f"t{number:02d}", {"value": number}, None
        )
    db.execute("COMMIT")
    admin = client_of(app, "admin")
    assert post(admin, "/admin/tokens", "/admin/users", label="省厅报表").status_code == 200

    staff = client_of(app, "staff")
    first = staff.get("/audit").get_data(as_text=True)
    rows = first.split('<tr data-action="')[1:]
    assert len(rows) == 50
    assert rows[0].startswith(audit.TOKEN_ISSUE) and "省厅报表" in rows[0] and "admin" in rows[0]
    assert "开设接口令牌" in rows[0]
    # Times in China time: the entry was written moments ago in UTC, shown 8 hours on.
    [at] = [row["at"] for row in db.query("SELECT at FROM audit_log ORDER BY id DESC LIMIT 1")]
    from server.web.formatting import local_datetime

    with app.test_request_context():
        assert local_datetime(at) in rows[0]
    assert "t59" in rows[1] and "共 " in first
    second = staff.get("/audit?page=2").get_data(as_text=True)
    assert "t00" in second and "t59" not in second

    only_cli = staff.get("/audit?user=cli:root&action=target").get_data(as_text=True)
    assert only_cli.count('<tr data-action="target.delete"') == 50
    assert "省厅报表" not in only_cli
    tokens = staff.get("/audit?action=token.issue").get_data(as_text=True)
    assert tokens.count('<tr data-action="') == 1
    bad = staff.get("/audit?action=nonsense")
    assert bad.status_code == 422 and "没有这种操作" in bad.get_data(as_text=True)

    envoy = client_of(app, "zhang")
    assert envoy.get("/audit").status_code == 403
    assert app.test_client().get("/audit").status_code == 302
    english = app.test_client()
    assert sign_in(english, "staff", PASSWORD).status_code == 302
    english.get("/lang/en")
    page = english.get("/audit?action=token.issue").get_data(as_text=True)
    assert "Audit log" in page and "Issue API token" in page
