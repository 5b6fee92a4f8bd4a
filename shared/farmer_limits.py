"""What a stranger's phone may repeat on the farmers' check-in pages (the laptop's and the
server's alike): wrong codes, wrong proofs and new registrations, counted per client address
(and per device), refused for a while beyond. The counts live in the serving process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, request

from shared.errors import TianjianError
from shared.window_counts import Counts

# A wrong session code or QR token, or a wrong name for a typed mobile: this many per address in
# WRONG_WINDOW, then refused for WRONG_BLOCK seconds, doubling with each further one.
WRONG_ALLOWED = 5
WRONG_WINDOW = 600.0
WRONG_BLOCK = 30.0
WRONG_BLOCK_MAX = 3600.0
# Wrong codes from every address together per minute before typed codes wait (QR scans do not):
# an attacker who takes many addresses on the hotspot still guesses no faster than this.
DEVICE_WRONG_PER_MINUTE = 30
# Wrong names tried for one mobile before it must be checked in by the envoy (per hour).
PROOF_ALLOWED_PER_MOBILE = 3
# Mobiles typed from one address per 10 minutes: whether a number is registered is itself
# worth little, but not to be learnt for a whole village in a minute.
LOOKUPS_PER_ADDRESS = 10
LOOKUP_WINDOW = 600.0
# New farmers registered from one address per hour (a family registering on one phone is
# normal), and on the whole device per minute (meta key, the envoy may change or lift it).
NEW_PER_ADDRESS_PER_HOUR = 6
NEW_PER_MINUTE = 30
# Past this many keys, forgotten ones are dropped (memory stays small under a flood).
MAX_KEYS = 20_000


class TooManyTries(TianjianError):
    """A client (or the whole device) repeated something too often: wait, or ask the envoy."""

    status = 429
    reason = "too_many"

    def __init__(self, seconds: float) -> None:
        minutes = max(1, int(seconds + 59) // 60)
        super().__init__(
            f"尝试次数过多，请 {minutes} 分钟后再试，或请特派员帮您签到 / "
            f"too many tries: wait {minutes} minute(s) and try again, or ask the envoy"
        )
        self.seconds = seconds


class TooManyNew(TianjianError):
    """Registrations beyond the limits: the farmer waits or the envoy registers (or lifts)."""

    status = 429
    reason = "too_many_new"
    message = (
        "新登记太多太快，请稍等一分钟再试，或请特派员帮您登记 / "
        "too many new registrations at once: wait a minute and try again, or ask the envoy"
    )


@dataclass
class _Strikes:
    times: list[float] = field(default_factory=list)
    blocked_until: float = 0.0
    over: int = 0


class Strikes:
    """Failures per key within a window; past `allowed`, the key waits, longer each time."""

    def __init__(
        self,
        allowed: int,
        window: float,
        block: float = WRONG_BLOCK,
        block_max: float = WRONG_BLOCK_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowed, self.window, self.block, self.block_max = allowed, window, block, block_max
        self.clock = clock
        self._keys: dict[str, _Strikes] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds this key must still wait (0: it may try)."""
        with self._lock:
            found = self._keys.get(key)
            return max(0.0, found.blocked_until - self.clock()) if found else 0.0

    def fail(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._keys) > MAX_KEYS:
                self._forget(now)
            found = self._keys.setdefault(key, _Strikes())
            found.times = [t for t in found.times if now - t < self.window] + [now]
            if len(found.times) > self.allowed:
                found.blocked_until = now + min(self.block * 2**found.over, self.block_max)
                found.over += 1
            elif not found.times[:-1]:
                found.over = 0

    def _forget(self, now: float) -> None:
        for key in [
            k
            for k, s in self._keys.items()
            if s.blocked_until < now and (not s.times or now - s.times[-1] >= self.window)
        ]:
            del self._keys[key]


@dataclass
class Limits:
    """One serving process's counts (kept on the Flask app)."""

    wrong: Strikes = field(default_factory=lambda: Strikes(WRONG_ALLOWED, WRONG_WINDOW))
    wrong_device: Counts = field(default_factory=lambda: Counts(60.0))
    proofs: Strikes = field(
        default_factory=lambda: Strikes(PROOF_ALLOWED_PER_MOBILE, 3600.0, 600.0, 3600.0)
    )
    lookups: Counts = field(default_factory=lambda: Counts(LOOKUP_WINDOW))
    new_by_address: Counts = field(default_factory=lambda: Counts(3600.0))
    new_on_device: Counts = field(default_factory=lambda: Counts(60.0))

    def check_typed_code(self, address: str) -> None:
        """Raise TooManyTries while this address (or every address together) guessed too much."""
        wait = self.wrong.wait(address)
        if wait:
            raise TooManyTries(wait)

    def wrong_code(self, address: str, typed: bool) -> None:
        self.wrong.fail(address)
        if typed and not self.wrong_device.take("device", DEVICE_WRONG_PER_MINUTE):
            # Every address together: typed codes wait out the minute (QR scans go on).
            self.wrong.fail("*")

    def check_device_codes(self) -> None:
        wait = self.wrong.wait("*")
        if wait:
            raise TooManyTries(wait)

    def check_proof(self, address: str, mobile: str) -> None:
        wait = max(self.wrong.wait(address), self.proofs.wait(mobile))
        if wait:
            raise TooManyTries(wait)

    def take_lookup(self, address: str) -> None:
        """Count a typed mobile from this address, or raise TooManyTries past the limit."""
        if not self.lookups.take(address, LOOKUPS_PER_ADDRESS):
            raise TooManyTries(LOOKUP_WINDOW)

    def wrong_proof(self, address: str, mobile: str) -> None:
        self.wrong.fail(address)
        self.proofs.fail(mobile)

    def take_new(
        self, address: str, per_minute: int, lifted: bool = False, device: str = "device"
    ) -> None:
        """Count a new registration from this address, or raise TooManyNew; `per_minute`: the
        limit on the whole device (or, on the server, one device's QR); `lifted`: the envoy
        lifted the limits for a while (the laptop's setting); `device`: whose limit (the server
        keeps one per device's QR)."""
        if lifted:
            return
        if not self.new_by_address.take(address, NEW_PER_ADDRESS_PER_HOUR):
            raise TooManyNew()
        if not self.new_on_device.take(device, per_minute):
            raise TooManyNew()


def app_limits(key: str) -> Limits:
    """The serving app's counts, kept in its extensions under `key` (the laptop's page and the
    server's each count their own)."""
    found: Limits | None = current_app.extensions.get(key)
    if found is None:
        found = current_app.extensions.setdefault(key, Limits())
    return found


def client_address() -> str:
    """The address a request's counts go to (the client as the serving app sees it)."""
    return request.remote_addr or ""
