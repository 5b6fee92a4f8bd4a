"""A farmer found by a typed mobile proves who they are: the name as registered, or the phone
already holds them. Nothing here shows a name the phone did not already hold."""

from __future__ import annotations

from typing import Any

from field_client import qr_checkin
from field_client.store import FieldStore
from shared.checkin_rules import NotProved, same_name

__all__ = ["NotProved", "same_name"]


def farmer_to_prove(store: FieldStore, mobile: str, cookie: str | None) -> tuple[Any, bool]:
    """The farmer registered with this (normalised) mobile, or None, and whether this phone
    already holds them (then no proof is needed)."""
    farmer = qr_checkin.farmer_with_mobile(store, mobile)
    if farmer is None:
        return None, False
    held = farmer["id"] in {f["id"] for f in qr_checkin.farmers_of_phone(store, cookie)}
    return farmer, held


def claim(store: FieldStore, mobile: str, name: str, cookie: str | None) -> str | None:
    """The id of the farmer with this mobile when the phone holds them or `name` is theirs as
    registered; None when nobody has the mobile; NotProved otherwise (nobody checked in)."""
    farmer, held = farmer_to_prove(store, mobile, cookie)
    if farmer is None:
        return None
    if held or same_name(name, farmer.get("name") or ""):
        return str(farmer["id"])
    raise NotProved()
