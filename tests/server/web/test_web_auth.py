"""Signing in to the bureau's pages: roles, CSRF, cookies, throttling, and the report API's tokens."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from server.accounts import users
from server.cli import cli
from server.store.db import init_db
from server.sync import devices
from shared.clock import utc_now
from tests.helpers import csrf_token, enrolment_code, sign_in
from tests.shared.test_redirects import NASTY, SITE, browser_host

PASSWORD = "correct-horse"


@pytest.fixture
def people(db_path: str, app: Flask) -> dict[str, users.User]:
    db = init_db(db_path)
    try:
        zhang = devices.envoy_by_name(db, "张三")
        return {
            "admin": users.add_user(db, "admin", users.ADMIN, PASSWORD),
            "staff": users.add_user(db, "staff", users.STAFF, PASSWORD),
            "envoy": users.add_user(db, "zhang", users.ENVOY, PASSWORD, zhang["id"]),
        }
    finally:
        db.close()


def client_of(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, name, PASSWORD).status_code == 302
    return client


def test_root_and_pages_send_a_signed_out_visitor_to_sign_in(client: FlaskClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 302
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    assert "登录" in page.get_data(as_text=True)
    answer = client.get("/progress?year=2026")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/signin?next=/progress?year%3D2026"


def test_signed_out_writes_are_refused(client: FlaskClient, people: dict) -> None:
    token = csrf_token(client, "/signin")
    answer = client.post("/admin/users", data={"csrf_token": token, "name": "x"})
    assert answer.status_code == 401
    assert "请先登录" in answer.get_data(as_text=True)


def test_signing_in_goes_back_where_asked_and_never_off_site(
    client: FlaskClient, people: dict
) -> None:
    token = csrf_token(client, "/signin")
    answer = client.post(
        "/signin",
        data={"name": "admin", "password": PASSWORD, "csrf_token": token, "next": "/admin/users"},
    )
    assert answer.headers["Location"] == "/admin/users"
    client.post("/signout", data={"csrf_token": csrf_token(client, "/admin/users")})
    token = csrf_token(client, "/signin")
    answer = client.post(
        "/signin",
        data={"name": "admin", "password": PASSWORD, "csrf_token": token, "next": "//evil.example"},
    )
    assert answer.headers["Location"] == "/"


def test_a_failed_sign_in_does_not_say_which_part_was_wrong(
    client: FlaskClient, people: dict
) -> None:
    wrong_password = sign_in(client, "admin", "not-the-password")
    unknown_name = sign_in(client, "nobody", PASSWORD)
    assert wrong_password.status_code == unknown_name.status_code == 401
    message = "用户名或密码不正确 / wrong name or password"
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown_name.get_data(as_text=True)
    assert client.get("/progress").status_code == 302


def test_repeated_failures_slow_down(db_path: str, people: dict) -> None:
    db = init_db(db_path)
    now = utc_now()
    for _ in range(users.FREE_FAILURES):
        with pytest.raises(users.SignInRefused):
            users.sign_in(db, "admin", "guess", "10.0.0.9", now)
    # Even the right password waits now, and each further failure doubles the wait.
    with pytest.raises(users.TooManyFailures) as first:
        users.sign_in(db, "admin", PASSWORD, "10.0.0.9", now)
    assert first.value.status == 429 and first.value.wait_seconds == 2
    later = now + timedelta(seconds=3)
    with pytest.raises(users.SignInRefused):
        users.sign_in(db, "admin", "guess again", "10.0.0.9", later)
    with pytest.raises(users.TooManyFailures) as second:
        users.sign_in(db, "admin", PASSWORD, "10.0.0.9", later)
    assert second.value.wait_seconds == 4
    assert users.sign_in(db, "admin", PASSWORD, "10.0.0.9", later + timedelta(seconds=5)).name == (
        "admin"
    )
    db.close()


def test_repeated_failures_slow_down_the_sign_in_page(client: FlaskClient, people: dict) -> None:
    for _ in range(users.FREE_FAILURES):
        assert sign_in(client, "staff", "guess").status_code == 401
    answer = sign_in(client, "staff", PASSWORD)
    assert answer.status_code == 429
    assert "秒后再试" in answer.get_data(as_text=True)


def test_forms_without_their_csrf_token_are_refused(app: Flask, people: dict) -> None:
    client = app.test_client()
    answer = client.post("/signin", data={"name": "admin", "password": PASSWORD})
    assert answer.status_code == 400
    assert "安全令牌" in answer.get_data(as_text=True)
    admin = client_of(app, "admin")
    answer = admin.post(
        "/admin/users", data={"name": "new", "role": "staff", "password": "long-enough"}
    )
    assert answer.status_code == 400
    assert not any(
        row["name"] == "new" for row in users.list_users(init_db(app.config["DATABASE"]))
    )


def test_session_cookie_is_http_only_lax_and_expires(app: Flask, people: dict) -> None:
    client = app.test_client()
    answer = sign_in(client, "admin", PASSWORD)
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie


def test_a_session_idle_past_its_lifetime_signs_out(
    app: Flask, people: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    real_time = time.time
    idle = app.permanent_session_lifetime.total_seconds() + 60
    # The cookie is signed with the time of the last request: make that long ago.
    monkeypatch.setattr(time, "time", lambda: real_time() - idle)
    sign_in(client, "admin", PASSWORD)
    assert client.get("/admin/users").status_code == 200
    monkeypatch.setattr(time, "time", real_time)
    assert client.get("/admin/users").status_code == 302


def test_roles_are_enforced_on_pages_and_writes(app: Flask, people: dict) -> None:
    staff, envoy, admin = (client_of(app, name) for name in ("staff", "zhang", "admin"))
    assert admin.get("/admin/users").status_code == 200
    for client in (staff, envoy):
        assert client.get("/admin/users").status_code == 403
        token = csrf_token(client, "/progress")
        answer = client.post(
            "/admin/users",
            data={
                "csrf_token": token,
                "name": "sneaky",
                "role": "admin",
                "password": "long-enough",
            },
        )
        assert answer.status_code == 403
        assert "无权" in answer.get_data(as_text=True)
    token = csrf_token(admin, "/admin/users")
    answer = admin.post(
        "/admin/users",
        data={"csrf_token": token, "name": "new-staff", "role": "staff", "password": "long-enough"},
    )
    assert answer.status_code == 302
    names = {row["name"]: row["role"] for row in users.list_users(init_db(app.config["DATABASE"]))}
    assert names["new-staff"] == "staff" and "sneaky" not in names


def test_a_disabled_user_is_signed_out(app: Flask, people: dict) -> None:
    staff, admin = client_of(app, "staff"), client_of(app, "admin")
    assert staff.get("/progress").status_code == 200
    token = csrf_token(admin, "/admin/users")
    admin.post(f"/admin/users/{people['staff'].id}/disable", data={"csrf_token": token})
    assert staff.get("/progress").status_code == 302
    assert sign_in(app.test_client(), "staff", PASSWORD).status_code == 401


def test_the_report_api_needs_a_sign_in_or_an_api_token(
    app: Flask, client: FlaskClient, people: dict, db_path: str
) -> None:
    path = "/api/v1/reports/2026"
    refused = client.get(path)
    assert refused.status_code == 401
    assert refused.get_json()["message"].startswith("需要登录或 API 令牌")
    # A device's sync token is not a report token.
    device = devices.enrol_device(init_db(db_path), enrolment_code(db_path, "张三"), "手机")
    assert (
        client.get(path, headers={"Authorization": f"Bearer {device['token']}"}).status_code == 401
    )

    admin = client_of(app, "admin")
    page = admin.post(
        "/admin/tokens", data={"csrf_token": csrf_token(admin, "/admin/users"), "label": "省平台"}
    ).get_data(as_text=True)
    token = page.split('id="new-token"')[1].split("<code>")[1].split("</code>")[0]
    assert token.startswith(users.API_TOKEN_PREFIX)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(path, headers=headers).status_code == 200
    stored = init_db(db_path).execute("SELECT token_hash FROM api_tokens").fetchone()[0]
    assert token not in stored

    assert client_of(app, "staff").get(path).status_code == 200
    # An envoy user reads their own figures only: a unit's are refused (server/api/scope.py).
    envoy = client_of(app, "zhang")
    assert envoy.get(path).status_code == 200
    assert envoy.get(f"{path}?unit=530102").status_code == 403

    token_id = users.list_api_tokens(init_db(db_path))[0]["id"]
    admin.post(
        f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(admin, "/admin/users")}
    )
    assert client.get(path, headers=headers).status_code == 401


def test_an_error_in_a_page_is_a_page_in_chinese_or_english(app: Flask, people: dict) -> None:
    admin = client_of(app, "admin")
    answer = admin.get("/progress?year=abc")
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "出错了" in text and "year" in text and "Traceback" not in text
    missing = admin.get("/no-such-page")
    assert missing.status_code == 404
    assert "找不到该资源" in missing.get_data(as_text=True)
    admin.get("/lang/en")
    assert "Something went wrong" in admin.get("/no-such-page").get_data(as_text=True)
    # The API keeps its JSON body.
    assert admin.get("/api/v1/nothing").get_json()["code"] == 404


def test_pages_are_chinese_first_and_english_on_request(app: Flask, people: dict) -> None:
    admin = client_of(app, "admin")
    page = admin.get("/progress?year=2026").get_data(as_text=True)
    assert '<meta name="renderer" content="webkit">' in page
    assert "目标进度" in page and 'lang="zh-CN"' in page
    admin.get("/lang/en")
    page = admin.get("/progress?year=2026").get_data(as_text=True)
    assert 'lang="en"' in page and "Progress" in page


def test_cli_adds_the_first_admin_from_a_password_file(
    runner: FlaskCliRunner, db_path: str, tmp_path: Path
) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text("s3cret-enough\n", encoding="utf-8")
    result = runner.invoke(
        cli,
        [
            "--db",
            db_path,
            "users",
            "add",
            "王科长",
            "--role",
            "admin",
            "--password-file",
            str(secret),
        ],
    )
    assert result.exit_code == 0, result.output
    db = init_db(db_path)
    assert users.sign_in(db, "王科长", "s3cret-enough", "cli").role == users.ADMIN
    result = runner.invoke(
        cli,
        [
            "--db",
            db_path,
            "users",
            "add",
            "李四",
            "--role",
            "envoy",
            "--password-file",
            str(secret),
        ],
    )
    assert result.exit_code == 1
    assert "特派员用户须关联一位特派员" in result.output
    result = runner.invoke(
        cli,
        ["--db", db_path, "users", "add", "lisi", "--role", "envoy", "--envoy", "李梅"],
        env={"TIANJIAN_PASSWORD": "another-secret"},
    )
    assert result.exit_code == 0, result.output
    assert users.user_by_name(db, "lisi").envoy_id == devices.envoy_by_name(db, "李梅")["id"]


PUBLIC = {"auth.sign_in", "switch_language", "static", "root", "favicon"}
# Farmers check themselves in from the phone app's QR without an account.
PUBLIC |= {"farmer_checkin.checkin_page"}
# The phone app's files (server/phone_app): the shell holds no records, it reads them through
# the API with its device token.
PUBLIC_PREFIXES = ("phone_app.",)


def page_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) of every page route, its arguments filled with dummies."""
    found = []
    for rule in app.url_map.iter_rules():
        if (
            rule.rule.startswith("/api")
            or rule.endpoint in PUBLIC
            or rule.endpoint.startswith(PUBLIC_PREFIXES)
        ):
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = re.sub(rf"<(?:[a-z]+:)?{argument}>", "1", path)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            found.append((rule.endpoint, method, path))
    return found


