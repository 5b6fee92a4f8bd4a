"""A county's link to its province: enrolling with a code, and naming its county's envoys."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from server.api.protocol import (
    DEVICE_TOKEN,
    Blueprint,
    add_protocol_headers,
    authenticate_device,
    require_protocol,
)
from server.plan.province_targets import targets_for_county
from server.quality.reviews import MAX_NOTE
from server.reference.province_catalogue import catalogue_for_county
from server.store.db import get_db
from server.upstream.accept import NotALink, accept_envoys
from server.upstream.codes import enrol_link
from server.upstream.merges_up import OUTCOMES, accept_merges
from server.upstream.reviews_up import CHUNK as REVIEWS_CHUNK
from server.upstream.reviews_up import OUTCOMES as REVIEW_OUTCOMES
from server.upstream.reviews_up import accept_reviews
from shared import protocol as p
from shared import review_status as rs

blp = Blueprint("upstream", __name__, description="县级上报链接 / A county's link to its province")
blp.after_request(add_protocol_headers)


class LinkEnrolSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(1, 40))
    name = fields.String(load_default="county", validate=validate.Length(1, 100))


class LinkEnrolledSchema(Schema):
    device_id = fields.String(required=True)
    token = fields.String(required=True)
    county_code = fields.String(required=True)


class LinkEnvoySchema(Schema):
    id = fields.String(required=True, validate=validate.Length(1, 64))
    name = fields.String(required=True, validate=validate.Length(1, 40))
    township_codes = fields.List(
        fields.String(validate=validate.Regexp(r"^\d{9,12}$")), load_default=list
    )


class LinkEnvoysSchema(Schema):
    envoys = fields.List(
        fields.Nested(LinkEnvoySchema), required=True, validate=validate.Length(max=2000)
    )


class LinkEnvoysAnswerSchema(Schema):
    accepted = fields.Integer(required=True)


class LinkTargetSchema(Schema):
    year = fields.Integer(required=True)
    unit_code = fields.String(required=True)
    indicator = fields.String(required=True)
    comparator = fields.String(allow_none=True)
    value = fields.Float(allow_none=True)
    growth_percent = fields.Float(allow_none=True)


class LinkTargetsSchema(Schema):
    targets = fields.List(fields.Nested(LinkTargetSchema), required=True)


class LinkMergeSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(1, 64))
    canonical_id = fields.String(required=True, validate=validate.Length(1, 64))


class LinkMergesSchema(Schema):
    merges = fields.List(
        fields.Nested(LinkMergeSchema), required=True, validate=validate.Length(max=2000)
    )


class LinkMergesAnswerSchema(Schema):
    answers = fields.List(
        fields.String(validate=validate.OneOf(OUTCOMES)),
        required=True,
        metadata={"description": "每条合并的结果 / each merge's outcome, in order"},
    )


class LinkReviewSchema(Schema):
    record_kind = fields.String(required=True, validate=validate.OneOf(p.FIELD_KINDS))
    record_id = fields.String(required=True, validate=validate.Length(1, 64))
    status = fields.String(required=True, validate=validate.OneOf(rs.STATUSES))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_NOTE))
    reviewed_by = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=100)
    )
    reviewed_at = fields.AwareDateTime(
        format="iso", default_timezone=UTC, load_default=None, allow_none=True
    )


class LinkReviewsSchema(Schema):
    reviews = fields.List(
        fields.Nested(LinkReviewSchema), required=True, validate=validate.Length(max=REVIEWS_CHUNK)
    )


class LinkReviewsAnswerSchema(Schema):
    answers = fields.List(
        fields.String(validate=validate.OneOf(REVIEW_OUTCOMES)),
        required=True,
        metadata={"description": "每条审核的结果 / each review's outcome, in order"},
    )


class LinkCatalogueRowSchema(Schema):
    kind = fields.String(
        required=True, metadata={"enum": ["technology", "variety", "leaflet_title"]}
    )
    id = fields.String(required=True)
    name = fields.String()
    title = fields.String()
    crop = fields.String()
    category = fields.String(allow_none=True)


class LinkCatalogueSchema(Schema):
    catalogue = fields.List(fields.Nested(LinkCatalogueRowSchema), required=True)


@blp.route("/enrol")
class Enrol(MethodView):
    @blp.arguments(LinkEnrolSchema)
    @blp.response(201, LinkEnrolledSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """A county's server trades the province's one-time code for its link's token."""
        require_protocol()
        link = enrol_link(get_db(), body["code"], body["name"])
        return {"device_id": link.device_id, "token": link.token, "county_code": link.county_code}


@blp.route("/envoys")
class Envoys(MethodView):
    @blp.doc(security=[{DEVICE_TOKEN: []}])
    @blp.arguments(LinkEnvoysSchema)
    @blp.response(200, LinkEnvoysAnswerSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """The county's envoys its records name: all of the link's county, or none taken."""
        authenticate_device()
        if not g.device.county_code:
            raise NotALink()
        return {"accepted": accept_envoys(get_db(), g.device, body["envoys"])}


@blp.route("/targets")
class Targets(MethodView):
    @blp.doc(security=[{DEVICE_TOKEN: []}])
    @blp.response(200, LinkTargetsSchema)
    def get(self) -> dict[str, Any]:
        """The targets this province sets for the link's county and the places within it."""
        authenticate_device()
        if not g.device.county_code:
            raise NotALink()
        return {"targets": targets_for_county(get_db(), g.device.county_code)}


@blp.route("/catalogue")
class Catalogue(MethodView):
    @blp.doc(security=[{DEVICE_TOKEN: []}])
    @blp.response(200, LinkCatalogueSchema)
    def get(self) -> dict[str, Any]:
        """The province's catalogue (technologies, varieties, leaflet titles): read-only on the
        county that takes it."""
        authenticate_device()
        if not g.device.county_code:
            raise NotALink()
        return {"catalogue": catalogue_for_county(get_db())}


@blp.route("/merges")
class Merges(MethodView):
    @blp.doc(security=[{DEVICE_TOKEN: []}])
    @blp.arguments(LinkMergesSchema)
    @blp.response(200, LinkMergesAnswerSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """The county staff's merges of its farmers (two records, one person): made here too
        between the county's own copies; `later` for a farmer not yet arrived."""
        authenticate_device()
        if not g.device.county_code:
            raise NotALink()
        return {"answers": accept_merges(get_db(), g.device, body["merges"])}


@blp.route("/reviews")
class Reviews(MethodView):
    @blp.doc(security=[{DEVICE_TOKEN: []}])
    @blp.arguments(LinkReviewsSchema)
    @blp.response(200, LinkReviewsAnswerSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """The county staff's reviews of its records (questioned, returned, approved): set here
        too on the county's own copies; `later` for a record not yet arrived."""
        authenticate_device()
        if not g.device.county_code:
            raise NotALink()
        return {"answers": accept_reviews(get_db(), g.device, body["reviews"])}
