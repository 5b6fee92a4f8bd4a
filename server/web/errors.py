"""One way errors reach people: JSON under /api, a page in Chinese and English everywhere else."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask, render_template, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, InternalServerError

from server.errors import DEFAULT_MESSAGES, error_body
from server.store.db import storage_full
from server.store.dialect import is_url
from shared.errors import TianjianError


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _page(status: int, message: str, errors: dict[str, object]) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message, errors=errors), status


def register(app: Flask, api: Api) -> None:
    def tianjian_error(exc: TianjianError) -> Any:
        if _wants_json():
            return error_body(exc), exc.status, getattr(exc, "headers", {})
        return _page(exc.status, exc.message, exc.errors)

    def http_error(exc: HTTPException) -> Any:
        if _wants_json():
            return api.handle_http_exception(exc)
        code = exc.code or 500
        if isinstance(exc, InternalServerError):
            app.logger.error("unhandled error on %s", request.path, exc_info=exc.original_exception)
        message = DEFAULT_MESSAGES.get(code, exc.description or "")
        if code == 400 and "CSRF" in (exc.description or ""):
            message = "表单已过期或缺少安全令牌，请刷新页面后重试 / the form expired or lacks its security token: reload the page and try again"
        # A 405's Allow, a 401's WWW-Authenticate: the headers the exception carries.
        carried = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return (*_page(code, message, {}), carried)

    def database_error(exc: Exception) -> Any:
        full = storage_full(exc)
        if full is None:
            raise exc
        app.logger.error("disk full on %s", request.path, exc_info=exc)
        return tianjian_error(full)

    app.register_error_handler(TianjianError, tianjian_error)
    app.register_error_handler(sqlite3.OperationalError, database_error)
    if is_url(str(app.config["DATABASE"])):
        # Only an app on PostgreSQL imports psycopg: a county's on SQLite never loads it.
        import psycopg

        app.register_error_handler(psycopg.errors.DiskFull, database_error)
    app.register_error_handler(HTTPException, http_error)
