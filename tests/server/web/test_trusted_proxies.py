"""TIANJIAN_TRUSTED_PROXIES over real HTTP: behind that many proxies each client is counted by
the address X-Forwarded-For gives, so two phones behind one proxy have their own limits;
without it (the default) the header changes nothing, so no client chooses its own address."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from flask import Flask

from server.accounts import users
from server.store.db import init_db
from shared.farmer_limits import WRONG_ALLOWED
from tests.helpers import LiveServer
from tests.server.qr_phone import Phone, session_now

PASSWORD = "proxy-password"


@pytest.fixture(params=[0, 1], ids=["no-proxy", "one-proxy"])
def served(
    request: pytest.FixtureRequest, app: Flask, db_path: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LiveServer, int]]:
    hops = int(request.param)
    if hops:
        monkeypatch.setenv("TIANJIAN_TRUSTED_PROXIES", str(hops))
    else:
        monkeypatch.delenv("TIANJIAN_TRUSTED_PROXIES", raising=False)
    server = LiveServer(db_path).start()
    try:
        yield server, hops
    finally:
        server.stop()


def forwarded(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, "X-Forwarded-Proto": "https"}


def wrong_sign_in(server: LiveServer, name: str, address: str) -> int:
    """One sign-in with a wrong password through the real form, from `address` as the proxy
    says; the answer's status."""
    client = requests.Session()
    page = client.get(f"{server.url}/signin", headers=forwarded(address), timeout=10).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    answer = client.post(
        f"{server.url}/signin",
        data={"name": name, "password": "wrong", "csrf_token": found.group(1)},
        # The page came over https as the proxy says: its form is posted from there.
        headers={**forwarded(address), "Referer": f"https://{server.url[7:]}/signin"},
        timeout=10,
        allow_redirects=False,
    )
    return answer.status_code


def test_wrong_passwords_are_counted_per_forwarded_address_only_behind_a_trusted_proxy(
    served: tuple[LiveServer, int], db_path: str
) -> None:
    server, hops = served
    db = init_db(db_path)
    users.add_user(db, "staff", users.STAFF, PASSWORD)
    db.conn.commit()
    # A different name each time, so only the address's count makes one wait.
    statuses = [wrong_sign_in(server, f"guess{n}", "10.0.0.1") for n in range(5)]
    assert statuses[:3] == [401, 401, 401] and statuses[-1] == 429
    other = wrong_sign_in(server, "guess-b", "10.0.0.2")
    try:
        keys = {row[0] for row in db.execute("SELECT key FROM sign_in_failures").fetchall()}
    finally:
        db.close()
    addresses = {key for key in keys if key.startswith("addr:")}
    if hops:
        # Another phone behind the same proxy is not made to wait for the first one's tries.
        assert other == 401
        assert addresses == {"addr:10.0.0.1", "addr:10.0.0.2"}
    else:
        # A forged header is ignored: the connection's own address waits, whatever it says.
        assert other == 429
        assert addresses == {"addr:127.0.0.1"}


def test_wrong_check_in_codes_are_counted_per_forwarded_address_only_behind_a_trusted_proxy(
    served: tuple[LiveServer, int], app: Flask, db_path: str
) -> None:
    server, hops = served
    phone = Phone(app.test_client(), db_path)
    session = session_now(phone.envoy_id)
    forged = f"{server.url}{phone.qr_path(session, key='guess')}"
    for _ in range(WRONG_ALLOWED + 1):
        answer = requests.get(forged, headers=forwarded("10.0.0.1"), timeout=10)
        assert answer.status_code == 403
    blocked = requests.get(forged, headers=forwarded("10.0.0.1"), timeout=10)
    assert blocked.status_code == 429 and "尝试次数过多" in blocked.text
    other = requests.get(forged, headers=forwarded("10.0.0.2"), timeout=10)
    # Behind the proxy a second phone is its own client; without it, the forged address is the
    # same connection that is already waiting.
    assert other.status_code == (403 if hops else 429)
