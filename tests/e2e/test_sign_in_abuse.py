"""Guessing and flooding from other addresses on the hotspot or the bureau's network, against
the real `tianjian-field serve` and `tianjian-server run` processes over loopback.

Each simulated client binds its own loopback address (127.0.0.x), as phones on a hotspot
have their own: per-address limits must tell them apart.
"""

from __future__ import annotations

import http.client
import re
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from field_client import pin
from server.accounts import users
from server.store.db import init_db
from tests.e2e.field_serve import FieldServer
from tests.field_client.web.conftest import PIN, make_store
from tests.helpers import LiveServer, load_demo_reference

PHONE = "127.0.0.2"


@dataclass
class Answer:
    status: int
    location: str
    body: str


class Browser:
    """One client at one source address, keeping its cookie like a browser."""

    def __init__(self, port: int, source: str) -> None:
        self.port, self.source, self.cookie = port, source, ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=60, source_address=(self.source, 0)
        )
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return Answer(response.status, response.getheader("Location") or "", text)

    def csrf_token(self, path: str) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.request("GET", path).body)
        assert found, path
        return found.group(1)


@pytest.fixture
def field(tmp_path: Path) -> Iterator[FieldServer]:
    path = str(tmp_path / "field.db")
    make_store(path).close()
    server = FieldServer(path, PIN)
    yield server
    server.stop()


def test_a_burst_of_wrong_pins_from_a_phone_neither_passes_nor_locks_the_laptop(
    field: FieldServer,
) -> None:
    phone = Browser(field.port, PHONE)
    token = phone.csrf_token("/login")
    guesses = [{"pin": f"{n:06d}", "csrf_token": token} for n in range(40)]
    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(lambda form: phone.request("POST", "/login", form), guesses))
    assert all(answer.status == 403 for answer in answers)
    compared = [answer for answer in answers if "还可再试" in answer.body]
    assert len(compared) == pin.FREE_TRIES - 1  # then one more counted try, and waiting
    right = phone.request("POST", "/login", {"pin": PIN, "csrf_token": token})
    assert right.status == 403 and "秒后再试" in right.body
    # The laptop's own screen signs in at once: the phone's failures are the phone's.
    laptop = Browser(field.port, "127.0.0.1")
    token = laptop.csrf_token("/login")
    opened = laptop.request("POST", "/login", {"pin": PIN, "csrf_token": token})
    assert opened.status == 302 and opened.location.endswith("/envoy/")
    assert laptop.request("GET", "/envoy/").status == 200


def test_three_hundred_slow_sockets_do_not_hold_up_a_farmers_page(field: FieldServer) -> None:
    """Slow or idle phones hold a connection each, not a thread, up to `serve`'s connection
    limit: a farmer's page still answers within a second (waitress's default limit of 100
    connections made every further request wait for one to time out)."""
    slow = []
    try:
        for n in range(300):
            sock = socket.create_connection(("127.0.0.1", field.port), timeout=10)
            # Half a request, never finished, as a slow or malicious phone sends.
            sock.sendall(b"GET /c HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + str(n).encode())
            slow.append(sock)
        timings = []
        for _ in range(3):
            farmer = Browser(field.port, "127.0.0.3")
            started = time.monotonic()
            page = farmer.request("GET", "/c")
            timings.append(time.monotonic() - started)
            assert page.status == 200 and "签到" in page.body
        assert min(timings) < 1.0, timings
    finally:
        for sock in slow:
            sock.close()


@pytest.fixture
def bureau(db_path: str, tmp_path: Path) -> Iterator[LiveServer]:
    load_demo_reference(db_path)
    db = init_db(db_path)
    users.add_user(db, "科长", users.ADMIN, "bureau-password")
    db.close()
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def test_forty_wrong_passwords_at_once_are_counted_and_lock_no_one_out(
    bureau: LiveServer,
) -> None:
    guesser = Browser(bureau.port, PHONE)
    token = guesser.csrf_token("/signin")
    forms = [{"name": "科长", "password": f"guess-{n}", "csrf_token": token} for n in range(40)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(lambda form: guesser.request("POST", "/signin", form), forms))
    elapsed = time.monotonic() - started
    statuses = sorted(answer.status for answer in answers)
    assert set(statuses) <= {401, 429}
    # Compared (401): the free tries, plus one more for each wait that ran out during the
    # burst (2 s, then 4 s, 8 s ...).
    allowed, waited, wait = users.FREE_FAILURES, 0.0, 2.0
    while waited + wait <= elapsed:
        allowed, waited, wait = allowed + 1, waited + wait, wait * 2
    assert 0 < statuses.count(401) <= allowed, (statuses, elapsed)
    # The guesser waits even with the right password; the user elsewhere gets straight in.
    right = {"name": "科长", "password": "bureau-password", "csrf_token": token}
    assert guesser.request("POST", "/signin", right).status == 429
    user = Browser(bureau.port, "127.0.0.4")
    right["csrf_token"] = user.csrf_token("/signin")
    assert user.request("POST", "/signin", right).status == 302
    assert user.request("GET", "/progress").status == 200
