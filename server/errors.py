"""The body every TianjianError answers with under /api: flask-smorest's error body."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from shared.errors import TianjianError


def status_phrase(status: int) -> str:
    """HTTP's reason phrase for a status ("Not Found"), as flask-smorest writes it."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(error: TianjianError) -> dict[str, Any]:
    """`{code, status, message, errors}`, the body flask-smorest gives its own errors.

    The app's one handler for TianjianError (server/web/errors.py, registered by create_app)
    answers API requests with it, and pages with the same message and errors.
    """
    return {
        "code": error.status,
        "status": status_phrase(error.status),
        "message": error.message,
        "errors": error.errors,
        # What a client needs to carry on, when the error has it (a 409's `received`).
        **getattr(error, "extra", {}),
    }


# Words for errors raised without a message of our own (Werkzeug's are English only).
DEFAULT_MESSAGES = {
    400: "请求有误 / bad request",
    401: "需要登录或设备令牌 / authentication required",
    403: "无权执行此操作 / not allowed",
    404: "找不到该资源 / not found",
    405: "不支持此请求方法 / method not allowed",
    413: "请求太大 / request too large",
    422: "数据无效 / invalid data",
    500: "服务器内部错误，请稍后重试 / internal server error, try again later",
}
