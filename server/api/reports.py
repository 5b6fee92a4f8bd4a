"""The year's figures against targets, as JSON for pages and other systems."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from server.access import require_report_reader
from server.breakdowns import BY, breakdown
from server.db import get_db
from server.report import build_report
from shared.errors import TianjianError
from shared.schemas.types import Id

blp = Blueprint("reports", __name__, description="目标完成情况 / Progress against targets")
# Not public: a signed-in bureau user, or a token an admin issued (Authorization: Bearer tjr_...).
blp.before_request(require_report_reader)


class ReportQuerySchema(Schema):
    unit = fields.String(load_default=None, validate=validate.Regexp(r"^\d{2,12}$"))
    envoy = Id(load_default=None)
    monthly = fields.Boolean(load_default=True)


class BreakdownQuerySchema(ReportQuerySchema):
    by = fields.String(required=True, validate=validate.OneOf(BY))
    sort = fields.String(load_default=None)


class ReportSchema(Schema):
    year = fields.Integer()
    unit = fields.Dict()
    as_of = fields.String()
    year_elapsed = fields.Float()
    indicators = fields.List(fields.Dict())


class BreakdownSchema(Schema):
    year = fields.Integer()
    by = fields.String()
    unit = fields.Dict(allow_none=True)
    envoy_id = fields.String(allow_none=True)
    as_of = fields.String()
    indicators = fields.List(fields.Dict())
    additive = fields.List(fields.String())
    rows = fields.List(fields.Dict())
    total = fields.Dict()


def _year(year: int) -> None:
    if not 2000 <= year <= 2200:
        abort(404, message=f"没有 {year} 年的数据 / no figures for year {year}")


def _answer(error: TianjianError) -> None:
    abort(error.status, message=error.message, errors=error.errors)


@blp.route("/<int:year>")
class Report(MethodView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportSchema)
    def get(self, query: dict[str, Any], year: int) -> dict[str, Any]:
        """Each indicator's actual, target, status, pace, projection and monthly figures."""
        _year(year)
        try:
            return build_report(
                get_db(), year, query["unit"], envoy_id=query["envoy"], monthly=query["monthly"]
            )
        except TianjianError as exc:
            _answer(exc)
            raise


@blp.route("/<int:year>/breakdown")
class Breakdown(MethodView):
    @blp.arguments(BreakdownQuerySchema, location="query")
    @blp.response(200, BreakdownSchema)
    def get(self, query: dict[str, Any], year: int) -> dict[str, Any]:
        """A unit's figures by township, village, envoy, month, technology, kind or gender."""
        _year(year)
        try:
            return breakdown(
                get_db(), year, query["by"], query["unit"], query["envoy"], sort=query["sort"]
            )
        except TianjianError as exc:
            _answer(exc)
            raise
