"""Farmers' own pages: open from the poster's QR (or address and code), check in, see a colour.

No sign-in, no JavaScript, and nothing shown but the one session and the farmer's own name
(a name this phone checked in before or typed itself). What a stranger's phone can repeat is
limited per client address (field_client/checkin_limits.py).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from field_client import checkin_limits, qr_checkin, self_proof
from field_client.checkin_limits import TooManyNew, TooManyTries
from field_client.farmer_villages import villages_for
from field_client.qr_checkin import CheckinRefused, Poster
from field_client.web import forms
from field_client.web.db import get_store
from field_client.web.i18n import say
from shared.errors import InvalidMobile, InvalidRecord, TianjianError
from shared.farmer_limits import app_limits, client_address
from shared.mobile import normalise_mobile
from shared.schemas.field import GENDERS

# Where this app keeps its counts of what clients repeated (shared/farmer_limits.py).
LIMITS_KEY = "checkin_limits"

bp = Blueprint("farmer", __name__)

PHONE_COOKIE = "tj_phone"
PHONE_COOKIE_AGE = 2 * 365 * 86400


@bp.route("/c", methods=["GET", "POST"])
def enter_code() -> Response | str:
    """For farmers who typed the address: the session code printed on the poster."""
    code = qr_checkin.typed_code(request.values.get("code") or "")
    if code:
        return redirect(url_for("farmer.checkin_page", code=code))
    return render_template("farmer/code.html", digits=qr_checkin.CODE_DIGITS)


def _red(exc: TianjianError) -> tuple[str, int]:
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
        villages=villages_for(get_store(), ticket.session),
        genders=GENDERS,
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


def _open(code: str, token: str | None) -> Poster:
    """The session the address names; wrong codes and tokens counted against the client."""
    counted = app_limits(LIMITS_KEY)
    if token is None:
        counted.check_typed_code(client_address())
        counted.check_device_codes()
    try:
        return qr_checkin.open_checkin(get_store(), code, token)
    except (qr_checkin.UnknownCode, qr_checkin.ForgedToken):
        counted.wrong_code(client_address(), typed=token is None)
        raise


@bp.route("/c/<code>", methods=["GET", "POST"], defaults={"token": None})
@bp.route("/c/<code>/<token>", methods=["GET", "POST"])
def checkin_page(code: str, token: str | None) -> Response | str | tuple[str, int]:
    store = get_store()
    try:
        ticket = _open(code, token)
    except (CheckinRefused, TooManyTries) as exc:
        return _red(exc)
    cookie = request.cookies.get(PHONE_COOKIE)
    known = qr_checkin.farmers_of_phone(store, cookie)
    if request.method == "GET":
        return _page(ticket, known)

    action = request.form.get("action")
    try:
        if action == "known":
            # Only a farmer this phone checked in before: never an id picked from elsewhere.
            farmer_id = request.form.get("farmer_id", "")
            if farmer_id not in {f["id"] for f in known}:
                return _page(ticket, known, message=_("Please choose your name again."))
            return _checked_in(ticket, farmer_id, cookie)
        if action in ("mobile", "prove"):
            return _by_mobile(ticket, known, cookie, action == "prove")
        if action == "new":
            return _new(ticket, known, cookie)
    except (TooManyTries, TooManyNew) as exc:
        return _red(exc)
    return _page(ticket, known)


def _by_mobile(
    ticket: Poster, known: list[dict[str, Any]], cookie: str | None, proving: bool
) -> Response | str | tuple[str, int]:
    """A returning farmer types their mobile; unless this phone holds them, they then type
    their name as registered. Neither answer shows a name the phone did not hold."""
    store, typed = get_store(), request.form.get("mobile", "")
    try:
        mobile = normalise_mobile(typed)
    except InvalidMobile as exc:
        return _page(ticket, known, mobile_error=say(exc.message), values={"mobile": typed})
    if proving:
        app_limits(LIMITS_KEY).check_proof(client_address(), mobile)
        try:
            farmer_id = self_proof.claim(store, mobile, request.form.get("name", ""), cookie)
        except self_proof.NotProved as exc:
            app_limits(LIMITS_KEY).wrong_proof(client_address(), mobile)
            return _page(ticket, known, prove=mobile, message=say(exc.message))
        if farmer_id is None:
            app_limits(LIMITS_KEY).wrong_proof(client_address(), mobile)
            return _page(ticket, known, prove=mobile, message=say(self_proof.NotProved.message))
        return _checked_in(ticket, farmer_id, cookie)
    app_limits(LIMITS_KEY).take_lookup(client_address())
    farmer, held = self_proof.farmer_to_prove(store, mobile, cookie)
    if farmer is None:
        return _page(
            ticket,
            known,
            message=_("This number is not registered yet: please fill in the form below."),
            values={"mobile": typed},
        )
    if held:
        return _checked_in(ticket, farmer["id"], cookie)
    return _page(ticket, known, prove=mobile)


def _new(
    ticket: Poster, known: list[dict[str, Any]], cookie: str | None
) -> Response | str | tuple[str, int]:
    """A first-time farmer registers; a mobile someone already has needs that person's name."""
    store = get_store()
    values, errors = forms.farmer_values(request.form)
    if not request.form.get("consent"):
        errors["consent"] = _("Please read the notice and tick the box to agree.")
    if errors:
        return _page(ticket, known, values=request.form, errors=errors)
    try:
        mobile = normalise_mobile(values["mobile"]) if values.get("mobile") else None
    except InvalidMobile:
        mobile = None  # the record's schema names the problem on the form below
    if mobile:
        app_limits(LIMITS_KEY).check_proof(client_address(), mobile)
        try:
            farmer_id = self_proof.claim(store, mobile, values["name"], cookie)
        except self_proof.NotProved:
            app_limits(LIMITS_KEY).wrong_proof(client_address(), mobile)
            taken = say(qr_checkin.MobileTaken.message)
            return _page(ticket, known, values=request.form, errors={"mobile": taken})
        if farmer_id is not None:
            return _checked_in(ticket, farmer_id, cookie)
    checkin_limits.take_new(app_limits(LIMITS_KEY), store, client_address())
    try:
        return _checked_in(ticket, None, cookie, values)
    except qr_checkin.MobileTaken as exc:
        # Registered by someone else a moment ago: nobody is checked in.
        return _page(ticket, known, values=request.form, errors={"mobile": say(exc.message)})
    except InvalidRecord as exc:
        return _page(ticket, known, values=request.form, errors=forms.field_errors(exc))
    except CheckinRefused:
        raise
    except TianjianError as exc:
        # A village this device does not know, say: shown on the form, not as an error page.
        return _page(ticket, known, values=request.form, message=say(exc.message))


def _checked_in(
    ticket: Poster,
    farmer_id: str | None,
    cookie: str | None,
    new_farmer: dict[str, Any] | None = None,
) -> Response:
    cookie = cookie or qr_checkin.new_phone_cookie()
    done = qr_checkin.self_checkin(
        get_store(),
        ticket.session["id"],
        cookie,
        farmer_id,
        new_farmer,
        address=client_address(),
        typed=ticket.typed,
    )
    response = make_response(_answer(ticket, done))
    response.set_cookie(
        PHONE_COOKIE, cookie, max_age=PHONE_COOKIE_AGE, httponly=True, samesite="Lax"
    )
    return response
