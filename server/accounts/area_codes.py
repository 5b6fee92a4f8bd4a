"""What lies in an area, by unit codes alone: a code in an area's prefix, an envoy serving it by
their townships. Plain rules on codes, so the reference lists and the scope apply them without
the users and the database that server/accounts/areas.py needs."""

from __future__ import annotations

from collections.abc import Iterable


def in_area(area: str, code: str | None) -> bool:
    """Whether a unit code (2 to 12 digits) lies in an area's prefix ("" holds every code)."""
    return not area or (code or "").ljust(12, "0").startswith(area)


def serves(area: str, township_codes: Iterable[str]) -> bool:
    """Whether an envoy serving these townships serves the area (every envoy serves "")."""
    return not area or any(in_area(area, code) for code in township_codes)
