"""The progress page: each indicator of a year and unit against its target, with its chart."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from marshmallow import Schema, fields, validate

from server.access import ANYONE, requires
from server.db import get_db
from server.report import build_report
from server.web import forms
from shared.clock import local_date, utc_now

bp = Blueprint("progress", __name__)


class ScopeArgs(Schema):
    """Which year and unit a page is about (query string)."""

    year = fields.Integer(
        load_default=lambda: local_date(utc_now()).year, validate=validate.Range(2000, 2200)
    )
    unit = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6,12}$"))


def scope_args() -> dict[str, Any]:
    return forms.load(ScopeArgs(), {k: v for k, v in request.args.items() if k in ("year", "unit")})


@bp.get("/progress")
@requires(*ANYONE)
def overview() -> str:
    scope = scope_args()
    report = build_report(get_db(), scope["year"], scope["unit"])
    return render_template("progress.html", report=report, scope=scope)
