"""Wall time in UTC, periods in China Standard Time, and the hybrid logical clock that orders edits."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

# China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact for
# every period this software counts and needs no time-zone database on the machine.
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MAX_COUNTER = 99_999


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_iso(moment: datetime) -> str:
    """UTC, second precision, 'Z' suffix: sorts as text and SQLite reads it as a time."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: say which time zone it is in")
    return moment.astimezone(UTC).strftime(ISO_FORMAT)


def parse_iso(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime; ValueError if it is not one, or if it lies
    where Python's dates end (0001-01-01 China time, 9999-12-31 at -14:00 are not in UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        # A time typed without a zone in the field is China time.
        moment = moment.replace(tzinfo=CHINA)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"time outside the calendar Python can count: {text!r}") from exc


def local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def year_bounds(year: int) -> tuple[str, str]:
    """UTC ISO bounds [start, end) of a calendar year in China time."""
    start = datetime(year, 1, 1, tzinfo=CHINA)
    end = datetime(year + 1, 1, 1, tzinfo=CHINA)
    return to_iso(start), to_iso(end)


def year_fraction_elapsed(year: int, now: datetime | None = None) -> float:
    """How much of a China-time year has passed: 0 before it starts, 1 after it ends."""
    now = now or utc_now()
    start = datetime(year, 1, 1, tzinfo=CHINA)
    end = datetime(year + 1, 1, 1, tzinfo=CHINA)
    if now <= start:
        return 0.0
    if now >= end:
        return 1.0
    return (now - start) / (end - start)


def wall_ms() -> int:
    return int(time.time() * 1000)


class HybridLogicalClock:
    """Stamps that never run backwards and order causally, even when wall clocks are wrong.

    A stamp reads `PPPPPPPPPPPPP.CCCCC.NODE` (13-digit milliseconds, 5-digit counter, node id),
    so comparing stamps as text compares time, then counter, then node: the node (device id)
    breaks ties deterministically.
    """

    def __init__(self, node: str, last: str | None = None, wall: Callable[[], int] = wall_ms):
        self.node = node
        self.wall = wall
        self.physical, self.counter = parse_stamp(last) if last else (0, 0)

    @property
    def last(self) -> str:
        return format_stamp(self.physical, self.counter, self.node)

    def now(self) -> str:
        physical = max(self.physical, self.wall())
        self.counter = self.counter + 1 if physical == self.physical else 0
        self.physical = physical
        if self.counter > MAX_COUNTER:
            # Keep stamps fixed-width (so text order stays time order): borrow a millisecond.
            self.physical, self.counter = self.physical + 1, 0
        return self.last

    def observe(self, stamp: str) -> None:
        """Move past a stamp seen from elsewhere so our next stamp orders after it."""
        physical, counter = parse_stamp(stamp)
        if (physical, counter) > (self.physical, self.counter):
            self.physical, self.counter = physical, counter


def format_stamp(physical: int, counter: int, node: str) -> str:
    return f"{physical:013d}.{counter:05d}.{node}"


def parse_stamp(stamp: str) -> tuple[int, int]:
    physical, counter, _node = stamp.split(".", 2)
    return int(physical), int(counter)


def stamp_node(stamp: str) -> str:
    return stamp.split(".", 2)[2]


def stamp_iso(stamp: str) -> str:
    """The wall time a stamp was made at, as UTC ISO text."""
    return _second_iso(stamp[:10])


@functools.lru_cache(maxsize=4096)
def _second_iso(seconds: str) -> str:
    # Stamps made in the same second share their text; a push of thousands mostly does. Keyed
    # by the text itself, so a hit costs no parsing.
    return to_iso(datetime.fromtimestamp(int(seconds), UTC))
