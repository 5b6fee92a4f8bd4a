"""The year's figures for a unit, reconciled against its targets (the CLI's and API's report).

The figures come from server/figures/count.py (grouped SQL over ranges of division codes); targets,
status and projection from server/plan/progress.py. This module keeps the names older callers use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from server.plan.progress import progress
from server.reference.lookups import PREFIX_LENGTH, UnknownEnvoy, UnknownUnit, unit_scope
from shared.errors import TianjianError

__all__ = [
    "PREFIX_LENGTH",
    "UnknownEnvoy",
    "UnknownUnit",
    "UnknownYear",
    "build_report",
    "check_year",
    "unit_scope",
]

# Years a report may be asked for; outside them a year is a typing mistake (20266).
FIRST_YEAR, LAST_YEAR = 2000, 2200


class UnknownYear(TianjianError):
    """A year no report can be about."""

    status = 404

    def __init__(self, year: int) -> None:
        super().__init__(
            f"没有 {year} 年的数据（年份应在 {FIRST_YEAR}–{LAST_YEAR} 之间） / no figures for year "
            f"{year} (a year from {FIRST_YEAR} to {LAST_YEAR})",
        )


def check_year(year: int) -> int:
    """The year, if a report can be about it; else UnknownYear."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UnknownYear(year)
    return year


def build_report(
    db: Database,
    year: int,
    unit_code: str | None = None,
    now: datetime | None = None,
    envoy_id: str | None = None,
    monthly: bool = True,
    exclude_questioned: bool = False,
) -> dict[str, Any]:
    """Each indicator's actual, target, status, pace and projection for one year and unit."""
    check_year(year)
    return progress(db, year, unit_code, envoy_id, now, monthly, exclude_questioned)
