"""The year's figures for a unit, reconciled against its targets (the CLI's and API's report).

The figures come from server/figures.py (grouped SQL over ranges of division codes); targets,
status and projection from server/progress.py. This module keeps the names older callers use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from server.figures import PREFIX_LENGTH
from server.progress import UnknownEnvoy, UnknownUnit, progress, unit_scope

__all__ = ["PREFIX_LENGTH", "UnknownEnvoy", "UnknownUnit", "build_report", "unit_scope"]


def build_report(
    db: Database,
    year: int,
    unit_code: str | None = None,
    now: datetime | None = None,
    envoy_id: str | None = None,
    monthly: bool = True,
) -> dict[str, Any]:
    """Each indicator's actual, target, status, pace and projection for one year and unit."""
    return progress(db, year, unit_code, envoy_id, now, monthly)
