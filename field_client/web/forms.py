"""Form input checked by the same marshmallow schemas as sync, with errors naming the field."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.datastructures import MultiDict

from field_client.web.i18n import say
from shared import protocol as p
from shared.errors import InvalidRecord
from shared.schemas.field import validate_fields

LABELS = {
    "name": lazy_gettext("Name"),
    "mobile": lazy_gettext("Mobile number"),
    "village_code": lazy_gettext("Village"),
    "gender": lazy_gettext("Gender"),
    "birth_year": lazy_gettext("Year of birth"),
    "consent": lazy_gettext("Notice"),
}


def _reason(message: object) -> str:
    """marshmallow's own English messages in the page's language; ours are already bilingual."""
    if isinstance(message, list):
        return "; ".join(_reason(m) for m in message)
    if isinstance(message, dict):
        return "; ".join(_reason(m) for m in message.values())
    text = str(message)
    if " / " in text:
        return say(text)
    if text.startswith("Missing data"):
        return _("required")
    if text.startswith("Not a valid integer"):
        return _("must be a whole number")
    if text.startswith("Must be greater than or equal") or text.startswith("Length must"):
        return _("out of range")
    if text.startswith("Must be one of"):
        return _("not one of the choices")
    return text


def field_errors(exc: InvalidRecord) -> dict[str, str]:
    """{field: "字段名：原因"}: each message says which field it is about."""
    return {
        name: f"{LABELS.get(name, name)}：{_reason(reason)}" for name, reason in exc.errors.items()
    }


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
