"""Events per key within a sliding window, kept in one serving process: how both apps limit what
one client may repeat (the field app's farmer page, the server's photo bytes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Past this many keys remembered, those quiet for a whole window are forgotten.
MAX_KEYS = 20_000


class Counts:
    """Events per key within a sliding window, allowed up to a limit given at each call."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window, self.clock = window, clock
        self._keys: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, limit: int) -> bool:
        """Count one event for key if fewer than `limit` fell in the window; False if not."""
        now = self.clock()
        with self._lock:
            if len(self._keys) > MAX_KEYS:
                self._keys = {
                    k: v for k, v in self._keys.items() if v and now - v[-1] < self.window
                }
            recent = [t for t in self._keys.get(key, []) if now - t < self.window]
            if len(recent) >= limit:
                self._keys[key] = recent
                return False
            self._keys[key] = [*recent, now]
            return True

    def wait(self, key: str) -> float:
        """Seconds until the oldest event of key in the window leaves it (0 when none)."""
        now = self.clock()
        with self._lock:
            recent = [t for t in self._keys.get(key, []) if now - t < self.window]
        return self.window - (now - recent[0]) if recent else 0.0
