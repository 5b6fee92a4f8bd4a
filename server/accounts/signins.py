"""Signing in to the bureau's pages: wrong passwords slowed per address and per name, and each
page session kept server-side so signing out or a password reset ends it."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from server.store.db import write_transaction
from shared.clock import parse_iso, to_iso, utc_now

# After this many failures in a row a name (or an address) must wait before trying again,
# twice as long after each further failure, up to the cap.
FREE_FAILURES = 3
MAX_WAIT_SECONDS = 15 * 60
# Page-session rows not seen for this long are removed when someone signs in (the cookie
# expired long before: sessions end after TIANJIAN_SESSION_IDLE_MINUTES idle).
SESSION_ROW_DAYS = 30
# A session's last use is written at most this often: enough to prune by, without a write
# on every page.
SEEN_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Attempt:
    """One sign-in try, counted as a failure before its password is compared."""

    name_key: str
    address_key: str


def _keys(name: str, address: str) -> Attempt:
    return Attempt(f"name:{name.strip().lower()}", f"addr:{address}")


def begin_attempt(db: Database, name: str, address: str, now: datetime) -> Attempt | int:
    """Count this try as a failure of its name and address, or return the seconds to wait.

    The address waits after its own failures. The name's failures make only addresses that
    have failed themselves wait: so strangers guessing a user's password from elsewhere slow
    each other down but never lock the user out of an address they have not failed from.
    Checked and counted in one write transaction, so a burst of tries at once cannot all pass
    before any is counted; `succeeded` takes a right password's count back.
    """
    attempt = _keys(name, address)
    with write_transaction(db):
        address_failures, address_wait = _failures(db, attempt.address_key, now)
        wait = address_wait
        if address_failures > 0:
            wait = max(wait, _failures(db, attempt.name_key, now)[1])
        if wait > 0:
            return wait
        for key in (attempt.name_key, attempt.address_key):
            db.execute(
                "INSERT INTO sign_in_failures (key, failures, last_failed_at) VALUES (?, 1, ?) "
                "ON CONFLICT(key) DO UPDATE SET failures = sign_in_failures.failures + 1, "
                "last_failed_at = excluded.last_failed_at",
                [key, to_iso(now)],
            )
    return attempt


def succeeded(db: Database, attempt: Attempt) -> None:
    """A right password: the name starts afresh, the address loses this try's count."""
    db.execute("DELETE FROM sign_in_failures WHERE key = ?", [attempt.name_key])
    db.execute(
        "UPDATE sign_in_failures SET failures = failures - 1 WHERE key = ?", [attempt.address_key]
    )
    db.execute(
        "DELETE FROM sign_in_failures WHERE key = ? AND failures <= 0", [attempt.address_key]
    )


def _failures(db: Database, key: str, now: datetime) -> tuple[int, int]:
    """The key's failures in a row and the seconds it must still wait."""
    row = db.execute(
        "SELECT failures, last_failed_at FROM sign_in_failures WHERE key = ?", [key]
    ).fetchone()
    if not row:
        return 0, 0
    if row[0] < FREE_FAILURES:
        return int(row[0]), 0
    wait = min(2 ** (row[0] - FREE_FAILURES + 1), MAX_WAIT_SECONDS)
    until = parse_iso(row[1]) + timedelta(seconds=wait)
    return int(row[0]), max(0, int((until - now).total_seconds() + 0.999))


# ------------------------------------------------------------------------------ page sessions


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(db: Database, user_id: int, now: datetime | None = None) -> str:
    """A new page session's token for the signed cookie; only its hash is kept."""
    now = now or utc_now()
    token = secrets.token_urlsafe(32)
    with write_transaction(db):
        db.execute(
            "DELETE FROM web_sessions WHERE last_seen_at < ?",
            [to_iso(now - timedelta(days=SESSION_ROW_DAYS))],
        )
        db.execute(
            "INSERT INTO web_sessions (token_hash, user_id, created_at, last_seen_at) "
            "VALUES (?, ?, ?, ?)",
            [_digest(token), user_id, to_iso(now), to_iso(now)],
        )
    return token


def session_user(db: Database, token: str) -> int | None:
    """The user whose page session this token opens, or None once it was ended."""
    row = db.execute(
        "SELECT user_id, last_seen_at FROM web_sessions WHERE token_hash = ?", [_digest(token)]
    ).fetchone()
    if not row:
        return None
    now = utc_now()
    if parse_iso(row[1]) < now - SEEN_EVERY:
        with write_transaction(db):
            db.execute(
                "UPDATE web_sessions SET last_seen_at = ? WHERE token_hash = ?",
                [to_iso(now), _digest(token)],
            )
    return int(row[0])


def close_session(db: Database, token: str) -> None:
    with write_transaction(db):
        db.execute("DELETE FROM web_sessions WHERE token_hash = ?", [_digest(token)])


def close_sessions_of(db: Database, user_id: int) -> None:
    """End every page session of a user (a password reset). Inside the caller's transaction."""
    db.execute("DELETE FROM web_sessions WHERE user_id = ?", [user_id])
