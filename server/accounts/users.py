"""People who open the bureau's pages: users with roles, signing in, and report API tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database
from werkzeug.security import check_password_hash, generate_password_hash

from server.accounts import audit, signins
from server.store.db import write_transaction
from shared.clock import parse_iso, to_iso, utc_now
from shared.errors import TianjianError

ADMIN, STAFF, ENVOY = "admin", "staff", "envoy"
ROLES = (ADMIN, STAFF, ENVOY)
ROLE_LABELS = {ADMIN: "管理员 / admin", STAFF: "工作人员 / staff", ENVOY: "特派员 / envoy"}
# Report API tokens start with this, so nobody mistakes one for a device's sync token.
API_TOKEN_PREFIX = "tjr_"
MIN_PASSWORD_LENGTH = 8
FREE_FAILURES = signins.FREE_FAILURES


class BadUser(TianjianError):
    status = 422


class UnknownUser(TianjianError):
    status = 404
    message = "没有这个用户 / no such user"


class SignInRefused(TianjianError):
    """Name or password wrong: the message never says which."""

    status = 401
    message = "用户名或密码不正确 / wrong name or password"


class TooManyFailures(TianjianError):
    status = 429

    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = wait_seconds
        super().__init__(
            f"尝试次数过多，请 {wait_seconds} 秒后再试 / "
            f"too many failed sign-ins: try again in {wait_seconds} s"
        )


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    envoy_id: str | None
    # The area a bureau user sees (server/accounts/areas.py): a level and the unit's 12-digit
    # code; None for the whole server.
    level: str | None = None
    area: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def may(self, *roles: str) -> bool:
        return self.role in roles


def _user(row: dict[str, Any]) -> User:
    return User(
        row["id"], row["name"], row["role"], row["envoy_id"], row.get("level"), row.get("area")
    )


def add_user(
    db: Database,
    name: str,
    role: str,
    password: str,
    envoy_id: str | None = None,
    by: User | str = audit.SYSTEM,
) -> User:
    """A new user; an envoy user is linked to the envoy record whose figures they may see.
    Audited as done `by` that user (or a name such as the CLI's)."""
    name = name.strip()
    problems: dict[str, object] = {}
    if not 1 <= len(name) <= 40:
        problems["name"] = "用户名须为 1 到 40 个字 / name must be 1 to 40 characters"
    if role not in ROLES:
        problems["role"] = f"角色须为 {', '.join(ROLES)} / role must be one of {', '.join(ROLES)}"
    if len(password) < MIN_PASSWORD_LENGTH:
        problems["password"] = (
            f"密码至少 {MIN_PASSWORD_LENGTH} 位 / password needs {MIN_PASSWORD_LENGTH} characters"
        )
    if role == ENVOY and not envoy_id:
        problems["envoy"] = "特派员用户须关联一位特派员 / an envoy user needs an envoy"
    if role != ENVOY and envoy_id:
        problems["envoy"] = "只有特派员用户关联特派员 / only envoy users have an envoy"
    if envoy_id and not db.execute("SELECT 1 FROM envoys WHERE id = ?", [envoy_id]).fetchone():
        problems["envoy"] = "没有这位特派员 / no such envoy"
    if db.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
        problems["name"] = f"用户名“{name}”已被使用 / name '{name}' is taken"
    if problems:
        listed = "; ".join(f"{field}: {reason}" for field, reason in problems.items())
        raise BadUser(f"用户信息有误 / invalid user: {listed}", problems)
    with write_transaction(db):
        user_id = (
            db.table("users")
            .insert(
                {
                    "name": name,
                    "password_hash": generate_password_hash(password),
                    "role": role,
                    "envoy_id": envoy_id,
                    "created_at": to_iso(utc_now()),
                }
            )
            .last_pk
        )
        after = {"name": name, "role": role, "envoy_id": envoy_id}
        audit.record(db, by, audit.USER_ADD, "user", user_id, None, after)
    return user_by_name(db, name)


def user_by_name(db: Database, name: str) -> User:
    rows = list(db.query("SELECT * FROM users WHERE name = ?", [name.strip()]))
    if not rows:
        raise UnknownUser()
    return _user(rows[0])


def active_user(db: Database, user_id: int) -> User | None:
    """The user a session belongs to, or None once they are removed or disabled."""
    rows = list(db.query("SELECT * FROM users WHERE id = ? AND disabled_at IS NULL", [user_id]))
    return _user(rows[0]) if rows else None


def has_users(db: Database) -> bool:
    return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def list_users(db: Database) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT u.id, u.name, u.role, u.envoy_id, e.name AS envoy, u.created_at, "
            "u.disabled_at, u.last_sign_in_at, u.level, u.area, a.name AS area_name "
            "FROM users u LEFT JOIN envoys e ON e.id = u.envoy_id "
            "LEFT JOIN units a ON a.code = u.area ORDER BY u.disabled_at IS NOT NULL, u.name"
        )
    )


def _name_of(db: Database, user_id: int) -> str:
    row = db.execute("SELECT name FROM users WHERE id = ?", [user_id]).fetchone()
    if not row:
        raise UnknownUser()
    return str(row[0])


