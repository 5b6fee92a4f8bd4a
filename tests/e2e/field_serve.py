"""`tianjian-field serve` in its own process on a loopback port, for browser and load tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import requests
from requests.adapters import HTTPAdapter

from tests.helpers import free_port


class _SourceAddress(HTTPAdapter):
    """Connections from one loopback address (127.0.0.x): one phone on the hotspot."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]


def phone_at(address: str) -> requests.Session:
    """A browser with its own cookies whose requests come from `address` (any 127.x.y.z), so
    per-client limits on the device see it as a phone of its own."""
    session = requests.Session()
    session.mount("http://", _SourceAddress(address))
    return session


class FieldServer:
    """A real `tianjian-field serve` over the device store at db_path, its PIN set on first start."""

    def __init__(self, db_path: str, pin: str) -> None:
        self.db_path = db_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "TIANJIAN_FIELD_DB": db_path, "TIANJIAN_FIELD_PIN": pin}
        command = [sys.executable, "-m", "field_client", "serve"]
        self.process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/login", timeout=1)
                return
            except requests.ConnectionError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode()) from None  # type: ignore[union-attr]
                time.sleep(0.1)
        raise RuntimeError("serve did not start")

    def stop(self) -> str:
        """Stop the process; return what it printed (its start banner)."""
        if self.process.poll() is None:
            self.process.terminate()
        out, _err = self.process.communicate(timeout=10)
        return out.decode()
