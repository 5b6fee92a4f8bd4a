"""A loopback HTTP proxy that breaks chosen requests the way 2G links do, for sync tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PASS = "pass"
CUT_BEFORE_SERVER = "cut_before_server"  # the request never reaches the server
CUT_AFTER_SERVER = "cut_after_server"  # the server commits, the answer is lost
CUT_MID_RESPONSE = "cut_mid_response"  # half the answer arrives, then the line drops
REPEAT = "repeat"  # the request reaches the server twice
CUT_IN_HEAD = "cut_in_head"  # the server answers; only the status line (200 OK) arrives
CORRUPT = "corrupt"  # the body's last byte is changed on the way
CUT_MID_REQUEST = (
    "cut_mid_request"  # half the request's body reaches the server, then the line drops
)

Decide = Callable[[str, str, int], str]


@dataclass
class FaultProxy:
    """Forwards HTTP/1.1 requests one at a time to `upstream`, applying `decide(method, path, n)`."""

    upstream_port: int
    decide: Decide = lambda method, path, n: PASS
    log: list[tuple[str, str, str]] = field(default_factory=list)
    # Seconds each request waits before it is forwarded: a slow link, where progress shows.
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.count = 0
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.closed = True
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            while True:
                request = _read_message(reader)
                if request is None:
                    return
                method, path = request.split(b" ", 2)[:2]
                with self.lock:
                    self.count += 1
                    n = self.count
                action = self.decide(method.decode(), path.decode(), n)
                self.log.append((method.decode(), path.decode(), action))
                if action == CUT_BEFORE_SERVER:
                    return
                if action == CUT_MID_REQUEST:
                    self._forward_half(request)
                    return
                if action == CORRUPT:
                    request = request[:-1] + bytes([request[-1] ^ 0xFF])
                time.sleep(self.delay_s)
                response = self._forward(request)
                if action == REPEAT:
                    response = self._forward(request)
                if action == CUT_AFTER_SERVER:
                    return
                if action == CUT_IN_HEAD:
                    conn.sendall(response[: response.index(b"\r\n") + 2])
                    return
                if action == CUT_MID_RESPONSE:
                    conn.sendall(response[: len(response) // 2])
                    return
                conn.sendall(response)

    def _forward_half(self, request: bytes) -> None:
        """The head and half the body to the server, then the connection closed under it."""
        head_end = request.index(b"\r\n\r\n") + 4
        cut = head_end + (len(request) - head_end) // 2
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as upstream:
            upstream.sendall(request[:cut])
            time.sleep(0.05)

    def _forward(self, request: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as upstream:
            upstream.sendall(request)
            reader = upstream.makefile("rb")
            response = _read_message(reader)
        return response or b""


def _read_message(reader: object) -> bytes | None:
    """One HTTP message (head and Content-Length body) from a buffered socket reader."""
    head = b""
    while True:
        line = reader.readline()  # type: ignore[attr-defined]
        if not line:
            return None
        head += line
        if line in (b"\r\n", b"\n"):
            break
    length = 0
    for raw in head.split(b"\r\n")[1:]:
        name, _, value = raw.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = reader.read(length) if length else b""  # type: ignore[attr-defined]
    return head + body


def fail_once(action: str, method: str, path_part: str, nth: int = 1) -> Decide:
    """Apply `action` to the nth request matching method and path, and pass everything else."""
    seen = {"matches": 0}

    def decide(m: str, path: str, _n: int) -> str:
        if m == method and path_part in path:
            seen["matches"] += 1
            if seen["matches"] == nth:
                return action
        return PASS

    return decide
