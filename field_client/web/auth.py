"""The envoy's sign-in: a PIN set at enrolment or first `serve`, or here on this computer itself."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from field_client import pin
from field_client.web import security
from field_client.web.db import get_store
from field_client.web.i18n import say

bp = Blueprint("auth", __name__)

LOOPBACK = ("127.0.0.1", "::1")


def _safe_next() -> str:
    target = request.values.get("next") or ""
    # Only our own paths: never a redirect to another site.
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("envoy.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    store = get_store()
    if not pin.has_pin(store):
        return redirect(url_for("auth.setup"))
    if request.method == "POST":
        try:
            pin.check_pin(store, request.form.get("pin", ""))
        except pin.PinRefused as exc:
            return render_template("auth/login.html", error=say(exc.message)), 403
        security.sign_in()
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


@bp.post("/logout")
def logout() -> Response:
    security.sign_out()
    return redirect(url_for("auth.login"))