def test_every_page_sends_a_signed_out_visitor_away(app: Flask, client: FlaskClient) -> None:
    rules = page_rules(app)
    assert len(rules) > 20
    token = csrf_token(client, "/signin")
    for endpoint, method, path in rules:
        if endpoint == "auth.sign_out":
            continue  # signing out while signed out does no harm
        if method == "GET":
            answer = client.get(path)
            assert answer.status_code == 302, (endpoint, path)
            assert answer.headers["Location"].startswith("/signin"), (endpoint, path)
        else:
            answer = client.post(path, data={"csrf_token": token})
            assert answer.status_code == 401, (endpoint, path, answer.status_code)


def test_every_form_post_needs_its_csrf_token(app: Flask, people: dict) -> None:
    admin = client_of(app, "admin")
    posts = [(endpoint, path) for endpoint, method, path in page_rules(app) if method == "POST"]
    assert len(posts) >= 10
    for endpoint, path in [*posts, ("auth.sign_in", "/signin")]:
        answer = admin.post(path, data={"name": "x"})
        assert answer.status_code == 400, (endpoint, path, answer.status_code)
        assert "安全令牌" in answer.get_data(as_text=True)


def test_an_admin_resets_a_password_on_the_users_page(app: Flask, people: dict) -> None:
    admin = client_of(app, "admin")
    token = csrf_token(admin, "/admin/users")
    answer = admin.post(
        f"/admin/users/{people['staff'].id}/password",
        data={"csrf_token": token, "password": "brand-new-secret"},
    )
    assert answer.status_code == 302
    assert sign_in(app.test_client(), "staff", PASSWORD).status_code == 401
    assert sign_in(app.test_client(), "staff", "brand-new-secret").status_code == 302
    short = admin.post(
        f"/admin/users/{people['staff'].id}/password", data={"csrf_token": token, "password": "x"}
    )
    assert short.status_code == 422 and "password" in short.get_data(as_text=True)


