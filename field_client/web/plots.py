"""Demonstration plots and their observations."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from field_client import operations as ops
from field_client import pickers
from field_client.web.db import get_store
from field_client.web.forms import refusal
from field_client.web.security import one_time_form, require_envoy
from shared import protocol as p
from shared.choices import PLOT_STAGE_LABELS
from shared.errors import TianjianError

bp = Blueprint("plots", __name__, url_prefix="/envoy/plots")
bp.before_request(require_envoy)

Page = str | tuple[str, int] | Response


def _optional(text: str | None) -> str | None:
    """A number field as typed (the schema checks it), None when empty."""
    return (text or "").strip() or None


@bp.get("/")
def index() -> str:
    return render_template("plots/index.html", plots=pickers.plots(get_store()))


def _new_form(
    form: Any,
    message: str | None,
    errors: dict[str, str],
    status: int,
    editing: dict[str, Any] | None = None,
) -> tuple[str, int]:
    choices = pickers.choices(get_store())
    page = render_template(
        "plots/new.html",
        form=form,
        choices=choices,
        message=message,
        errors=errors,
        editing=editing,
    )
    return page, status


def _plot_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """The plot form as new_plot / edit_plot take it: names, ids, numbers as typed."""
    return {
        "village": form.get("village", ""),
        "host_name": form.get("host_name", ""),
        "crop": form.get("crop", ""),
        "area_mu": _optional(form.get("area_mu")),
        "variety": form.get("variety") or None,
        "technologies": form.getlist("technologies"),
        "latitude": _optional(form.get("latitude")),
        "longitude": _optional(form.get("longitude")),
        "target_yield": _optional(form.get("target_yield")),
        "established_on": form.get("established_on", ""),
    }


@bp.route("/new", methods=["GET", "POST"])
@one_time_form
def new() -> Page:
    if request.method == "GET":
        return _new_form(MultiDict(), None, {}, 200)
    form = request.form
    try:
        plot_id = ops.new_plot(get_store(), **_plot_values(form))
    except TianjianError as exc:
        message, errors = refusal(exc)
        return _new_form(form, message, errors, 422)
    flash(_("Plot saved."), "done")
    return redirect(url_for("plots.plot", plot_id=plot_id))


@bp.route("/<plot_id>/edit", methods=["GET", "POST"])
@one_time_form
def edit(plot_id: str) -> Page:
    """Change a plot's fields (a mistyped area, say); only what differs is sent."""
    store = get_store()
    _device, me = store.identity()
    record = store.record(p.PLOT, plot_id)
    if record is None or record.get("deleted") or record.get("envoy_id") not in (None, me):
        abort(404)
    if request.method == "POST":
        try:
            ops.edit_plot(store, plot_id, **_plot_values(request.form))
        except TianjianError as exc:
            message, errors = refusal(exc)
            return _new_form(request.form, message, errors, 422, record)
        flash(_("Plot saved."), "done")
        return redirect(url_for("plots.plot", plot_id=plot_id))
    return _new_form(pickers.plot_form(store, record), None, {}, 200, record)


@bp.route("/<plot_id>", methods=["GET", "POST"])
@one_time_form
def plot(plot_id: str) -> Page:
    """One plot, its observations, and the form to add one."""
    store = get_store()
    found = [row for row in pickers.plots(store) if row.id == plot_id]
    if not found:
        abort(404)
    message: str | None = None
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = request.form
        try:
            ops.observe_plot(
                store,
                plot_id,
                stage=form.get("stage", ""),
                observed_on=form.get("observed_on", ""),
                survival_rate=_optional(form.get("survival_rate")),  # type: ignore[arg-type]
                yield_kg_per_mu=_optional(form.get("yield_kg_per_mu")),  # type: ignore[arg-type]
                notes=_optional(form.get("notes")),
            )
        except TianjianError as exc:
            (message, errors), status = refusal(exc), 422
        else:
            flash(_("Observation saved."), "done")
            return redirect(url_for("plots.plot", plot_id=plot_id))
    page = render_template(
        "plots/plot.html",
        plot=found[0],
        stages=PLOT_STAGE_LABELS,
        form=request.form,
        message=message,
        errors=errors,
    )
    return page, status
