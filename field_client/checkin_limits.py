"""The envoy's settings of the farmers' check-in limits (shared/farmer_limits.py counts them):
the device-wide registration limit and its lifting live in the device database (meta), so they
survive a restart."""

from __future__ import annotations

from datetime import timedelta

from field_client.store import FieldStore
from shared.clock import parse_iso, to_iso
from shared.errors import TianjianError
from shared.farmer_limits import (
    LOOKUPS_PER_ADDRESS,
    NEW_PER_ADDRESS_PER_HOUR,
    NEW_PER_MINUTE,
    WRONG_ALLOWED,
    Limits,
    Strikes,
    TooManyNew,
    TooManyTries,
)
from shared.window_counts import Counts

# Named here too: the envoy's pages and the tests read the limits from this module.
__all__ = [
    "LOOKUPS_PER_ADDRESS",
    "NEW_PER_ADDRESS_PER_HOUR",
    "WRONG_ALLOWED",
    "Counts",
    "Limits",
    "Strikes",
    "TooManyNew",
    "TooManyTries",
]

NEW_PER_MINUTE_KEY = "checkin_new_per_minute"
LIFTED_UNTIL_KEY = "checkin_limits_lifted_until"
LIFT_MINUTES = 60


def take_new(limits: Limits, store: FieldStore, address: str) -> None:
    """Count a new registration from this address against this device's settings."""
    limits.take_new(address, new_per_minute(store), lifted_until(store) is not None)


# ------------------------------------------------------------------ the envoy's settings


def new_per_minute(store: FieldStore) -> int:
    value = store.get(NEW_PER_MINUTE_KEY)
    return int(value) if value and value.isdigit() else NEW_PER_MINUTE


def set_new_per_minute(store: FieldStore, limit: int) -> None:
    if not 1 <= limit <= 10_000:
        raise TianjianError(
            "每分钟新登记上限应在 1-10000 之间 / the limit must be 1-10000 a minute",
            {"new_per_minute": "1-10000"},
        )
    with store.transaction():
        store.set(NEW_PER_MINUTE_KEY, str(limit))


def lifted_until(store: FieldStore) -> str | None:
    """When the envoy's lifting of the registration limits ends, while it lasts."""
    until = store.get(LIFTED_UNTIL_KEY)
    if until and parse_iso(until) > parse_iso(store.best_now_iso()):
        return until
    return None


def lift(store: FieldStore, minutes: int = LIFT_MINUTES) -> str:
    """The envoy lifts the registration limits for a while (a crowd of new farmers)."""
    until = to_iso(parse_iso(store.best_now_iso()) + timedelta(minutes=minutes))
    with store.transaction():
        store.set(LIFTED_UNTIL_KEY, until)
    return until


def restore(store: FieldStore) -> None:
    with store.transaction():
        store.set(LIFTED_UNTIL_KEY, None)
