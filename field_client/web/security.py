"""Who may see what: the envoy's PIN session with its idle lock, CSRF, one-time form tokens."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from field_client import local, pin
from field_client.web.db import get_store
from shared.web_headers import add_security_headers

csrf = CSRFProtect()
FORM_TOKEN_FIELD = "form_token"
FORM_TOKEN_MAX_AGE_S = 86400


def signed_in() -> bool:
    """True while the envoy's PIN session is open: not idle too long, not signed out, and not
    ended by a PIN change (its token still on the device, so a copied cookie dies with it)."""
    if "envoy_open" not in g:
        g.envoy_open = _session_valid()
    return bool(g.envoy_open)


def _session_valid() -> bool:
    token, seen = session.get("envoy"), session.get("envoy_seen")
    if not isinstance(token, str) or seen is None:
        return False
    if time.time() - float(seen) > current_app.config["IDLE_LOCK_MINUTES"] * 60:
        return False
    return pin.session_open(get_store(), token)


def sign_in() -> None:
    session.clear()
    session["envoy"] = pin.open_session(get_store())
    session["envoy_seen"] = time.time()
    g.envoy_open = True


def sign_out() -> None:
    token = session.pop("envoy", None)
    session.pop("envoy_seen", None)
    if isinstance(token, str):
        pin.close_session(get_store(), token)
    g.envoy_open = False


def require_envoy() -> Response | None:
    """before_request of every envoy blueprint: no PIN session, no page (nor any record)."""
    if not signed_in():
        if session.get("envoy"):
            sign_out()
            flash(_("Locked after a while without use: enter the PIN again."))
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target))
    # Live polling does not count as use: a page left open still locks.
    if not request.headers.get("X-Tianjian-Poll"):
        session["envoy_seen"] = time.time()
    return None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="one-time-form")


def form_token() -> str:
    """A token for one form: submitted twice (a replay, a double tap) it is refused the 2nd time."""
    return _serializer().dumps(secrets.token_urlsafe(12))


def one_time_form(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a POST view: a form whose token was used already is sent back, nothing done."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method != "POST":
            return view(*args, **kwargs)
        token = request.form.get(FORM_TOKEN_FIELD, "")
        try:
            _serializer().loads(token, max_age=FORM_TOKEN_MAX_AGE_S)
        except BadSignature:
            flash(_("This form has expired: it was not saved. Please fill it in again."))
            return redirect(request.url)
        if not local.use_form_token(get_store(), token):
            flash(_("This form was already submitted: nothing was added."))
            return redirect(request.url)
        return view(*args, **kwargs)

    return wrapper


def _security_headers(response: Response) -> Response:
    add_security_headers(response.headers)
    return response


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.after_request(_security_headers)
    app.jinja_env.globals["form_token"] = form_token
    app.jinja_env.globals["signed_in"] = signed_in
