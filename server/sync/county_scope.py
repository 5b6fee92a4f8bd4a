"""On a province: a county's link writes only its county's records, and nothing else writes them."""

from __future__ import annotations

from typing import Any

from server.media.photos import photo_subject
from server.reference.county_envoys import NamesOtherCountysEnvoy, is_county_envoy
from server.store.county_links import (
    CountyRecordReadOnly,
    NotACountysRecord,
    OutsideCounty,
    in_county,
    links,
    owning_county,
)
from server.store.sql_text import in_chunks
from server.sync.batch import PARENT_OF, Batch
from server.sync.device import Device
from server.sync.errors import Rejected
from shared import protocol as p
from shared.schemas.field import named_envoys


def known_links(batch: Batch) -> dict[str, str]:
    """The province's county links, read once per push (none at all on a county's server)."""
    if batch.county_links is None:
        batch.county_links = links(batch.db)
    return batch.county_links


def check_county_scope(
    batch: Batch, device: Device, kind: str, current: dict[str, Any] | None, values: dict[str, Any]
) -> None:
    """Refuse a county's copy edited by anyone but its link, a child added to one, and a link's
    record outside its county, over a record it does not own, or naming another's envoy."""
    known = known_links(batch)
    if not known:
        return
    parent = _parent(batch, kind, {**(current or {}), **values})
    if not device.county_code:
        county = owning_county(known, current) or owning_county(known, parent)
        if county:
            raise Rejected(CountyRecordReadOnly(county).message)
        return
    # Owned by the county, not by one link: a county that enrols again (a new server, a lost
    # database) carries on with the copies its earlier link sent.
    for record in (current, parent):
        if record is None:
            continue
        county = owning_county(known, record)
        if county is None:
            raise Rejected(NotACountysRecord().message)
        if county != device.county_code:
            raise Rejected(CountyRecordReadOnly(county).message)
    township = batch.township_of(kind, {**(current or {}), **values})
    if township is not None and not in_county(township, device.county_code):
        raise Rejected(OutsideCounty(device.county_code, township).message)
    check_county_envoys(batch, device, kind, values)


def check_county_envoys(batch: Batch, device: Device, kind: str, values: dict[str, Any]) -> None:
    """A link's change names only its county's envoys in every field that names envoys (a
    session's lead and co-envoys): county A cannot credit county B's envoy with its work."""
    for field, envoy_ids in named_envoys(kind, values).items():
        for envoy_id in envoy_ids:
            if envoy_id not in batch.county_envoys:
                batch.county_envoys[envoy_id] = is_county_envoy(
                    batch.db, device.county_code, envoy_id
                )
            if not batch.county_envoys[envoy_id]:
                refused = NamesOtherCountysEnvoy(device.county_code, field, envoy_id)
                raise Rejected(refused.message, refused.errors)


def _parent(batch: Batch, kind: str, merged: dict[str, Any]) -> dict[str, Any] | None:
    """The record this one belongs to: a check-in's or hand-out's session, an observation's
    plot, what a photo shows."""
    if kind == p.PHOTO:
        subject = photo_subject(merged, None)
        return batch.loaded(*subject) if subject else None
    if kind not in PARENT_OF:
        return None
    parent_kind, field = PARENT_OF[kind]
    parent_id = merged.get(field)
    return batch.loaded(parent_kind, parent_id) if isinstance(parent_id, str) else None


def forwarded_sessions(batch: Batch, session_ids: set[str]) -> set[str]:
    """Of these sessions, those a county forwarded: their check-ins take the general path,
    which refuses them (a province device may not add to a county's session)."""
    known = known_links(batch)
    if not known or not session_ids:
        return set()
    found: set[str] = set()
    for chunk, marks in in_chunks(dict.fromkeys(session_ids)):
        for session_id, device_id in batch.db.execute(
            f"SELECT id, device_id FROM sessions WHERE id IN ({marks})", chunk
        ):
            if device_id in known:
                found.add(session_id)
    return found
