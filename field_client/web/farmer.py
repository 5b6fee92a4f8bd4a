"""Farmers' own pages: open from the poster's QR (or address and code), check in, see a colour.

No sign-in, no JavaScript, and nothing shown but the one session and the farmer's own name.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from field_client import qr_checkin
from field_client.qr_checkin import CheckinRefused, Poster
from field_client.web import forms
from field_client.web.db import get_store
from field_client.web.i18n import say
from shared import protocol as p
from shared.errors import InvalidMobile, InvalidRecord, TianjianError
from shared.mobile import normalise_mobile
from shared.schemas.field import GENDERS

bp = Blueprint("farmer", __name__)

PHONE_COOKIE = "tj_phone"
PHONE_COOKIE_AGE = 2 * 365 * 86400


@bp.route("/c", methods=["GET", "POST"])
def enter_code() -> Response | str:
    """For farmers who typed the address: the session code printed on the poster."""
    code = (request.values.get("code") or "").strip()
    if code:
        return redirect(url_for("farmer.checkin_page", code=code))
    return render_template("farmer/code.html")


def _villages() -> list[dict[str, Any]]:
    units = get_store().reference(p.UNIT)
    return sorted((u for u in units if u.get("level") == "village"), key=lambda u: u["code"])


def _red(exc: CheckinRefused) -> tuple[str, int]:
    return render_template("farmer/answer.html", colour="red", message=say(exc.message)), exc.status


def _answer(ticket: Poster, done: qr_checkin.Checkin) -> str:
    if done.new:
        return render_template(
            "farmer/answer.html", colour="green", name=done.farmer["name"], ticket=ticket
        )
    return render_template(
        "farmer/answer.html",
        colour="orange",
        name=done.farmer["name"],
        first_at=done.checked_in_at,
        ticket=ticket,
    )


def _page(ticket: Poster, known: list[dict[str, Any]], **extra: Any) -> str:
    return render_template(
        "farmer/checkin.html",
        ticket=ticket,
        known=known,
        villages=_villages(),
        genders=GENDERS,
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@bp.route("/c/<code>", methods=["GET", "POST"], defaults={"token": None})
@bp.route("/c/<code>/<token>", methods=["GET", "POST"])
def checkin_page(code: str, token: str | None) -> Response | str | tuple[str, int]:
    store = get_store()
    try:
        ticket = qr_checkin.open_checkin(store, code, token)
    except CheckinRefused as exc:
        return _red(exc)
    cookie = request.cookies.get(PHONE_COOKIE)
    known = qr_checkin.farmers_of_phone(store, cookie)
    if request.method == "GET":
        return _page(ticket, known)

    action = request.form.get("action")
    if action == "known":
        # Only a farmer this phone checked in before: never an id picked from elsewhere.
        farmer_id = request.form.get("farmer_id", "")
        if farmer_id not in {f["id"] for f in known}:
            return _page(ticket, known, message=_("Please choose your name again."))
        return _checked_in(ticket, farmer_id, cookie)
    if action == "mobile":
        typed = request.form.get("mobile", "")
        try:
            mobile = normalise_mobile(typed)
        except InvalidMobile as exc:
            return _page(ticket, known, mobile_error=say(exc.message), values={"mobile": typed})
        farmer = qr_checkin.farmer_with_mobile(store, mobile)
        if farmer is None:
            return _page(
                ticket,
                known,
                message=_("This number is not registered yet: please fill in the form below."),
                values={"mobile": typed},
            )
        return _checked_in(ticket, farmer["id"], cookie)
    if action == "new":
        values, errors = forms.farmer_values(request.form)
        if not request.form.get("consent"):
            errors["consent"] = _("Please read the notice and tick the box to agree.")
        if errors:
            return _page(ticket, known, values=request.form, errors=errors)
        try:
            return _checked_in(ticket, None, cookie, values)
        except InvalidRecord as exc:
            return _page(ticket, known, values=request.form, errors=forms.field_errors(exc))
        except CheckinRefused:
            raise
        except TianjianError as exc:
            # A village this device does not know, say: shown on the form, not as an error page.
            return _page(ticket, known, values=request.form, message=say(exc.message))
    return _page(ticket, known)


def _checked_in(
    ticket: Poster,
    farmer_id: str | None,
    cookie: str | None,
    new_farmer: dict[str, Any] | None = None,
) -> Response:
    cookie = cookie or qr_checkin.new_phone_cookie()
    done = qr_checkin.self_checkin(get_store(), ticket.session["id"], cookie, farmer_id, new_farmer)
    response = make_response(_answer(ticket, done))
    response.set_cookie(
        PHONE_COOKIE, cookie, max_age=PHONE_COOKIE_AGE, httponly=True, samesite="Lax"
    )
    return response