def test_no_redirect_leaves_the_site(app: Flask, people: dict) -> None:
    """`/lang/…?next=` (no sign-in needed), `/signin?next=` signed in, and the sign-in form's
    `next` all follow only paths on this site (shared/redirects.py), for a class of inputs."""
    signed_out = app.test_client()
    admin = client_of(app, "admin")
    for target in NASTY:
        answers = [
            signed_out.get("/lang/en", query_string={"next": target}),
            admin.get("/signin", query_string={"next": target}),
        ]
        client = app.test_client()
        token = csrf_token(client, "/signin")
        answers.append(
            client.post(
                "/signin",
                data={"name": "admin", "password": PASSWORD, "csrf_token": token, "next": target},
            )
        )
        for answer in answers:
            assert answer.status_code == 302
            assert browser_host(answer.headers["Location"]) == urlsplit(SITE).netloc, target
            assert answer.headers["Location"].startswith("/") and "evil" not in answer.location
    assert signed_out.get("/lang/en?next=/records/sessions").location == "/records/sessions"


def test_a_cookie_saved_before_signing_out_opens_nothing(app: Flask, people: dict) -> None:
    staff = client_of(app, "staff")
    saved = staff.get_cookie("session").value
    assert staff.get("/progress").status_code == 200
    staff.post("/signout", data={"csrf_token": csrf_token(staff, "/progress")})
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/progress").status_code == 302


