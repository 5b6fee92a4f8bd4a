"""The envoy's own progress for the year against their targets, computed on the device."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from field_client import progress
from field_client.web.db import get_store
from field_client.web.security import require_envoy

bp = Blueprint("progress", __name__, url_prefix="/envoy/progress")
bp.before_request(require_envoy)


@bp.get("/")
def page() -> str:
    year = request.args.get("year", type=int)
    if year is not None and not 2000 <= year <= 2200:
        year = None
    return render_template(
        "progress/index.html", progress=progress.envoy_progress(get_store(), year)
    )


@bp.app_template_filter("figure")
def figure(value: float | int | None) -> str:
    """A figure as people write it: 12, 3.5, 12.25 (no trailing .0)."""
    if value is None:
        return ""
    rounded = round(float(value), 2)
    return str(int(rounded)) if rounded.is_integer() else f"{rounded:g}"
