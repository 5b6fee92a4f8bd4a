"""What every sync request must carry: a protocol version we speak, and a device token."""

from __future__ import annotations

import functools
import gzip
import json
import re
import zlib
from dataclasses import replace
from typing import Any

import flask_smorest
from flask import Request, Response, current_app, g, request
from flask_smorest import abort
from marshmallow import missing
from webargs.flaskparser import FlaskParser, is_json_request

from server.store.db import get_db, get_state
from server.sync.device import Device
from server.sync.device_reports import record_report
from server.sync.devices import authenticate_reading, record_contact
from server.sync.pull import STANDING_COLUMNS, standing_of
from server.upstream.accept import HEADER_ENVOY, LinkOnlyPushes, act_for
from shared import protocol as p
from shared.clock import wall_ms
from shared.device_report import decode
from shared.errors import ClientTooOld

# Names in the OpenAPI document (components) of what sync requests carry.
DEVICE_TOKEN = "deviceToken"
API_TOKEN = "apiToken"
PROTOCOL_PARAMETER = "Protocol"
DEVICE_TIME_PARAMETER = "DeviceTime"
DEVICE_REPORT_PARAMETER = "DeviceReport"


def _is_integer_text(text: str, max_digits: int) -> bool:
    """ASCII digits (after one optional minus), at most `max_digits` of them: int() of such text
    cannot fail, unlike of "²", "--5" or 5,000 digits, and fits an SQLite integer."""
    digits = text[1:] if text.startswith("-") else text
    return 0 < len(digits) <= max_digits and digits.isascii() and digits.isdigit()


def check_protocol() -> int:
    raw = request.headers.get(p.HEADER_PROTOCOL, "")
    if not raw:
        abort(
            400, message=f"缺少协议版本头 {p.HEADER_PROTOCOL} / missing {p.HEADER_PROTOCOL} header"
        )
    if raw.startswith("-") or not _is_integer_text(raw, 6):
        abort(
            400,
            message=f"协议版本头 {p.HEADER_PROTOCOL} 须为整数 / {p.HEADER_PROTOCOL} header must "
            "be a whole number",
            errors={p.HEADER_PROTOCOL: ["须为整数 / must be a whole number"]},
        )
    version = int(raw)
    if version < p.MIN_CLIENT_PROTOCOL:
        # A 426 through the app's one TianjianError handler (Werkzeug has no exception for it).
        raise ClientTooOld(
            f"客户端版本过旧（协议 {version}），请更新田间客户端 / client too old "
            f"(protocol {version}); please update the field client to protocol {p.PROTOCOL_VERSION}"
        )
    return version


def require_protocol() -> None:
    check_protocol()


# A pull's first read (where the server and the device stand) rides with the token's lookup:
# a device polling for news costs one statement (server/sync/pull.py).
_PULL_ENDPOINT = "sync.Pull"


# A device sends the same report with every request until what it holds changes (a device
# polling for news, every time): the text decodes to the same report, which is only read, so
# each process decodes a text once. A malformed text raises and is not kept: refused each time.
_decoded = functools.lru_cache(maxsize=1024)(decode)


def authenticate_device() -> None:
    version = check_protocol()
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        abort(
            401,
            message="需要设备令牌，请先登记设备 / device token required: enrol this device first",
        )
    # An unknown or revoked token raises BadToken: a 401 through the app's one error handler.
    pulling = request.endpoint == _PULL_ENDPOINT
    device, read = authenticate_reading(
        get_db(), header[len("Bearer ") :], STANDING_COLUMNS if pulling else ""
    )
    g.standing = standing_of(read) if pulling else None
    said = request.headers.get(p.HEADER_CAPABILITIES, "")
    if device.county_code:
        device = _as_link(device)
    g.device = replace(device, capabilities=frozenset(c.strip() for c in said.split(",")))
    g.skew_ms = _device_skew_ms()
    g.protocol = version
    # Read (and refused when malformed: a 400 naming the header) before any work is done.
    g.report_text = request.headers.get(p.HEADER_DEVICE_REPORT) or None
    g.report = _decoded(g.report_text) if g.report_text is not None else None


def _as_link(link: Device) -> Device:
    """A county's link pushes records and photo bytes as one envoy of its county at a time and
    calls nothing else of a device's (server/upstream/accept.py)."""
    if request.blueprint == "upstream":
        return link
    # Photo bytes go up as the envoy whose photo records name them (server/upstream/photos_up.py).
    pushing = request.blueprint == "sync" and request.method == "POST"
    if pushing or request.blueprint == "media_upload":
        return act_for(get_db(), link, request.headers.get(HEADER_ENVOY, ""))
    raise LinkOnlyPushes()


# Milliseconds since 1970 have 13 digits until the year 2286; 15 leave room for any clock
# a device could be wrong by while keeping the skew well inside an SQLite integer.
_DEVICE_TIME_DIGITS = 15


