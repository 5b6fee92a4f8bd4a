"""An enrolled device as a request authenticates it: kept apart from enrolment (devices.py) so
the sync modules that only pass one around do not import enrolment, reference loading and
accounts with it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Device:
    """An enrolled device as a request authenticates it: whose it is and which townships it serves."""

    id: str
    envoy_id: str
    township_codes: tuple[str, ...]
    # What the device said it understands (X-Tianjian-Capabilities) on this request.
    capabilities: frozenset[str] = frozenset()
    # A county's link to its province (server/upstream): it acts for the envoy each push names,
    # and may write only records of this county.
    county_code: str = ""
