"""The year's figures against targets, as JSON for pages and other systems."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from server.accounts.access import require_report_reader
from server.api.protocol import API_TOKEN, Blueprint
from server.api.scope import ScopeQuerySchema, api_scope
from server.plan.breakdowns import BY, breakdown
from server.plan.report import build_report
from server.store.db import get_db

blp = Blueprint("reports", __name__, description="目标完成情况 / Progress against targets")
# Not public: a signed-in bureau user, or a token an admin issued (Authorization: Bearer tjr_...).
blp.before_request(require_report_reader)


class ReportQuerySchema(ScopeQuerySchema):
    monthly = fields.Boolean(load_default=True)
    questioned = fields.String(
        load_default="include",
        validate=validate.OneOf(("include", "exclude")),
        metadata={
            "description": "exclude: 剔除存疑记录后的数字 / figures with records under question "
            "left out (每个数字都如此计算 / every figure computed so)"
        },
    )


class BreakdownQuerySchema(ReportQuerySchema):
    by = fields.String(required=True, validate=validate.OneOf(BY))
    sort = fields.String(load_default=None)


class ReportSchema(Schema):
    year = fields.Integer()
    unit = fields.Dict()
    as_of = fields.String()
    year_elapsed = fields.Float()
    exclude_questioned = fields.Boolean(
        metadata={"description": "已剔除存疑记录 / records under question left out"}
    )
    indicators = fields.List(fields.Dict())


class BreakdownSchema(Schema):
    year = fields.Integer()
    by = fields.String()
    unit = fields.Dict(allow_none=True)
    envoy_id = fields.String(allow_none=True)
    as_of = fields.String()
    exclude_questioned = fields.Boolean()
    indicators = fields.List(fields.Dict())
    additive = fields.List(fields.String())
    rows = fields.List(fields.Dict())
    total = fields.Dict()
    total_targets = fields.Dict(
        metadata={
            "description": "本单位自己的目标，按目标进度判断 / the unit's own targets, judged"
        }
    )


@blp.route("/<int:year>")
class Report(MethodView):
    @blp.doc(security=[{API_TOKEN: []}])
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportSchema)
    def get(self, query: dict[str, Any], year: int) -> dict[str, Any]:
        """Each indicator's actual, target, status, pace, projection and monthly figures."""
        # UnknownYear, UnknownUnit, UnknownEnvoy, OthersRows: answered by the app's one
        # TianjianError handler.
        scope = api_scope(year)
        return build_report(
            get_db(),
            scope.year,
            scope.unit,
            envoy_id=scope.envoy,
            monthly=query["monthly"],
            exclude_questioned=query["questioned"] == "exclude",
        )


@blp.route("/<int:year>/breakdown")
class Breakdown(MethodView):
    @blp.doc(security=[{API_TOKEN: []}])
    @blp.arguments(BreakdownQuerySchema, location="query")
    @blp.response(200, BreakdownSchema)
    def get(self, query: dict[str, Any], year: int) -> dict[str, Any]:
        """A unit's figures by township, village, envoy, month, technology, kind or gender."""
        scope = api_scope(year)
        return breakdown(
            get_db(),
            scope.year,
            query["by"],
            scope.unit,
            scope.envoy,
            sort=query["sort"],
            exclude_questioned=query["questioned"] == "exclude",
        )