def _device_skew_ms() -> int | None:
    """How far the device's clock is ahead of ours, from its optional device-time header."""
    raw = request.headers.get(p.HEADER_DEVICE_TIME)
    if raw is None or raw == "":
        return None
    if not _is_integer_text(raw, _DEVICE_TIME_DIGITS):
        reason = f"须为毫秒整数（至多 {_DEVICE_TIME_DIGITS} 位） / must be whole milliseconds (at most {_DEVICE_TIME_DIGITS} digits)"
        abort(
            400,
            message=f"设备时间头 {p.HEADER_DEVICE_TIME} 无效 / {p.HEADER_DEVICE_TIME} header is "
            "not a time in milliseconds",
            errors={p.HEADER_DEVICE_TIME: [reason]},
        )
    return int(raw) - wall_ms()


def note_contact() -> None:
    """Remember when the authenticated device was last heard from, its clock skew and protocol.

    A write, so each view calls it where it may write: a push waiting for the one before it
    would otherwise wait on SQLite's write lock outside the queue for pushes.
    """
    record_contact(get_db(), g.device.id, g.skew_ms, g.protocol)


def note_report() -> None:
    """Keep what the authenticated device says it holds, if it said anything new (a push's
    report says what it holds once that push is applied, so it is kept after it is)."""
    if g.report is not None:
        record_report(get_db(), g.device.id, g.report, g.report_text)


_NOT_GZIP = "请求体不是有效的 gzip / request body is not valid gzip"
# What a surrogate (U+D800 to U+DFFF) looks like in JSON text: an escape, or the bytes
# json.loads lets through (it decodes with "surrogatepass"). The field client writes text as
# UTF-8, not escapes, so most bodies hold neither a backslash nor the byte 0xED and are not
# searched further; a pair escaped as two escapes is a real character and fine.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE_BYTES = re.compile(rb"\xed[\xa0-\xbf]")


def read_json_body() -> Any:
    """The request body, gunzipped within the configured cap, parsed as JSON."""
    data = request.get_data(cache=False)
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        data = _gunzip(data, current_app.config["MAX_DECOMPRESSED_BYTES"])
    return parse_json(data)


def parse_json(data: bytes) -> Any:
    """JSON text parsed, or a 400 naming what is wrong; never a 500.

    Refused: JSON nested too deep for the parser, a number too long to read (over 4,300
    digits), text that is not Unicode, a lone surrogate anywhere (it cannot be stored).
    """
    try:
        body = json.loads(data)
    except RecursionError:
        abort(400, message="请求体 JSON 嵌套过深 / request body JSON is nested too deep")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        abort(400, message=f"请求体不是有效的 JSON / request body is not valid JSON: {exc}")
    except ValueError:
        # Python reads integers of at most 4,300 digits (a guard against slow conversions).
        abort(400, message="请求体中的数字过长 / a number in the request body is too long")
    if _may_hold_surrogate(data):
        where = _lone_surrogate_at(body)
        if where is not None:
            abort(
                400,
                message=f"请求体含有无效的 Unicode 字符（孤立代理项） / request body has a lone "
                f"surrogate, which is not a character: {where}",
                errors={where: ["孤立代理项不是字符 / a lone surrogate is not a character"]},
            )
    return body


class BodyParser(FlaskParser):
    """webargs' parser, reading JSON bodies through parse_json (webargs' own json.loads lets a
    deep or huge body through as a 500)."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return missing
        return parse_json(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the safe body parser; every API module uses this one."""

    ARGUMENTS_PARSER = BodyParser()


def _gunzip(data: bytes, limit: int) -> bytes:
    """The gzip member in `data`, whole: its length and CRC checked, nothing after it."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        plain = inflater.decompress(data, limit + 1)
    except zlib.error:
        abort(400, message=_NOT_GZIP)
    if len(plain) > limit or inflater.unconsumed_tail:
        abort(413, message=f"解压后超过 {limit} 字节 / decompressed body exceeds {limit} bytes")
    # zlib checks the CRC and length only when it reaches the trailer: a stream cut short
    # inflates without complaint, so a cut upload must be refused here.
    if not inflater.eof:
        abort(400, message=f"{_NOT_GZIP} (数据不完整 / cut short)")
    if inflater.unused_data:
        abort(400, message=f"{_NOT_GZIP} (gzip 之后还有数据 / data after the gzip stream)")
    return plain


def _may_hold_surrogate(data: bytes) -> bool:
    """Whether the raw body holds a surrogate's mark: for nearly every body, two byte searches."""
    return bool(
        # One byte is found with memchr (~1 ms for 20 MB); "\\u" itself took a hundred times that.
        (b"\\" in data and _SURROGATE_ESCAPE.search(data))
        or (b"\xed" in data and _SURROGATE_BYTES.search(data))
    )


def _lone_surrogate_at(body: Any) -> str | None:
    """Where in the parsed body a text (or key) holds a lone surrogate, as a dotted path.

    A loop, not recursion: the body may be nested as deep as the parser allows."""
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if not _is_unicode(value):
                return where or "body"
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                if not _is_unicode(key):
                    return f"{where}.{key!a}" if where else ascii(key)
                stack.append((f"{where}.{key}" if where else key, item))
        elif isinstance(value, list):
            stack.extend(
                (f"{where}.{index}" if where else str(index), item)
                for index, item in enumerate(value)
            )
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
