"""What every sync request must carry: a protocol version we speak, and a device token."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

from flask import Response, current_app, g, request
from flask_smorest import abort
from werkzeug.exceptions import HTTPException

from server.db import get_db, get_state
from server.devices import authenticate, record_contact
from shared import protocol as p
from shared.clock import wall_ms


class UpgradeRequired(HTTPException):
    """426: Werkzeug has no exception for it, so abort(426) would be a LookupError (a 500)."""

    code = 426
    description = "client protocol too old"


def check_protocol() -> int:
    raw = request.headers.get(p.HEADER_PROTOCOL, "")
    if not raw.isdigit():
        abort(
            400, message=f"缺少协议版本头 {p.HEADER_PROTOCOL} / missing {p.HEADER_PROTOCOL} header"
        )
    version = int(raw)
    if version < p.MIN_CLIENT_PROTOCOL:
        error = UpgradeRequired()
        error.data = {  # type: ignore[attr-defined]
            "message": (
                f"客户端版本过旧（协议 {version}），请更新田间客户端 / client too old "
                f"(protocol {version}); please update the field client to protocol {p.PROTOCOL_VERSION}"
            )
        }
        raise error
    return version


def require_protocol() -> None:
    check_protocol()


def authenticate_device() -> None:
    version = check_protocol()
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        abort(
            401,
            message="需要设备令牌，请先登记设备 / device token required: enrol this device first",
        )
    # An unknown or revoked token raises BadToken: a 401 through the app's one error handler.
    g.device = authenticate(get_db(), header[len("Bearer ") :])
    device_time = request.headers.get(p.HEADER_DEVICE_TIME, "")
    g.skew_ms = int(device_time) - wall_ms() if device_time.lstrip("-").isdigit() else None
    g.protocol = version


def note_contact() -> None:
    """Remember when the authenticated device was last heard from, its clock skew and protocol.

    A write, so each view calls it where it may write: a push waiting for the one before it
    would otherwise wait on SQLite's write lock outside the queue for pushes.
    """
    record_contact(get_db(), g.device.id, g.skew_ms, g.protocol)


def read_json_body() -> Any:
    """The request body, gunzipped within the configured cap, parsed as JSON."""
    data = request.get_data(cache=False)
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        limit = current_app.config["MAX_DECOMPRESSED_BYTES"]
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data, limit + 1)
        except zlib.error:
            abort(400, message="请求体不是有效的 gzip / request body is not valid gzip")
        if len(data) > limit or inflater.unconsumed_tail:
            abort(413, message=f"解压后超过 {limit} 字节 / decompressed body exceeds {limit} bytes")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        abort(400, message=f"请求体不是有效的 JSON / request body is not valid JSON: {exc}")


def add_protocol_headers(response: Response) -> Response:
    response.headers[p.HEADER_PROTOCOL] = str(p.PROTOCOL_VERSION)
    response.headers[p.HEADER_CAPABILITIES] = ",".join(p.CAPABILITIES)
    response.headers[p.HEADER_SERVER_TIME] = str(wall_ms())
    return response


def gzip_if_accepted(response: Response) -> Response:
    """Compress answers to clients that accept it; on 2G every byte costs time."""
    if (
        "gzip" in request.headers.get("Accept-Encoding", "").lower()
        and response.status_code == 200
        and not response.direct_passthrough
        and response.content_length is not None
        and response.content_length > 256
    ):
        response.set_data(gzip.compress(response.get_data(), compresslevel=6))
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
    return response


def server_hlc() -> str:
    return get_state(get_db(), "hlc") or ""
