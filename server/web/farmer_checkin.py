"""The farmers' check-in page for the QR the phone app shows: the laptop's page (shared/templates/
farmer), served by the server, with the same limits per client address and per device
(shared/farmer_limits.py) and the same care for names. The rules are in server/sync/qr_checkin.py.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, make_response, render_template, request
from werkzeug.wrappers import Response

from server.store.db import get_db
from server.sync import qr_checkin
from server.sync.qr_checkin import QrTicket
from shared.bilingual import half
from shared.checkin_rules import CheckinRefused, NotProved
from shared.errors import InvalidMobile, InvalidRecord, TianjianError
from shared.farmer_limits import (
    NEW_PER_MINUTE,
    TooManyNew,
    TooManyTries,
    app_limits,
    client_address,
)
from shared.farmer_page import english, tr
from shared.mobile import normalise_mobile
from shared.phone_marks import cookie_hash
from shared.schemas.field import GENDERS, validate_fields

# Where this app keeps its counts of what clients repeated (shared/farmer_limits.py).
LIMITS_KEY = "qr_checkin_limits"

bp = Blueprint("farmer_checkin", __name__)

PHONE_COOKIE = "tj_phone"
PHONE_COOKIE_AGE = 2 * 365 * 86400
QR_PATH = "/f/<device_id>/<session_id>/<int:starts>/<int:ends>/<int:margin>/<token>"
LABELS = {
    "name": ("姓名", "Name"),
    "mobile": ("手机号", "Mobile number"),
    "village_code": ("村", "Village"),
    "gender": ("性别", "Gender"),
    "birth_year": ("出生年份", "Year of birth"),
}
# Said with a green answer while the session has not reached the server: the check-in is kept
# and counts once the envoy's phone syncs it.
HELD_NOTE = (
    "特派员的手机同步后，本次签到即计入这场培训。",
    "Your check-in counts for this session once the envoy's phone syncs.",
)
MOBILE_TAKEN = (
    "这个手机号已有人登记，未签到。如是您本人，请在上方输入手机号并填写登记时的姓名，"
    "或请特派员帮您签到 / this number is already registered: nobody was checked in. If it "
    "is yours, type it above with your name as registered, or ask the envoy"
)


@dataclass(frozen=True)
class Ticket:
    """What the shared page shows of the session: the server's copy, or the QR's start time."""

    session: dict[str, Any]


def _say(message: str) -> str:
    return half(message, english=english())


def _red(exc: TianjianError) -> tuple[str, int]:
    page = render_template("farmer/answer.html", colour="red", message=_say(exc.message))
    return page, exc.status


def _ticket(qr: QrTicket) -> Ticket:
    session = qr.session or {}
    return Ticket(
        {
            "title": session.get("title") or tr("培训签到", "Check in to a training"),
            "starts_at": session.get("starts_at") or qr.starts_at,
            "place": session.get("place"),
        }
    )


@dataclass(frozen=True)
class _Village:
    code: str
    label: str


def _page(qr: QrTicket, known: list[dict[str, Any]], **extra: Any) -> str:
    return render_template(
        "farmer/checkin.html",
        ticket=_ticket(qr),
        known=known,
        villages=[_Village(code, label) for code, label in qr_checkin.villages(get_db(), qr)],
        genders=GENDERS,
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


def _open(device_id: str, session_id: str, times: tuple[int, int, int], token: str) -> QrTicket:
    """The QR's session; a client past its wrong tries waits, a wrong token counts against it."""
    counted = app_limits(LIMITS_KEY)
    counted.check_typed_code(client_address())
    try:
        return qr_checkin.open_ticket(get_db(), device_id, session_id, times, token)
    except qr_checkin.ForgedToken:
        counted.wrong_code(client_address(), typed=False)
        raise


@bp.route(QR_PATH, methods=["GET", "POST"])
def checkin_page(
    device_id: str, session_id: str, starts: int, ends: int, margin: int, token: str
) -> Response | str | tuple[str, int]:
    try:
        qr = _open(device_id, session_id, (starts, ends, margin), token)
    except (CheckinRefused, TooManyTries) as exc:
        return _red(exc)
    cookie = request.cookies.get(PHONE_COOKIE)
    phone = cookie_hash(cookie) if cookie else None
    known = qr_checkin.farmers_of_phone(get_db(), phone)
    if request.method == "GET":
        return _page(qr, known)
    action = request.form.get("action")
    try:
        if action == "known":
            # Only a farmer this phone checked in before: never an id picked from elsewhere.
            farmer_id = request.form.get("farmer_id", "")
            if farmer_id not in {f["id"] for f in known}:
                return _page(
                    qr, known, message=tr("请重新选择您的名字。", "Please choose your name again.")
                )
            return _checked_in(qr, farmer_id, cookie)
        if action in ("mobile", "prove"):
            return _by_mobile(qr, known, cookie, action == "prove")
        if action == "new":
            return _new(qr, known, cookie)
    except (TooManyTries, TooManyNew, CheckinRefused) as exc:
        return _red(exc)
    return _page(qr, known)


