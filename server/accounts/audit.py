"""The audit log: one row per staff action (who, when, what, before and after), written in the
same transaction as the action, so an action is never kept without its entry nor the reverse."""

from __future__ import annotations

import getpass
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlite_utils import Database

from server.store import dialect
from shared.clock import to_iso, utc_now
from shared.errors import TianjianError

# Actions, spelt once; the page shows them through ACTION_LABELS.
REVIEW = "review"
REVIEW_CORRECTED = "review.corrected"
FARMER_MERGE = "farmer.merge"
CANDIDATE_DISMISS = "farmer.dismiss"
TARGET_SET = "target.set"
TARGET_DELETE = "target.delete"
TARGET_UPLOAD = "target.upload"
TARGET_PROFILE = "target.profile"
DEVICE_REVOKE = "device.revoke"
HELD_DROP = "held.drop"
USER_ADD = "user.add"
USER_DISABLE = "user.disable"
USER_ENABLE = "user.enable"
USER_PASSWORD = "user.password"
USER_AREA = "user.area"
TOKEN_ISSUE = "token.issue"
TOKEN_REVOKE = "token.revoke"
ACTIONS = (
    REVIEW,
    REVIEW_CORRECTED,
    FARMER_MERGE,
    CANDIDATE_DISMISS,
    TARGET_SET,
    TARGET_DELETE,
    TARGET_UPLOAD,
    TARGET_PROFILE,
    DEVICE_REVOKE,
    HELD_DROP,
    USER_ADD,
    USER_DISABLE,
    USER_ENABLE,
    USER_PASSWORD,
    USER_AREA,
    TOKEN_ISSUE,
    TOKEN_REVOKE,
)
# Who acts when no one is named: set-up scripts and tests; pages and the CLI always say who.
SYSTEM = "system"
# Words that never go into before/after: a log readable by staff must not carry secrets.
SECRET_KEYS = frozenset({"password", "password_hash", "token", "token_hash", "code_hash"})


class SecretInAuditLog(TianjianError):
    """A programming error: something tried to log a password or token (nothing is written)."""

    status = 500
    message = "审计日志不能记录密码或令牌 / passwords and tokens never go into the audit log"


def cli_actor() -> str:
    """The name the command line acts under: "cli" and the account running it, when known."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def _json(value: Any) -> str | None:
    if value is None:
        return None
    _check_no_secrets(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _check_no_secrets(value: Any) -> None:
    if isinstance(value, dict):
        leaked = SECRET_KEYS & set(value)
        if leaked:
            raise SecretInAuditLog(errors={key: "secret" for key in sorted(leaked)})
        for inner in value.values():
            _check_no_secrets(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            _check_no_secrets(inner)


class Actor(Protocol):
    """Who acts, as the log names them: a signed-in user (server/accounts/users.py's User)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


def record(
    db: Database,
    user: Actor | str,
    action: str,
    target_kind: str,
    target_id: object,
    before: Any,
    after: Any,
) -> int:
    """Write one audit row inside the caller's open write transaction; its id.

    `user` is the signed-in user, or a name such as "cli:root" when the command line acts."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    name = user if isinstance(user, str) else user.name
    user_id = None if isinstance(user, str) else user.id
    cursor = db.execute(
        "INSERT INTO audit_log (at, user_id, user_name, action, target_kind, target_id, "
        "before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        # PostgreSQL has no last row id: it says the new id itself.
        + (" RETURNING id" if dialect.is_postgresql(db) else ""),
        [
            to_iso(utc_now()),
            user_id,
            name,
            action,
            target_kind,
            None if target_id is None else str(target_id),
            _json(before),
            _json(after),
        ],
    )
    if dialect.is_postgresql(db):
        return int(cursor.fetchone()[0])
    return int(cursor.lastrowid or 0)


@dataclass(frozen=True)
class Entry:
    """One audit row as read back, before and after decoded."""

    id: int
    at: str
    user_id: int | None
    user_name: str | None
    action: str
    target_kind: str | None
    target_id: str | None
    before: Any
    after: Any

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for each field that differs, for a readable line."""
        old = self.before if isinstance(self.before, dict) else {}
        new = self.after if isinstance(self.after, dict) else {}
        if not isinstance(self.before, dict | None) or not isinstance(self.after, dict | None):
            return [("", self.before, self.after)]
        return [
            (key, old.get(key), new.get(key))
            for key in dict.fromkeys([*old, *new])
            if old.get(key) != new.get(key)
        ]


def _entry(row: dict[str, Any]) -> Entry:
    return Entry(
        id=row["id"],
        at=row["at"],
        user_id=row["user_id"],
        user_name=row["user_name"],
        action=row["action"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        before=json.loads(row["before"]) if row["before"] else None,
        after=json.loads(row["after"]) if row["after"] else None,
    )


def _where(
    action: str | None, user_name: str | None, among: Sequence[str] | None = None
) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if among is not None:
        # Only what these users did (a reader with an area: its users, server/api/scope.py).
        clauses.append(f"user_name IN ({','.join('?' * len(among))})" if among else "1 = 0")
        params += list(among)
    if action:
        # "target" picks every target action, "target.set" just that one.
        clauses.append("(action = ? OR action LIKE ?)")
        params += [action, f"{action}.%"]
    if user_name:
        clauses.append("user_name = ?")
        params.append(user_name)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def entries(
    db: Database,
    limit: int,
    offset: int = 0,
    action: str | None = None,
    user_name: str | None = None,
    among: Sequence[str] | None = None,
) -> list[Entry]:
    """The log newest first, optionally one action (or family, e.g. "target") and one user, or
    only what the users `among` did."""
    where, params = _where(action, user_name, among)
    return [
        _entry(row)
        for row in db.query(
            f"SELECT * FROM audit_log{where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
    ]


def count(
    db: Database,
    action: str | None = None,
    user_name: str | None = None,
    among: Sequence[str] | None = None,
) -> int:
    where, params = _where(action, user_name, among)
    return int(db.execute(f"SELECT count(*) FROM audit_log{where}", params).fetchone()[0])


def user_names(db: Database) -> list[str]:
    """Everyone who appears in the log, for the page's filter."""
    return [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT user_name FROM audit_log WHERE user_name IS NOT NULL ORDER BY 1"
        )
    ]


def entries_for(
    db: Database, target_kind: str, target_id: str, actions: tuple[str, ...]
) -> list[Entry]:
    """What was done to one thing, newest first."""
    marks = ",".join("?" * len(actions))
    return [
        _entry(row)
        for row in db.query(
            f"SELECT * FROM audit_log WHERE target_kind = ? AND target_id = ? "
            f"AND action IN ({marks}) ORDER BY id DESC",
            [target_kind, target_id, *actions],
        )
    ]