def test_a_password_reset_ends_the_users_sessions(app: Flask, people: dict) -> None:
    staff, admin = client_of(app, "staff"), client_of(app, "admin")
    other_browser = client_of(app, "staff")
    assert staff.get("/progress").status_code == 200
    token = csrf_token(admin, "/admin/users")
    admin.post(
        f"/admin/users/{people['staff'].id}/password",
        data={"csrf_token": token, "password": "brand-new-secret"},
    )
    for client in (staff, other_browser):
        assert client.get("/progress").status_code == 302
    # The admin's own session, and the user's new sign-in, carry on.
    assert admin.get("/admin/users").status_code == 200
    assert sign_in(app.test_client(), "staff", "brand-new-secret").status_code == 302


def from_address(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_wrong_passwords_from_other_addresses_do_not_lock_a_user_out(
    app: Flask, people: dict
) -> None:
    for n in range(3 * users.FREE_FAILURES):
        assert sign_in(from_address(app, f"10.9.0.{n}"), "staff", "guess").status_code == 401
    # A stranger who failed already waits for the name's failures...
    assert sign_in(from_address(app, "10.9.0.1"), "staff", PASSWORD).status_code == 429
    # ...the user at an address with no failures gets straight in.
    assert sign_in(from_address(app, "10.1.1.1"), "staff", PASSWORD).status_code == 302
