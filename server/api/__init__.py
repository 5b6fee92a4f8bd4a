"""The REST API under /api/v1: one module per resource, one error body for all of them."""

from __future__ import annotations

from typing import Any

from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from server.api import enrolments, ledger, media, reconciliation, reports, sync, upstream
from server.api.protocol import (
    API_TOKEN,
    DEVICE_REPORT_PARAMETER,
    DEVICE_TIME_PARAMETER,
    DEVICE_TOKEN,
    PROTOCOL_PARAMETER,
)
from server.errors import DEFAULT_MESSAGES
from shared import device_report
from shared import protocol as p
from shared.marshmallow_zh import bilingual


class TianjianApi(Api):
    """flask-smorest's Api, with every error body carrying code, status, message and errors."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", DEFAULT_MESSAGES.get(code or 500, error.description or ""))
        # webargs' refusals carry marshmallow's English alone: give each its Chinese.
        payload["errors"] = bilingual(payload.get("errors", {}))
        # The headers the exception itself carries (a 405's Allow, a 401's WWW-Authenticate):
        # flask-smorest's handler drops them.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                headers.setdefault(name, value)
        return payload, code, headers


def register_api(api: Api) -> None:
    describe_protocol(api)
    api.register_blueprint(
        enrolments.blp, url_prefix="/api/v1/enrolments", parameters=[PROTOCOL_PARAMETER]
    )
    api.register_blueprint(
        sync.blp,
        url_prefix="/api/v1/sync",
        parameters=[PROTOCOL_PARAMETER, DEVICE_TIME_PARAMETER, DEVICE_REPORT_PARAMETER],
    )
    api.register_blueprint(
        media.blp,
        url_prefix="/api/v1/media",
        parameters=[PROTOCOL_PARAMETER, DEVICE_TIME_PARAMETER, DEVICE_REPORT_PARAMETER],
    )
    api.register_blueprint(
        upstream.blp, url_prefix="/api/v1/upstream", parameters=[PROTOCOL_PARAMETER]
    )
    api.register_blueprint(reports.blp, url_prefix="/api/v1/reports")
    api.register_blueprint(reconciliation.blp, url_prefix="/api/v1/reconciliation")
    api.register_blueprint(ledger.blp, url_prefix="/api/v1/reconciliation")


def describe_protocol(api: Api) -> None:
    """Name in the OpenAPI document what every request carries: the protocol header, the
    device's clock, and the bearer tokens, so a client made from the document can call."""
    components = api.spec.components
    components.security_scheme(
        DEVICE_TOKEN,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "设备令牌，登记时获得 / the device token returned by POST /api/v1/enrolments",
        },
    )
    components.security_scheme(
        API_TOKEN,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "管理员签发的 API 令牌 (tjr_…) / an API token an admin issued (tjr_…); "
            "a signed-in bureau session also works",
        },
    )
    components.parameter(
        PROTOCOL_PARAMETER,
        "header",
        {
            "name": p.HEADER_PROTOCOL,
            "required": True,
            # check_protocol reads at most six digits.
            "schema": {"type": "integer", "minimum": p.MIN_CLIENT_PROTOCOL, "maximum": 999_999},
            "example": p.PROTOCOL_VERSION,
            "description": "客户端所用的同步协议版本 / the sync protocol version the client "
            f"speaks; older than {p.MIN_CLIENT_PROTOCOL} is answered 426",
        },
    )
    components.parameter(
        DEVICE_TIME_PARAMETER,
        "header",
        {
            "name": p.HEADER_DEVICE_TIME,
            "required": False,
            "schema": {"type": "integer", "minimum": -(10**15) + 1, "maximum": 10**15 - 1},
            "description": "设备时钟，自 1970 年起的毫秒数 / the device's clock in milliseconds "
            "since 1970, to measure its skew",
        },
    )
    components.parameter(
        DEVICE_REPORT_PARAMETER,
        "header",
        {
            "name": p.HEADER_DEVICE_REPORT,
            "required": False,
            "schema": {
                "type": "string",
                "maxLength": device_report.MAX_LENGTH,
                "pattern": device_report.PATTERN,
            },
            "example": "c=1234,session=12/1/1,attendance=300/5/4/1/2",
            "description": "设备持有的记录：拉取游标，以及每类记录的 在用/待发/新建/待删/被拒 数 / "
            "what the device holds: its pull cursor and, per field kind, live/waiting/new/gone/"
            "refused (trailing zeros left out; see docs/sync.md); a malformed one is answered 400",
        },
    )
