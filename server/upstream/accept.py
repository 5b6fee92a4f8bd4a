"""On a province: what a county's link may do: act for its own county's envoys, and no other's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlite_utils import Database

from server.reference.county_envoys import envoy_id_up, serves_only
from server.reference.load import ensure_envoy
from server.reference.lookups import UnknownEnvoy, envoy_by_id
from server.sync.device import Device
from shared.errors import TianjianError

# The header a link's push names the envoy it forwards for: one envoy per push, so every check
# the push path makes of an envoy's device (owner, session, correction) holds for the county's.
HEADER_ENVOY = "X-Tianjian-Envoy"


class EnvoyNotOfCounty(TianjianError):
    """A county's link named an envoy who serves townships outside its county."""

    status = 403

    def __init__(self, county_code: str, envoy: str) -> None:
        super().__init__(
            f"特派员 {envoy} 不属于县 {county_code}，本县不能为其上报 / envoy {envoy} does not "
            f"serve county {county_code}: this county's link cannot report for them",
            {HEADER_ENVOY: ["不是本县的特派员 / not an envoy of this county"]},
        )


class LinkNeedsEnvoy(TianjianError):
    """A county's link pushed without naming the envoy the push is for."""

    status = 400
    message = (
        f"县级上报须在 {HEADER_ENVOY} 头中注明特派员 / a county link's push must name its "
        f"envoy in the {HEADER_ENVOY} header"
    )


class NotALink(TianjianError):
    """A field device (or a link, where only devices belong) called the other's route."""

    status = 403
    message = (
        "此接口只供县级上报链接使用，设备不能调用 / only a county's link may call this, not a "
        "field device"
    )


class LinkOnlyPushes(TianjianError):
    """A county's link called a device's route other than push and photo bytes (a pull)."""

    status = 403
    message = (
        "县级上报链接只能推送记录和照片，不能拉取 / a county's link only pushes records and "
        "photos: it does not pull"
    )


def _check_townships(county_code: str, name: str, townships: list[str]) -> None:
    if not serves_only(county_code, townships):
        raise EnvoyNotOfCounty(county_code, name)


def act_for(db: Database, link: Device, envoy_id: str) -> Device:
    """The link acting for one envoy of its county (EnvoyNotOfCounty for any other)."""
    if not envoy_id:
        raise LinkNeedsEnvoy()
    try:
        envoy = envoy_by_id(db, envoy_id)
    except UnknownEnvoy:
        raise EnvoyNotOfCounty(link.county_code, envoy_id) from None
    # Only an id this province gives that name in that county (as `accept_envoys` takes): never
    # a name-only id, which is the province's own envoy of that name, not the county's.
    if envoy["id"] != envoy_id_up(link.county_code, envoy["name"]):
        raise EnvoyNotOfCounty(link.county_code, envoy["name"])
    _check_townships(link.county_code, envoy["name"], envoy["township_codes"])
    return replace(link, envoy_id=envoy["id"], township_codes=tuple(envoy["township_codes"]))


def accept_envoys(db: Database, link: Device, envoys: list[dict[str, Any]]) -> int:
    """Take the county's envoys its records name (id, name, townships), all of its county, or
    none: EnvoyNotOfCounty for one serving elsewhere, or whose id is not the one this province
    gives that name in that county (`envoy_id_up`)."""
    if not link.county_code:
        raise NotALink()
    changed = []
    for envoy in envoys:
        _check_townships(link.county_code, envoy["name"], envoy["township_codes"])
        if envoy_id_up(link.county_code, envoy["name"]) != envoy["id"]:
            raise EnvoyNotOfCounty(link.county_code, envoy["name"])
        try:
            known = envoy_by_id(db, envoy["id"])
        except UnknownEnvoy:
            changed.append(envoy)
            continue
        _check_townships(link.county_code, known["name"], known["township_codes"])
        if sorted(known["township_codes"]) != sorted(envoy["township_codes"]):
            changed.append(envoy)
    # Only what is new or moved is written: a forward sent again changes nothing here.
    for envoy in changed:
        ensure_envoy(db, envoy["name"], envoy["township_codes"], envoy["id"])
    return len(changed)
