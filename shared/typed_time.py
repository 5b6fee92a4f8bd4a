"""Times and days as people type them (2026/11/20 9:00, 11月20日 下午3点, 今天 9:00), in China time.

Both command lines and the web forms read typed times through these two functions, so the same
words work everywhere. A time without a zone is China time; a date without a year is in the
current China-time year (of `now`). ISO 8601 with a zone (what the sync protocol and `--json`
use) is accepted too.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from shared.clock import CHINA, to_iso
from shared.errors import TianjianError

EARLIEST_YEAR = 1990
LATEST_YEAR = 2200

_DATE = (
    r"(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
    r"|(?P<rel>今天|今日|昨天|昨日|前天|明天|明日)"
)
_TIME = (
    r"(?P<ampm>凌晨|早上|上午|中午|下午|傍晚|晚上)?\s*(?P<h>\d{1,2})\s*"
    r"(?:[:：]\s*(?P<mi>\d{1,2})(?:\s*[:：]\s*(?P<s>\d{1,2})(?:\.\d+)?)?"
    r"|[点时]\s*(?:(?P<mi2>\d{1,2})\s*分?|(?P<half>半))?)"
)
_ZONE = r"(?P<zone>Z|[+-]\d{2}:?\d{2})"
_MOMENT = re.compile(rf"^(?:{_DATE})?(?:\s*T?\s*(?:{_TIME}))?\s*{_ZONE}?$", re.IGNORECASE)
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2, "明天": 1, "明日": 1}
_AFTERNOON = ("下午", "傍晚", "晚上")
_EXAMPLES_ZH = "2026-11-20 09:00、2026/11/20 9:00 或 11月20日 9:00"
_EXAMPLES_EN = "2026-11-20 09:00, 2026/11/20 9:00 or 11月20日 9:00"


class InvalidTime(TianjianError, ValueError):
    """Typed text is not a time or a day this project can read."""

    status = 422


def parse_moment(text: str, field: str, now: datetime) -> str:
    """The moment typed in `text`, as UTC ISO text (YYYY-MM-DDTHH:MM:SSZ).

    A time alone is on the China-time day of `now`; a date alone is its midnight.
    Raises InvalidTime naming `field`.
    """
    parts = _match(text, field)
    day = _day(parts, text, field, now)
    if parts["h"] is None:
        hour, minute, second = 0, 0, 0
    else:
        hour, minute, second = _clock_time(parts, text, field)
    zone = _zone(parts["zone"], text, field)
    try:
        moment = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
    except ValueError as exc:
        raise _invalid(text, field) from exc
    return to_iso(moment)


def parse_day(text: str, field: str, now: datetime) -> str:
    """The China-time day typed in `text`, as YYYY-MM-DD. Raises InvalidTime naming `field`."""
    parts = _match(text, field)
    if parts["h"] is not None or parts["zone"] is not None:
        raise InvalidTime(
            f"{field}: 请只写日期，如 2026-11-20 或 11月20日 / a day only, e.g. 2026-11-20: {text!r}",
            {field: "应为日期 / must be a day"},
        )
    return _day(parts, text, field, now).isoformat()


def china_today(now: datetime) -> date:
    """The calendar day in China at `now`."""
    return now.astimezone(CHINA).date()


def _match(text: str, field: str) -> dict[str, str | None]:
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    found = _MOMENT.match(cleaned) if cleaned else None
    if found is None:
        raise _invalid(text, field)
    parts = found.groupdict()
    if parts["d"] is None and parts["rel"] is None and parts["h"] is None:
        raise _invalid(text, field)
    return parts


def _day(parts: dict[str, str | None], text: str, field: str, now: datetime) -> date:
    today = china_today(now)
    if parts["rel"] is not None:
        return today + timedelta(days=_RELATIVE_DAYS[parts["rel"]])
    if parts["d"] is None:
        return today
    year = int(parts["y"]) if parts["y"] else today.year
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise InvalidTime(
            f"{field}: 年份超出范围（{EARLIEST_YEAR}–{LATEST_YEAR}） / year out of range: {text!r}",
            {field: "年份超出范围 / year out of range"},
        )
    try:
        return date(year, int(parts["mo"] or 0), int(parts["d"]))
    except ValueError as exc:
        raise _invalid(text, field) from exc


def _clock_time(parts: dict[str, str | None], text: str, field: str) -> tuple[int, int, int]:
    hour = int(parts["h"] or 0)
    minute_text = parts["mi"] or parts["mi2"]
    minute = 30 if parts["half"] else int(minute_text or 0)
    second = int(parts["s"] or 0)
    ampm = parts["ampm"]
    if ampm in _AFTERNOON and 1 <= hour < 12:
        hour += 12
    elif ampm == "中午" and hour < 6:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59):
        raise _invalid(text, field)
    return hour, minute, second


def _zone(zone: str | None, text: str, field: str) -> tzinfo:
    if zone is None:
        return CHINA
    if zone.upper() == "Z":
        return UTC
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        raise _invalid(text, field)
    sign = -1 if zone[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _invalid(text: str, field: str) -> InvalidTime:
    return InvalidTime(
        f"{field}: 无法识别的时间“{text}”，可写 {_EXAMPLES_ZH} / "
        f"not a time: {text!r} (write {_EXAMPLES_EN})",
        {field: f"无法识别的时间 / not a time: {text!r}"},
    )
