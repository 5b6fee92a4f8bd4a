"""The REST API under /api/v1: one module per resource, one error body for all of them."""

from __future__ import annotations

from typing import Any

from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from server.api import enrolments, reports, sync

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


class TianjianApi(Api):
    """flask-smorest's Api, with every error body carrying code, status, message and errors."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", DEFAULT_MESSAGES.get(code or 500, error.description or ""))
        payload.setdefault("errors", {})
        return payload, code, headers


def register_api(api: Api) -> None:
    api.register_blueprint(enrolments.blp, url_prefix="/api/v1/enrolments")
    api.register_blueprint(sync.blp, url_prefix="/api/v1/sync")
    api.register_blueprint(reports.blp, url_prefix="/api/v1/reports")
