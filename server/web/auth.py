"""Signing in and out of the bureau's pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from marshmallow import Schema, ValidationError, fields, validate

from server.accounts import signins, users
from server.accounts.access import SESSION_TOKEN, current_user
from server.store.db import get_db
from shared.redirects import same_site_or

bp = Blueprint("auth", __name__)


class SignInForm(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 40))
    password = fields.String(required=True, validate=validate.Length(1, 200))
    next = fields.String(load_default="")


@bp.route("/signin", methods=["GET", "POST"])
def sign_in() -> Any:
    next_path = request.values.get("next", "")
    if request.method == "GET":
        if current_user() is not None:
            return redirect(same_site_or(next_path, url_for("root")))
        return render_template("signin.html", next=next_path, error=None)
    try:
        form = SignInForm().load(
            {key: request.form.get(key, "") for key in ("name", "password", "next")}
        )
    except ValidationError:
        form = None
    try:
        if form is None:
            raise users.SignInRefused()
        user = users.sign_in(get_db(), form["name"], form["password"], request.remote_addr or "")
    except (users.SignInRefused, users.TooManyFailures) as exc:
        return render_template("signin.html", next=next_path, error=exc.message), exc.status
    token = signins.open_session(get_db(), user.id)
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session[SESSION_TOKEN] = token
    if lang:
        session["lang"] = lang
    return redirect(same_site_or(form["next"], url_for("root")))


@bp.post("/signout")
def sign_out() -> Any:
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str):
        # Ended here too: a copy of the cookie saved before signing out opens nothing.
        signins.close_session(get_db(), token)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.sign_in"))
