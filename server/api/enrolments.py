"""Enrolment: a field device trades a one-time code for its own long-lived token."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from server.api.protocol import (
    Blueprint,
    add_protocol_headers,
    require_protocol,
    server_hlc,
)
from server.store.db import get_db
from server.sync.devices import enrol_device
from shared import protocol as p
from shared.schemas.sync import EnrolmentRequestSchema, EnrolmentResponseSchema

blp = Blueprint("enrolments", __name__, description="设备登记 / Device enrolment")
blp.before_request(require_protocol)
blp.after_request(add_protocol_headers)


@blp.route("")
class Enrolments(MethodView):
    @blp.arguments(EnrolmentRequestSchema)
    @blp.response(201, EnrolmentResponseSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Enrol a device with a one-time code from the bureau."""
        enrolled = enrol_device(get_db(), body["code"], body["device_name"])
        return {**enrolled, "server_hlc": server_hlc(), "protocol": p.PROTOCOL_VERSION}
