"""Leaflets by title name: received, handed out (asking first when more than held), corrections."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from field_client import operations as ops
from field_client import pickers
from field_client.web.db import get_store
from field_client.web.forms import refusal
from field_client.web.security import one_time_form, require_envoy
from shared import protocol as p
from shared.errors import InvalidRecord, TianjianError
from shared.typed_digits import number_text

bp = Blueprint("leaflets", __name__, url_prefix="/envoy/leaflets")
bp.before_request(require_envoy)

Page = str | tuple[str, int] | Response


def _page(status: int = 200, **values: Any) -> tuple[str, int]:
    store = get_store()
    values.setdefault("receive_form", {})
    values.setdefault("give_form", {"session": request.args.get("session", "")})
    values.setdefault("errors", {})
    return (
        render_template(
            "leaflets/index.html",
            stock=ops.leaflet_stock(store),
            titles=pickers.choices(store).leaflet_titles,
            villages=pickers.choices(store).villages,
            sessions=pickers.sessions(store),
            events=pickers.leaflet_events(store),
            **values,
        ),
        status,
    )


@bp.get("/")
def page() -> tuple[str, int]:
    return _page()


@bp.post("/receive")
@one_time_form
def receive() -> Page:
    form = request.form
    try:
        ops.receive_leaflets(
            get_store(),
            title=form.get("title", ""),
            copies=_copies(form.get("copies", "")),
            received_on=form.get("received_on", ""),
        )
    except TianjianError as exc:
        message, errors = refusal(exc)
        return _page(422, receive_form=form, receive_message=message, errors=errors)
    flash(_("Leaflets received: saved."), "done")
    return redirect(url_for("leaflets.page"))


def _whole(text: str) -> int | None:
    try:
        return int(number_text(text))
    except ValueError:
        return None


def _copies(text: str) -> int:
    """Copies as typed: a whole number (the correction rule adds them up), else refused by name."""
    copies = _whole(text)
    if copies is None:
        raise InvalidRecord("copies", {"copies": "应为整数 / must be a whole number"})
    return copies


@bp.post("/give")
@one_time_form
def give() -> Page:
    """A hand-out; more than this envoy holds is asked about once, then recorded as typed."""
    store = get_store()
    form = request.form
    copies = _whole(form.get("copies", ""))
    try:
        title = form.get("title", "")
        placed = form.get("session") or form.get("village", "").strip()
        over = pickers.over_stock(store, title, copies) if placed else None
        if over and not form.get("confirm"):
            return _page(200, give_form=form, over=over, copies=copies)
        ops.give_leaflets(
            store,
            title=title,
            copies=_copies(form.get("copies", "")),
            session=form.get("session") or None,
            village=form.get("village") or None,
            at=form.get("at", ""),
        )
    except TianjianError as exc:
        message, errors = refusal(exc)
        return _page(422, give_form=form, give_message=message, errors=errors)
    if form.get("confirm"):
        flash(_("Recorded although more than you held: the bureau will see it."), "warn")
    else:
        flash(_("Leaflets handed out: saved."), "done")
    session_id = form.get("session")
    if session_id and store.record(p.SESSION, session_id):
        return redirect(url_for("envoy.session_page", session_id=session_id))
    return redirect(url_for("leaflets.page"))


@bp.route("/correct/<event_id>", methods=["GET", "POST"])
@one_time_form
def correct(event_id: str) -> Page:
    """A correction: the same title and place, copies up or down; never below zero in total."""
    store = get_store()
    found = [e for e in pickers.leaflet_events(store, limit=10_000) if e.id == event_id]
    if not found:
        abort(404)
    event = found[0]
    message: str | None = None
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            change = _copies(request.form.get("copies", ""))
            if event.kind == p.LEAFLET_RECEIPT:
                ops.receive_leaflets(
                    store, title=event.title_id, copies=change, correction_of=event.id
                )
            else:
                ops.give_leaflets(
                    store,
                    title=event.title_id,
                    copies=change,
                    session=event.session_id,
                    village=event.unit_code,
                    correction_of=event.id,
                )
        except TianjianError as exc:
            message, errors = refusal(exc)
        else:
            flash(_("Correction saved."), "done")
            return redirect(url_for("leaflets.page"))
    page = render_template("leaflets/correct.html", event=event, message=message, errors=errors)
    return (page, 422) if message else page
