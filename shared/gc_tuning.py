"""Fewer garbage-collector passes where a process makes many short-lived objects at once."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Python runs a collection every 700 new container objects by default. A push batch parses
# into thousands of small dicts that reference counting frees anyway, so a 100,000-change push
# set off ~650 collections on the server, 8 % of its time. At this threshold it is ~25, and
# the garbage a cycle can leave waiting stays a few megabytes.
GEN0_THRESHOLD = 10_000


def tune_for_long_run(gen0: int = GEN0_THRESHOLD) -> None:
    """For a process that serves until stopped: collect less often, and stop scanning what
    start-up made (modules, the app, schemas), which lives as long as the process anyway."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(gen0, *gc.get_threshold()[1:])


@contextmanager
def fewer_collections(gen0: int = GEN0_THRESHOLD) -> Iterator[None]:
    """Collect less often for the length of the block; the thresholds are restored after."""
    before = gc.get_threshold()
    gc.set_threshold(max(gen0, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
