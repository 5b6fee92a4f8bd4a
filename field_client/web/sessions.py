"""The envoy's sessions: start, edit, close, delete one, roster check-in and undoing a check-in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from field_client import operations as ops
from field_client import pickers, qr_checkin
from field_client.web.db import get_store
from field_client.web.forms import refusal
from field_client.web.i18n import china_time
from field_client.web.security import one_time_form, require_envoy
from shared import protocol as p
from shared.choices import SESSION_KIND_LABELS
from shared.errors import TianjianError

bp = Blueprint("sessions", __name__, url_prefix="/envoy/sessions")
bp.before_request(require_envoy)

Page = str | tuple[str, int] | Response


def _number(form: MultiDict[str, str], key: str) -> str | None:
    """A number field as typed (the schema checks it), or None when left empty."""
    text = form.get(key, "").strip()
    return text or None


def _session_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """The session form as open_session / edit_session take it: names, ids and typed times."""
    return {
        "kind": form.get("kind", ""),
        "title": form.get("title", ""),
        "unit": form.get("village", ""),
        "place": form.get("place", "").strip() or None,
        "starts_at": form.get("starts_at", ""),
        "ends_at": form.get("ends_at", ""),
        "technologies": form.getlist("technologies"),
        "co_envoys": form.getlist("co_envoys"),
        "headcount": _number(form, "headcount"),
        "boards": _number(form, "boards") or 0,
    }


def _as_form(values: dict[str, Any]) -> MultiDict[str, Any]:
    """Stored values as a submitted form holds them: lists as repeated keys."""
    pairs: list[tuple[str, Any]] = []
    for key, value in values.items():
        pairs.extend((key, v) for v in value) if isinstance(value, list) else pairs.append(
            (key, value)
        )
    return MultiDict(pairs)


def _form_page(
    template_values: dict[str, Any], message: str | None, errors: dict[str, str], status: int
) -> tuple[str, int]:
    store = get_store()
    return (
        render_template(
            "sessions/form.html",
            choices=pickers.choices(store),
            kinds=SESSION_KIND_LABELS,
            message=message,
            errors=errors,
            **template_values,
        ),
        status,
    )


def _own(session_id: str) -> dict[str, Any]:
    record = get_store().record(p.SESSION, session_id)
    if record is None or record.get("deleted"):
        abort(404)
    return record


@bp.route("/new", methods=["GET", "POST"])
@one_time_form
def new() -> Page:
    store = get_store()
    if request.method == "POST":
        try:
            session_id = ops.open_session(store, **_session_values(request.form))
        except TianjianError as exc:
            message, errors = refusal(exc)
            return _form_page({"form": request.form, "editing": None}, message, errors, 422)
        flash(_("Session saved."), "done")
        return redirect(url_for("envoy.session_page", session_id=session_id))
    blank = {"kind": "village_training", "starts_at": china_time(store.best_now_iso())}
    return _form_page({"form": MultiDict(blank), "editing": None}, None, {}, 200)


@bp.route("/<session_id>/edit", methods=["GET", "POST"])
@one_time_form
def edit(session_id: str) -> Page:
    store = get_store()
    record = _own(session_id)
    if request.method == "POST":
        try:
            ops.edit_session(store, session_id, **_session_values(request.form))
        except TianjianError as exc:
            message, errors = refusal(exc)
            return _form_page({"form": request.form, "editing": record}, message, errors, 422)
        flash(_("Session saved."), "done")
        return redirect(url_for("envoy.session_page", session_id=session_id))
    values = _as_form(pickers.session_form(store, record))
    return _form_page({"form": values, "editing": record}, None, {}, 200)


@bp.post("/<session_id>/close")
@one_time_form
def close(session_id: str) -> Page:
    _own(session_id)
    try:
        ops.close_session(
            get_store(),
            session_id,
            ends_at=request.form.get("ends_at", ""),
            headcount=_number(request.form, "headcount"),  # type: ignore[arg-type]
        )
    except TianjianError as exc:
        message, errors = refusal(exc)
        flash(" ".join([message, *errors.values()]), "refused")
    else:
        flash(_("Session closed."), "done")
    return redirect(url_for("envoy.session_page", session_id=session_id))


@bp.route("/<session_id>/delete", methods=["GET", "POST"])
def delete(session_id: str) -> Page:
    """A session made by mistake: a page asks first, then it goes with its check-ins."""
    record = _own(session_id)
    store = get_store()
    if request.method == "POST" and request.form.get("confirm") == "yes":
        deleted = ops.delete_session(store, session_id)
        flash(
            _(
                "Session “%(title)s” deleted, with %(count)d check-ins.",
                title=record.get("title"),
                count=deleted.checkins_removed,
            ),
            "green",
        )
        return redirect(url_for("envoy.home"))
    checkins = len(qr_checkin.session_attendances(store, session_id))
    return render_template("sessions/delete.html", session=record, checkins=checkins)


@bp.get("/<session_id>/roster")
def roster(session_id: str) -> str:
    """Roster check-in: find farmers by name, village or the last four digits of a mobile."""
    record = _own(session_id)
    store = get_store()
    typed = request.args.get("q", "").strip()
    found = pickers.find_farmers(store, typed, session_id) if typed else []
    template = "sessions/_roster_rows.html" if request.headers.get("HX-Request") else None
    return render_template(template or "sessions/roster.html", session=record, q=typed, found=found)


@bp.post("/<session_id>/checkin")
def checkin(session_id: str) -> Response:
    """A check-in is a set: sent twice it still counts once, so no one-time token is needed."""
    _own(session_id)
    done = ops.check_in(get_store(), session_id, request.form.get("farmer", ""), method="roster")
    if done.new:
        flash(_("Checked in: %(name)s", name=done.farmer_name), "done")
    else:
        flash(
            _(
                "Already checked in: %(name)s at %(time)s",
                name=done.farmer_name,
                time=china_time(done.checked_in_at, "%H:%M"),
            ),
            "orange",
        )
    return redirect(url_for("sessions.roster", session_id=session_id, q=request.form.get("q", "")))


@bp.route("/<session_id>/undo/<farmer_id>", methods=["GET", "POST"])
def undo(session_id: str, farmer_id: str) -> Page:
    """Undo one check-in; the envoy says why (a wrong tap, a farmer who left)."""
    record = _own(session_id)
    store = get_store()
    farmer = store.record(p.FARMER, farmer_id) or abort(404)
    error = None
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()
        if not reason:
            error = _("Reason: required")
        else:
            ops.undo_checkin(store, session_id, farmer_id, reason=reason)
            flash(_("Check-in of %(name)s undone.", name=farmer.get("name")), "done")
            return redirect(url_for("envoy.session_page", session_id=session_id))
    page = render_template("sessions/undo.html", session=record, farmer=farmer, error=error)
    return (page, 422) if error else page
