"""The envoy's own pages: start page, a session's live check-ins and its scanner field."""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from field_client import operations as ops
from field_client import qr_checkin
from field_client.lan import base_url
from field_client.web import qr
from field_client.web.db import get_store
from field_client.web.i18n import say
from field_client.web.security import require_envoy
from shared import protocol as p
from shared.mobile import mask_mobile

bp = Blueprint("envoy", __name__, url_prefix="/envoy")
bp.before_request(require_envoy)


def phone_address() -> str:
    """The envoy's pages as a phone on the hotspot reaches them."""
    return base_url(qr.lan_host(), current_app.config["PORT"]) + url_for("envoy.home")


@bp.get("/")
def home() -> str:
    store = get_store()
    return render_template(
        "envoy/home.html",
        enrolled=store.enrolled,
        sessions=qr_checkin.sessions_from_today(store),
        phone_address=phone_address(),
    )


@bp.get("/phone-qr.png")
def phone_qr() -> Response:
    return send_file(io.BytesIO(qr.png(phone_address())), mimetype="image/png")


def _session_or_404(session_id: str) -> dict[str, Any]:
    session = get_store().record(p.SESSION, session_id)
    if session is None or session.get("deleted"):
        abort(404)
    return session


def _attendees(session_id: str) -> list[dict[str, Any]]:
    store = get_store()
    rows = []
    for attendance in qr_checkin.session_attendances(store, session_id):
        farmer = store.record(p.FARMER, attendance["farmer_id"]) or {}
        rows.append(
            {
                "farmer_id": attendance["farmer_id"],
                "name": farmer.get("name", "?"),
                "mobile": mask_mobile(farmer.get("mobile")),
                "method": attendance["method"],
                "at": attendance["checked_in_at"],
            }
        )
    return sorted(rows, key=lambda row: row["at"], reverse=True)


@bp.get("/sessions/<session_id>")
def session_page(session_id: str) -> str:
    session = _session_or_404(session_id)
    return render_template(
        "envoy/session.html",
        session=session,
        attendees=_attendees(session_id),
        undone=ops.undone_checkins(get_store(), session_id),
    )


@bp.get("/sessions/<session_id>/live")
def live(session_id: str) -> str:
    """The count and list, polled by the session page (htmx) while farmers check in."""
    session = _session_or_404(session_id)
    return render_template("envoy/_live.html", session=session, attendees=_attendees(session_id))


@bp.post("/sessions/<session_id>/scan")
def scan(session_id: str) -> Response | str:
    """A card code typed by a USB scanner (or by hand): check that farmer in at once."""
    _session_or_404(session_id)
    store = get_store()
    try:
        farmer = qr_checkin.farmer_of_card(store, request.form.get("card", ""))
        done = qr_checkin.checkin(store, session_id, farmer["id"], "card_scan")
    except qr_checkin.CheckinRefused as exc:
        colour, text = "red", say(exc.message)
    else:
        if done.new:
            colour, text = "green", _("Checked in: %(name)s", name=farmer["name"])
        else:
            colour = "orange"
            text = _(
                "Already checked in: %(name)s at %(time)s",
                name=farmer["name"],
                time=qr.china_clock(done.checked_in_at),
            )
    if request.headers.get("HX-Request"):
        return render_template("envoy/_answer.html", answer=colour, answer_text=text)
    flash(text, colour)
    return redirect(url_for("envoy.session_page", session_id=session_id))