def set_password(db: Database, user_id: int, password: str, by: User | str = audit.SYSTEM) -> None:
    """A new password (the audit log says it was reset, never what it is); every page session
    the user had open ends, so a cookie from before the reset opens nothing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadUser(
            "密码太短 / password too short",
            {"password": f"至少 {MIN_PASSWORD_LENGTH} 位 / at least {MIN_PASSWORD_LENGTH}"},
        )
    with write_transaction(db):
        name = _name_of(db, user_id)
        db.execute(
            "UPDATE users SET password_hash = ? WHERE id = ?",
            [generate_password_hash(password), user_id],
        )
        signins.close_sessions_of(db, user_id)
        audit.record(
            db,
            by,
            audit.USER_PASSWORD,
            "user",
            user_id,
            {"name": name},
            {"name": name, "password_reset": True},
        )


def set_disabled(db: Database, user_id: int, disabled: bool, by: User) -> None:
    """Disable or re-enable a user; the last active admin cannot be disabled (nor disable itself)."""
    if disabled and user_id == by.id:
        raise BadUser("不能停用自己 / you cannot disable yourself")
    with write_transaction(db):
        row = db.execute("SELECT name, disabled_at FROM users WHERE id = ?", [user_id]).fetchone()
        if not row:
            raise UnknownUser()
        now = to_iso(utc_now()) if disabled else None
        db.execute("UPDATE users SET disabled_at = ? WHERE id = ?", [now, user_id])
        audit.record(
            db,
            by,
            audit.USER_DISABLE if disabled else audit.USER_ENABLE,
            "user",
            user_id,
            {"name": row[0], "disabled_at": row[1]},
            {"name": row[0], "disabled_at": now},
        )
        admins = db.execute(
            "SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL"
        ).fetchone()[0]
        if admins == 0:
            raise BadUser("至少保留一位管理员 / keep at least one admin")


# ------------------------------------------------------------------------------ signing in


def sign_in(
    db: Database, name: str, password: str, address: str, now: datetime | None = None
) -> User:
    """The user with this name and password; refused without saying which was wrong, and
    made to wait after repeated failures (server/accounts/signins.py)."""
    now = now or utc_now()
    attempt = signins.begin_attempt(db, name, address, now)
    if isinstance(attempt, int):
        raise TooManyFailures(attempt)
    rows = list(
        db.query("SELECT * FROM users WHERE name = ? AND disabled_at IS NULL", [name.strip()])
    )
    # Hash even for an unknown name, so the answer takes as long either way.
    stored = rows[0]["password_hash"] if rows else _dummy_hash()
    if not check_password_hash(stored, password) or not rows:
        raise SignInRefused()
    with write_transaction(db):
        signins.succeeded(db, attempt)
        db.execute(
            "UPDATE users SET last_sign_in_at = ? WHERE id = ?", [to_iso(now), rows[0]["id"]]
        )
    return _user(rows[0])


@functools.cache
def _dummy_hash() -> str:
    # Made on the first sign-in of an unknown name, not at import: every command line and
    # process start imports this module, and a password hash costs a noticeable fraction of a second.
    return generate_password_hash(secrets.token_urlsafe(16))


# ------------------------------------------------------------------------ report API tokens


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(db: Database, label: str, by: User) -> str:
    """A new report API token, shown once; only its hash is kept."""
    label = label.strip()
    if not 1 <= len(label) <= 60:
        raise BadUser(
            "令牌名称有误 / invalid token label",
            {"label": "须为 1 到 60 个字 / 1 to 60 characters"},
        )
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction(db):
        token_id = (
            db.table("api_tokens")
            .insert(
                {
                    "label": label,
                    "token_hash": _digest(token),
                    "created_by": by.id,
                    "created_at": to_iso(utc_now()),
                }
            )
            .last_pk
        )
        # The label only: the token is shown once and stored hashed, never logged.
        audit.record(db, by, audit.TOKEN_ISSUE, "api_token", token_id, None, {"label": label})
    return token


def api_token_valid(db: Database, token: str) -> bool:
    if not token.startswith(API_TOKEN_PREFIX):
        return False
    row = db.execute(
        "SELECT id, last_used_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
        [_digest(token)],
    ).fetchone()
    if not row:
        return False
    now = utc_now()
    # Last use to the minute is enough, and spares most report requests a write.
    if row[1] is None or parse_iso(row[1]) < now - timedelta(minutes=1):
        with write_transaction(db):
            db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [to_iso(now), row[0]])
    return True


def list_api_tokens(db: Database) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT t.id, t.label, u.name AS created_by, t.created_at, t.revoked_at, "
            "t.last_used_at FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by "
            "ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC"
        )
    )


def revoke_api_token(db: Database, token_id: int, by: User | str = audit.SYSTEM) -> bool:
    """Revoke a token; False (and nothing logged) when it is unknown or already revoked."""
    now = to_iso(utc_now())
    with write_transaction(db):
        row = db.execute(
            "SELECT label FROM api_tokens WHERE id = ? AND revoked_at IS NULL", [token_id]
        ).fetchone()
        if not row:
            return False
        db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", [now, token_id])
        audit.record(
            db,
            by,
            audit.TOKEN_REVOKE,
            "api_token",
            token_id,
            {"label": row[0], "revoked_at": None},
            {"label": row[0], "revoked_at": now},
        )
    return True
