"""What the envoy prints: a session's check-in poster (A4), its QR as PNG, farmers' QR cards."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from field_client import checkin_limits, qr_checkin
from field_client.checkin_codes import normalise_card_code, wifi_payload
from field_client.lan import base_url
from field_client.web import qr
from field_client.web.db import get_store
from field_client.web.security import one_time_form, require_envoy
from shared import protocol as p

bp = Blueprint("posters", __name__, url_prefix="/envoy")
bp.before_request(require_envoy)


def checkin_address(ticket: qr_checkin.Poster) -> str:
    """The address the poster's QR opens: code and token, nothing personal."""
    path = url_for("farmer.checkin_page", code=ticket.code, token=ticket.token)
    return base_url(qr.lan_host(), current_app.config["PORT"]) + path


def _hotspot() -> tuple[str, str]:
    store = get_store()
    return store.get("hotspot_ssid") or "", store.get("hotspot_password") or ""


@bp.route("/sessions/<session_id>/poster", methods=["GET", "POST"])
@one_time_form
def poster(session_id: str) -> Response | str:
    store = get_store()
    if request.method == "POST":
        margin_text = request.form.get("margin_minutes", "").strip()
        margin = int(margin_text) if margin_text.isdigit() else None
        qr_checkin.poster(store, session_id, margin)
        with store.transaction():
            store.set("hotspot_ssid", request.form.get("ssid", "").strip()[:32] or None)
            store.set("hotspot_password", request.form.get("password", "")[:63] or None)
        return redirect(url_for("posters.poster", session_id=session_id, **_host_arg()))
    ticket = qr_checkin.poster(store, session_id)
    ssid, password = _hotspot()
    return render_template(
        "posters/poster.html",
        ticket=ticket,
        address=checkin_address(ticket),
        typed_address=base_url(qr.lan_host(), current_app.config["PORT"]),
        ssid=ssid,
        password=password,
        addresses=[a for a in current_app.config["LAN_ADDRESSES"] if a != "127.0.0.1"],
        host=qr.lan_host(),
        limits=_limits_shown(store),
    )


def _limits_shown(store: Any) -> dict[str, Any]:
    return {
        "per_address": checkin_limits.NEW_PER_ADDRESS_PER_HOUR,
        "per_minute": checkin_limits.new_per_minute(store),
        "lifted_until": checkin_limits.lifted_until(store),
    }


@bp.post("/sessions/<session_id>/checkin-limits")
def lift_limits(session_id: str) -> Response:
    """The envoy lifts the limits on new registrations for an hour (a crowd of new farmers at
    the poster), or puts them back."""
    store = get_store()
    if request.form.get("lift") == "1":
        checkin_limits.lift(store)
    else:
        checkin_limits.restore(store)
    return redirect(url_for("posters.poster", session_id=session_id, **_host_arg()))


def _host_arg() -> dict[str, Any]:
    host = request.args.get("host")
    return {"host": host} if host else {}


@bp.get("/sessions/<session_id>/qr.png")
def poster_qr(session_id: str) -> Response:
    """The check-in QR alone, to download (?download=1) or put in a slide or a chat."""
    ticket = qr_checkin.poster(get_store(), session_id)
    return send_file(
        io.BytesIO(qr.png(checkin_address(ticket), box_size=12)),
        mimetype="image/png",
        as_attachment=bool(request.args.get("download")),
        download_name=f"checkin-{ticket.code}.png",
    )


@bp.get("/wifi-qr.png")
def wifi_qr() -> Response:
    ssid, password = _hotspot()
    if not ssid:
        return Response(status=404)
    return send_file(io.BytesIO(qr.png(wifi_payload(ssid, password))), mimetype="image/png")


@bp.route("/cards", methods=["GET", "POST"])
def cards() -> Response | str:
    """Choose farmers (or a whole village) and print their cards on an A4 sheet."""
    store = get_store()
    farmers = sorted(store.records(p.FARMER), key=lambda f: (f["village_code"], f["name"]))
    units = {u["code"]: u["name"] for u in store.reference(p.UNIT)}
    villages = [u for u in store.reference(p.UNIT) if u.get("level") == "village"]
    if request.method == "POST":
        village = request.form.get("village")
        chosen = request.form.getlist("farmer")
        if village:
            chosen += [f["id"] for f in farmers if f["village_code"] == village]
        issued = qr_checkin.issue_cards(store, list(dict.fromkeys(chosen)))
        if not issued:
            return render_template(
                "posters/cards.html",
                farmers=farmers,
                units=units,
                villages=villages,
                error=_("Choose at least one farmer or a village."),
            )
        return redirect(url_for("posters.card_sheet", code=[code for code, _f in issued]))
    return render_template(
        "posters/cards.html", farmers=farmers, units=units, villages=villages, error=None
    )


@bp.get("/cards/sheet")
def card_sheet() -> str:
    store = get_store()
    units = {u["code"]: u["name"] for u in store.reference(p.UNIT)}
    sheet: list[dict[str, Any]] = []
    for text in request.args.getlist("code"):
        try:
            farmer = qr_checkin.farmer_of_card(store, text)
        except qr_checkin.CheckinRefused:
            continue
        sheet.append(
            {
                "code": normalise_card_code(text),
                "name": farmer["name"],
                "village": units.get(farmer["village_code"], farmer["village_code"]),
            }
        )
    return render_template("posters/card_sheet.html", cards=sheet)


@bp.get("/cards/<code>.png")
def card_qr(code: str) -> Response:
    cleaned = normalise_card_code(code)
    if cleaned is None:
        return Response(status=404)
    return send_file(io.BytesIO(qr.png(cleaned, box_size=8)), mimetype="image/png")
