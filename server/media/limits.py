"""How often one device may ask about or send photo bytes: a sliding minute per device, in
the serving process (a restart forgets, which costs an attacker nothing they did not have)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from server.media.errors import TooManyRequests
from shared.window_counts import Counts

WINDOW_SECONDS = 60.0


class PerDevice:
    """Requests per device within the last minute, up to a limit given at each call."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._counts = Counts(WINDOW_SECONDS, clock)

    def take(self, device_id: str, limit: int) -> None:
        """Count one request of this device, or raise TooManyRequests (429) past the limit."""
        if not self._counts.take(device_id, limit):
            raise TooManyRequests(max(1, math.ceil(self._counts.wait(device_id))))
