"""Form input checked by the same marshmallow schemas as sync, with errors naming the field."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from field_client.names import AmbiguousName
from field_client.web.i18n import say
from shared import protocol as p
from shared.errors import InvalidRecord, TianjianError
from shared.marshmallow_zh import bilingual
from shared.schemas.field import validate_fields

LABELS = {
    "name": lazy_gettext("Name"),
    "mobile": lazy_gettext("Mobile number"),
    "village_code": lazy_gettext("Village"),
    "gender": lazy_gettext("Gender"),
    "birth_year": lazy_gettext("Year of birth"),
    "consent": lazy_gettext("Notice"),
    # The envoy's forms: the field names the operations and the schemas use.
    "kind": lazy_gettext("Kind"),
    "title": lazy_gettext("Title"),
    "unit": lazy_gettext("Village"),
    "unit_code": lazy_gettext("Village"),
    "village": lazy_gettext("Village"),
    "place": lazy_gettext("Place"),
    "starts_at": lazy_gettext("Starts"),
    "ends_at": lazy_gettext("Ends"),
    "technology": lazy_gettext("Technologies"),
    "technology_ids": lazy_gettext("Technologies"),
    "envoy": lazy_gettext("Co-envoys"),
    "co_envoy_ids": lazy_gettext("Co-envoys"),
    "reported_headcount": lazy_gettext("Reported headcount"),
    "display_boards": lazy_gettext("Display boards"),
    "reason": lazy_gettext("Reason"),
    "farmer": lazy_gettext("Farmer"),
    "session": lazy_gettext("Session"),
    "leaflet_title": lazy_gettext("Leaflet"),
    "leaflet_title_id": lazy_gettext("Leaflet"),
    "copies": lazy_gettext("Copies"),
    "received_on": lazy_gettext("Received on"),
    "handed_out_at": lazy_gettext("Handed out at"),
    "correction_of": lazy_gettext("Corrects"),
    "plot": lazy_gettext("Plot"),
    "host_name": lazy_gettext("Host farmer"),
    "crop": lazy_gettext("Crop"),
    "variety": lazy_gettext("Variety"),
    "variety_id": lazy_gettext("Variety"),
    "area_mu": lazy_gettext("Area (mu)"),
    "established_on": lazy_gettext("Established on"),
    "stage": lazy_gettext("Stage"),
    "observed_on": lazy_gettext("Observed on"),
    "survival_rate": lazy_gettext("Survival rate (per cent)"),
    "yield_kg_per_mu": lazy_gettext("Yield (kg/mu)"),
    "notes": lazy_gettext("Notes"),
}


def _reason(message: object) -> str:
    """marshmallow's own English messages in the page's language; ours are already bilingual."""
    if isinstance(message, list):
        return "; ".join(_reason(m) for m in message)
    if isinstance(message, dict):
        return "; ".join(_reason(m) for m in message.values())
    return say(bilingual(str(message)))


def field_errors(exc: InvalidRecord) -> dict[str, str]:
    """{field: "字段名：原因"}: each message says which field it is about."""
    return {
        name: f"{LABELS.get(name, name)}：{_reason(reason)}" for name, reason in exc.errors.items()
    }


def refusal(exc: TianjianError) -> tuple[str, dict[str, str]]:
    """Any refusal for a form: (the message in the page's language, {field: "字段名：原因"}).

    The operations name fields by their own words (village, technology) or the schema's
    (village_code, technology_ids); a reason that is a list of ids (an ambiguous name) is
    left to the message, which lists the matches readably.
    """
    errors: dict[str, str] = {}
    colon = ": " if str(get_locale()) == "en" else "："
    for name, reason in exc.errors.items():
        if isinstance(exc, AmbiguousName):
            reason = _("several match, say which")
        errors[name] = f"{LABELS.get(name, name)}{colon}{_reason(reason)}"
    message = say(exc.message)
    if isinstance(exc, InvalidRecord):
        message = _("Please correct the fields marked below.")
    return message, errors


def farmer_values(form: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """A new farmer from the check-in form, validated by FarmerSchema; (values, errors)."""
    raw: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "mobile": form.get("mobile", "").strip(),
        "village_code": form.get("village_code", "").strip(),
        "gender": form.get("gender") or "unspecified",
        "birth_year": form.get("birth_year", "").strip() or None,
    }
    errors: dict[str, str] = {}
    for required in ("name", "mobile", "village_code"):
        if not raw[required]:
            errors[required] = f"{LABELS[required]}：{_('required')}"
    present = {k: v for k, v in raw.items() if v not in ("", None) and k not in errors}
    try:
        clean = validate_fields(p.FARMER, present)
    except InvalidRecord as exc:
        errors.update(field_errors(exc))
        return {}, errors
    if errors:
        return {}, errors
    return {k: clean[k] for k in present}, errors
