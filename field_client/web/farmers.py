"""The envoy's farmers: search (mobiles masked), register, edit."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from field_client import names, pickers
from field_client import operations as ops
from field_client.web.db import get_store
from field_client.web.forms import refusal
from field_client.web.security import one_time_form, require_envoy
from shared import protocol as p
from shared.choices import GENDER_LABELS
from shared.errors import TianjianError
from shared.mobile import mask_mobile

bp = Blueprint("farmers", __name__, url_prefix="/envoy/farmers")
bp.before_request(require_envoy)

Page = str | tuple[str, int] | Response


def _next() -> str | None:
    target = request.values.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else None


@bp.get("/")
def index() -> str:
    store = get_store()
    typed = request.args.get("q", "").strip()
    rows = pickers.find_farmers(store, typed) if typed else names.search_farmers(store, "")
    return render_template("farmers/index.html", q=typed, rows=rows)


def _values(form: Any) -> dict[str, Any]:
    return {
        "name": form.get("name", ""),
        "village": form.get("village", ""),
        "mobile": form.get("mobile", "").strip() or None,
        "gender": form.get("gender") or "unspecified",
        "birth_year": form.get("birth_year", "").strip() or None,
    }


def _form(
    values: Any,
    farmer: dict[str, Any] | None,
    message: str | None,
    errors: dict[str, str],
    status: int,
) -> tuple[str, int]:
    page = render_template(
        "farmers/form.html",
        form=values,
        farmer=farmer,
        villages=pickers.choices(get_store()).villages,
        genders=GENDER_LABELS,
        message=message,
        errors=errors,
        next=_next(),
    )
    return page, status


@bp.route("/new", methods=["GET", "POST"])
@one_time_form
def new() -> Page:
    store = get_store()
    if request.method == "POST":
        values = _values(request.form)
        if not values["name"].strip() or not values["village"].strip():
            errors = {
                key: _("%(field)s: required", field=label)
                for key, label in (("name", _("Name")), ("village", _("Village")))
                if not values[key].strip()
            }
            return _form(
                request.form, None, _("Please correct the fields marked below."), errors, 422
            )
        try:
            ops.register_farmer(store, **values)
        except TianjianError as exc:
            message, errors = refusal(exc)
            return _form(request.form, None, message, errors, 422)
        flash(_("Farmer %(name)s registered.", name=values["name"].strip()), "done")
        return redirect(_next() or url_for("farmers.index", q=values["name"].strip()))
    return _form({"gender": "unspecified"}, None, None, {}, 200)


@bp.route("/<farmer_id>/edit", methods=["GET", "POST"])
@one_time_form
def edit(farmer_id: str) -> Page:
    store = get_store()
    farmer = store.record(p.FARMER, farmer_id)
    if farmer is None or farmer.get("deleted"):
        abort(404)
    if request.method == "POST":
        values = _values(request.form)
        if values["mobile"] is None:
            # Left empty: the mobile stays (the form never shows it in full).
            values.pop("mobile")
        try:
            ops.edit_farmer(store, farmer_id, **values)
        except TianjianError as exc:
            message, errors = refusal(exc)
            return _form(request.form, farmer, message, errors, 422)
        flash(_("Farmer %(name)s saved.", name=values["name"].strip()), "done")
        return redirect(_next() or url_for("farmers.index", q=values["name"].strip()))
    unit_names = names.unit_names(store)
    village = ""
    for unit in store.reference(p.UNIT):
        if unit.get("code") == farmer.get("village_code"):
            village = pickers.village_label(unit, unit_names)
    shown = {
        "name": farmer.get("name"),
        "village": village or farmer.get("village_code"),
        "gender": farmer.get("gender") or "unspecified",
        "birth_year": farmer.get("birth_year") or "",
        "masked_mobile": mask_mobile(farmer.get("mobile")),
    }
    return _form(shown, farmer, None, {}, 200)