def _by_mobile(
    qr: QrTicket, known: list[dict[str, Any]], cookie: str | None, proving: bool
) -> Response | str | tuple[str, int]:
    """A returning farmer types their mobile; unless this phone holds them, they then type
    their name as registered. Neither answer shows a name the phone did not hold."""
    db, typed = get_db(), request.form.get("mobile", "")[:40]
    phone = cookie_hash(cookie) if cookie else None
    try:
        mobile = normalise_mobile(typed)
    except InvalidMobile as exc:
        return _page(qr, known, mobile_error=_say(exc.message), values={"mobile": typed})
    if proving:
        app_limits(LIMITS_KEY).check_proof(client_address(), mobile)
        try:
            farmer_id = qr_checkin.claim(db, mobile, request.form.get("name", "")[:80], phone)
        except NotProved as exc:
            app_limits(LIMITS_KEY).wrong_proof(client_address(), mobile)
            return _page(qr, known, prove=mobile, message=_say(exc.message))
        if farmer_id is None:
            app_limits(LIMITS_KEY).wrong_proof(client_address(), mobile)
            return _page(qr, known, prove=mobile, message=_say(NotProved.message))
        return _checked_in(qr, farmer_id, cookie)
    app_limits(LIMITS_KEY).take_lookup(client_address())
    found = qr_checkin.farmer_with_mobile(db, mobile)
    if found is None:
        return _page(
            qr,
            known,
            message=tr(
                "这个手机号还没有登记，请填写下面的表格。",
                "This number is not registered yet: please fill in the form below.",
            ),
            values={"mobile": typed},
        )
    if found["id"] in {f["id"] for f in known}:
        return _checked_in(qr, found["id"], cookie)
    return _page(qr, known, prove=mobile)


def _farmer_values(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A new farmer from the form, validated by the farmer schema; (values, errors)."""
    raw: dict[str, Any] = {
        "name": form.get("name", "").strip()[:80],
        "mobile": form.get("mobile", "").strip()[:40],
        "village_code": form.get("village_code", "").strip()[:40],
        "gender": form.get("gender") or "unspecified",
        "birth_year": form.get("birth_year", "").strip()[:8] or None,
    }
    errors: dict[str, str] = {}
    colon = ": " if english() else "："
    for required in ("name", "mobile", "village_code"):
        if not raw[required]:
            errors[required] = tr(*LABELS[required]) + colon + tr("必填", "required")
    present = {k: v for k, v in raw.items() if v not in ("", None) and k not in errors}
    try:
        clean = validate_fields("farmer", present)
    except InvalidRecord as exc:
        for name, reason in exc.errors.items():
            text = " ".join(map(str, reason)) if isinstance(reason, list) else str(reason)
            errors[name] = tr(*LABELS.get(name, (name, name))) + colon + _say(text)
        return {}, errors
    if errors:
        return {}, errors
    return {k: clean[k] for k in present}, errors


def _new(
    qr: QrTicket, known: list[dict[str, Any]], cookie: str | None
) -> Response | str | tuple[str, int]:
    """A first-time farmer registers; a mobile someone already has needs that person's name."""
    values, errors = _farmer_values(request.form)
    if not request.form.get("consent"):
        errors["consent"] = tr(
            "请阅读说明并勾选同意。", "Please read the notice and tick the box to agree."
        )
    if errors:
        return _page(qr, known, values=request.form, errors=errors)
    mobile = normalise_mobile(values["mobile"])
    phone = cookie_hash(cookie) if cookie else None
    app_limits(LIMITS_KEY).check_proof(client_address(), mobile)
    try:
        farmer_id = qr_checkin.claim(get_db(), mobile, values["name"], phone)
    except NotProved:
        app_limits(LIMITS_KEY).wrong_proof(client_address(), mobile)
        return _page(qr, known, values=request.form, errors={"mobile": _say(MOBILE_TAKEN)})
    if farmer_id is not None:
        return _checked_in(qr, farmer_id, cookie)
    # New farmers per address, and per device's QR across every address.
    app_limits(LIMITS_KEY).take_new(client_address(), NEW_PER_MINUTE, device=qr.device.id)
    values["mobile"] = mobile
    return _checked_in(qr, None, cookie, values)


def _checked_in(
    qr: QrTicket,
    farmer_id: str | None,
    cookie: str | None,
    new_farmer: dict[str, Any] | None = None,
) -> Response:
    cookie = cookie or secrets.token_urlsafe(18)
    done = qr_checkin.check_in(
        get_db(), qr, farmer_id, new_farmer, cookie_hash(cookie), client_address()
    )
    colour = "green" if done.new else "orange"
    page = render_template(
        "farmer/answer.html",
        colour=colour,
        name=done.farmer.get("name") or "",
        first_at=done.checked_in_at,
        ticket=_ticket(qr),
        note=None if qr.session is not None or not done.new else tr(*HELD_NOTE),
    )
    response = make_response(page)
    response.set_cookie(
        PHONE_COOKIE,
        cookie,
        max_age=PHONE_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response
