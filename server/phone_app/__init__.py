"""The envoy's phone app (issue 22): an installable offline web app served at /app/."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, redirect, request
from werkzeug.wrappers import Response

from server.phone_app import shell

bp = Blueprint("phone_app", __name__, url_prefix="/app")


def _answer(body: bytes, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    if len(body) >= shell.GZIP_FROM_BYTES and "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(shell.gzipped(body))
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    # Always asked again (cheaply, by ETag): the service worker serves the app offline, and a
    # fresh server's files must reach it at the worker's next update check.
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response


@bp.get("")
def bare() -> Response:
    return redirect(shell.PREFIX)


@bp.get("/")
def index() -> Response:
    page = shell.shell_files()[""]
    return _answer(page.body, page.mimetype).make_conditional(request)


@bp.get("/sw.js")
def worker() -> Response:
    response = _answer(shell.worker_js(), "text/javascript")
    response.headers["Service-Worker-Allowed"] = shell.PREFIX
    return response.make_conditional(request)


@bp.get("/<path:path>")
def shell_file(path: str) -> Response:
    found = shell.shell_files().get(path)
    if found is None or not path:
        abort(404)
    return _answer(found.body, found.mimetype).make_conditional(request)


def register_phone_app(app: Flask) -> None:
    app.register_blueprint(bp)
