"""The envoy's sign-in: a PIN set at enrolment or first `serve`, or here on this computer itself."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from field_client import pin
from field_client.web import security
from field_client.web.db import get_store
from field_client.web.i18n import say
from shared.redirects import same_site_or

bp = Blueprint("auth", __name__)

LOOPBACK = ("127.0.0.1", "::1")


def _safe_next() -> str:
    return same_site_or(request.values.get("next"), url_for("envoy.home"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    store = get_store()
    if not pin.has_pin(store):
        return redirect(url_for("auth.setup"))
    if request.method == "GET" and security.signed_in():
        # A tab restored at the sign-in address after signing in goes where it was going.
        return redirect(_safe_next())
    if request.method == "POST":
        try:
            too_short = pin.check_pin(
                store, request.form.get("pin", ""), request.remote_addr or pin.UNKNOWN_ADDRESS
            )
        except pin.PinRefused as exc:
            return render_template("auth/login.html", error=say(exc.message)), 403
        security.sign_in()
        if too_short:
            flash(
                _(
                    "Your PIN is shorter than %(n)s digits: please choose a longer one.",
                    n=pin.MIN_LENGTH,
                )
            )
            return redirect(url_for("auth.change_pin", next=_safe_next()))
        return redirect(_safe_next())
    return render_template("auth/login.html", error=None)


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Response | str | tuple[str, int]:
    """First PIN, only when none is set and only from this computer (not over the hotspot)."""
    store = get_store()
    if pin.has_pin(store):
        return redirect(url_for("auth.login"))
    local_request = request.remote_addr in LOOPBACK
    if request.method == "POST" and local_request:
        first, again = request.form.get("pin", ""), request.form.get("pin_again", "")
        if first != again:
            error = _("The two entries differ.")
            return render_template("auth/setup.html", error=error, local=local_request), 422
        try:
            pin.set_pin(store, first)
        except pin.PinRefused as exc:
            return render_template("auth/setup.html", error=say(exc.message), local=True), 422
        security.sign_in()
        flash(_("PIN set."))
        return redirect(url_for("envoy.home"))
    return render_template("auth/setup.html", error=None, local=local_request)


@bp.route("/pin", methods=["GET", "POST"])
def change_pin() -> Response | str | tuple[str, int]:
    """A new PIN, after the current one: every other page session is signed out."""
    refused = security.require_envoy()
    if refused is not None:
        return refused
    if request.method == "GET":
        return render_template("auth/change_pin.html", error=None, next=_safe_next())
    store = get_store()
    first, again = request.form.get("pin", ""), request.form.get("pin_again", "")
    try:
        pin.check_pin(
            store, request.form.get("current", ""), request.remote_addr or pin.UNKNOWN_ADDRESS
        )
        if first != again:
            raise pin.PinRefused("两次输入不一致 / the two entries differ")
        pin.set_pin(store, first)
    except pin.PinRefused as exc:
        page = render_template("auth/change_pin.html", error=say(exc.message), next=_safe_next())
        return page, 422
    security.sign_in()
    flash(_("PIN changed: every other browser signed in with the old one is signed out."))
    return redirect(_safe_next())


@bp.post("/logout")
def logout() -> Response:
    security.sign_out()
    return redirect(url_for("auth.login"))
