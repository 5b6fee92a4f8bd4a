"""The year's figures against targets, as JSON for pages and other systems."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from server.access import require_report_reader
from server.db import get_db
from server.report import UnknownUnit, build_report

blp = Blueprint("reports", __name__, description="目标完成情况 / Progress against targets")
# Not public: a signed-in bureau user, or a token an admin issued (Authorization: Bearer tjr_...).
blp.before_request(require_report_reader)


class ReportQuerySchema(Schema):
    unit = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6,12}$"))


class ReportSchema(Schema):
    year = fields.Integer()
    unit = fields.Dict()
    as_of = fields.String()
    year_elapsed = fields.Float()
    indicators = fields.List(fields.Dict())


@blp.route("/<int:year>")
class Report(MethodView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportSchema)
    def get(self, query: dict[str, Any], year: int) -> dict[str, Any]:
        """Each indicator's actual value, target, pace and projection for one year and unit."""
        if not 2000 <= year <= 2200:
            abort(404, message=f"没有 {year} 年的数据 / no figures for year {year}")
        try:
            return build_report(get_db(), year, query["unit"])
        except UnknownUnit as exc:
            abort(404, message=f"未知的区划代码 / unknown unit {exc}")
