"""When a session is open for farmers' own check-ins, the red answers when it is not, and how a
typed name proves a farmer: one home for the laptop's farmer pages and the server's (phone app QR)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from shared.clock import CHINA, parse_iso
from shared.errors import TianjianError

DEFAULT_MARGIN_MINUTES = 60
MAX_MARGIN_MINUTES = 24 * 60


class CheckinRefused(TianjianError):
    """A farmer's check-in cannot go ahead; the message says what to do instead."""

    status = 403
    reason = "refused"


class ForgedToken(CheckinRefused):
    reason = "forged"
    message = (
        "二维码无效，请重新扫描海报上的二维码，或请特派员帮您签到 / "
        "this QR code is not valid: scan the poster's code again or ask the envoy"
    )


class OtherSessionToken(CheckinRefused):
    reason = "other_session"
    message = (
        "这个二维码属于另一场培训，请扫描本场海报上的二维码 / "
        "this QR code belongs to another session: scan this session's poster"
    )


class Expired(CheckinRefused):
    reason = "expired"
    message = (
        "本场签到已结束，请找特派员现场登记 / check-in for this session has closed: ask the envoy"
    )


class NotYetOpen(CheckinRefused):
    reason = "not_yet"
    message = "本场签到还没有开始，请稍后再扫 / check-in has not opened yet: scan again later"


class SessionDeleted(CheckinRefused):
    status = 410
    reason = "deleted"
    message = "本场培训已取消，请询问特派员 / this session was cancelled: ask the envoy"


class NotProved(CheckinRefused):
    status = 403
    reason = "not_proved"
    message = (
        "手机号与登记的姓名不符，未签到。请核对姓名，或请特派员帮您签到 / "
        "the number and the name as registered do not match: nobody was checked in. "
        "Check the name or ask the envoy"
    )


def same_name(typed: str, registered: str) -> bool:
    """Whether a typed name is the registered one: width, case and spaces aside."""

    def folded(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text).casefold().split()).replace("·", "")

    return bool(folded(typed)) and folded(typed) == folded(registered)


@dataclass(frozen=True)
class Window:
    opens: datetime
    closes: datetime


def window_between(starts: datetime, ends: datetime | None, margin_minutes: int) -> Window:
    """Open from the start minus the margin to the end (or the start's day's end, China time)
    plus the margin."""
    if ends is None:
        day = starts.astimezone(CHINA).date()
        ends = datetime.combine(day, time(23, 59, 59), CHINA)
    margin = timedelta(minutes=margin_minutes)
    return Window(starts - margin, ends + margin)


def window(session: Mapping[str, Any], margin_minutes: int) -> Window:
    """A session record's window (starts_at, ends_at as stored)."""
    ends = session.get("ends_at")
    return window_between(
        parse_iso(session["starts_at"]), parse_iso(ends) if ends else None, margin_minutes
    )


def check_open(span: Window, now: datetime) -> None:
    """Raise NotYetOpen before the window, Expired after it."""
    if now < span.opens:
        raise NotYetOpen()
    if now > span.closes:
        raise Expired()
