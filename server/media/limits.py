"""How often one device may ask about or send photo bytes: a sliding minute per device, in
the serving process (a restart forgets, which costs an attacker nothing they did not have)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from server.media.errors import TooManyRequests

WINDOW_SECONDS = 60.0
# Past this many devices remembered, those quiet for a whole window are forgotten.
MAX_KEYS = 20_000


class PerDevice:
    """Requests per device within the last minute, up to a limit given at each call."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, device_id: str, limit: int) -> None:
        """Count one request of this device, or raise TooManyRequests (429) past the limit."""
        now = self.clock()
        with self._lock:
            if len(self._seen) > MAX_KEYS:
                self._seen = {
                    key: times
                    for key, times in self._seen.items()
                    if times and now - times[-1] < WINDOW_SECONDS
                }
            times = self._seen.setdefault(device_id, deque())
            while times and now - times[0] >= WINDOW_SECONDS:
                times.popleft()
            if len(times) >= limit:
                raise TooManyRequests(max(1, math.ceil(WINDOW_SECONDS - (now - times[0]))))
            times.append(now)
