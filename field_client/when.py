"""The device's idea of now and today (China time), and times typed on it."""

from __future__ import annotations

from datetime import date, datetime

from field_client.store import FieldStore
from shared.clock import parse_iso
from shared.typed_time import china_today, parse_day, parse_moment


def now(store: FieldStore) -> datetime:
    """The device's best idea of the time now (UTC), never before events it has seen."""
    return parse_iso(store.best_now_iso())


def today(store: FieldStore) -> date:
    """Today's date in China time, by the device's best clock."""
    return china_today(now(store))


def typed_moment(store: FieldStore, text: str | None, field: str) -> str:
    """A typed time (or now when empty) as UTC ISO text; InvalidTime names `field`."""
    if text is None or not text.strip():
        return store.best_now_iso()
    return parse_moment(text, field, now(store))


def typed_day(store: FieldStore, text: str | None, field: str) -> str:
    """A typed day (or today when empty) as YYYY-MM-DD; InvalidTime names `field`."""
    if text is None or not text.strip():
        return today(store).isoformat()
    return parse_day(text, field, now(store))


def optional_moment(store: FieldStore, text: str | None, field: str) -> str | None:
    return parse_moment(text, field, now(store)) if text and text.strip() else None
