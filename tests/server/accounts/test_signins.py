"""The bureau's sign-in throttle and server-side page sessions (server/accounts/signins.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from flask import Flask

from server.accounts import signins, users
from server.store.db import init_db
from shared.clock import utc_now

PASSWORD = "correct-horse"


@pytest.fixture
def user(app: Flask, db_path: str) -> users.User:
    db = init_db(db_path)
    try:
        return users.add_user(db, "staff", users.STAFF, PASSWORD)
    finally:
        db.close()


def test_a_burst_from_one_address_is_counted_before_any_password_is_compared(
    db_path: str, user: users.User
) -> None:
    """40 tries at once, each on its own connection: only the free ones reach the password
    (all at one instant, so no wait runs out however slowly the machine gets through them)."""
    now = utc_now()

    def try_once(n: int) -> str:
        db = init_db(db_path)
        try:
            users.sign_in(db, "staff", f"guess-{n}", "10.0.0.9", now)
            return "in"
        except users.SignInRefused:
            return "compared"
        except users.TooManyFailures:
            return "waits"
        finally:
            db.close()

    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(try_once, range(40)))
    assert outcomes.count("compared") == signins.FREE_FAILURES
    assert outcomes.count("waits") == 40 - signins.FREE_FAILURES
    db = init_db(db_path)
    with pytest.raises(users.TooManyFailures):
        users.sign_in(db, "staff", PASSWORD, "10.0.0.9", now)
    assert users.sign_in(db, "staff", PASSWORD, "10.0.0.10", now).name == "staff"
    db.close()


def test_a_right_password_takes_back_its_count(db_path: str, user: users.User) -> None:
    db = init_db(db_path)
    for _ in range(signins.FREE_FAILURES - 1):
        with pytest.raises(users.SignInRefused):
            users.sign_in(db, "staff", "guess", "10.0.0.9")
    users.sign_in(db, "staff", PASSWORD, "10.0.0.9")
    rows = dict(db.execute("SELECT key, failures FROM sign_in_failures").fetchall())
    assert rows == {"addr:10.0.0.9": signins.FREE_FAILURES - 1}  # the name starts afresh
    db.close()


def test_page_sessions_end_and_old_rows_go(db_path: str, user: users.User) -> None:
    db = init_db(db_path)
    long_ago = utc_now() - timedelta(days=signins.SESSION_ROW_DAYS + 1)
    stale = signins.open_session(db, user.id, now=long_ago)
    first, second = signins.open_session(db, user.id), signins.open_session(db, user.id)
    assert signins.session_user(db, stale) is None  # removed when the others signed in
    assert signins.session_user(db, first) == signins.session_user(db, second) == user.id
    signins.close_session(db, first)
    assert signins.session_user(db, first) is None and signins.session_user(db, second) == user.id
    users.set_password(db, user.id, "another-secret")
    assert signins.session_user(db, second) is None
    db.close()
