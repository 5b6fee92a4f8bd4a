"""One field record as the review page shows it: each data field in schema order, with the
names behind its codes and ids (village, envoy, session, leaflet...) and mobiles masked unless
the reader is an admin."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from server.media.photos import SUBJECT_KINDS, subject_owners
from server.quality.reviews import UnknownRecord
from shared import protocol as p
from shared.mobile import mask_mobile
from shared.schemas.field import FIELD_SCHEMAS, data_fields
from shared.schemas.types import Day, Mobile, Timestamp

# Field -> (table, key column, SQL giving the name shown); lists of ids name each one.
REFERENCES = {
    "village_code": ("units", "code", "name"),
    "unit_code": ("units", "code", "name"),
    "lead_envoy_id": ("envoys", "id", "name"),
    "co_envoy_ids": ("envoys", "id", "name"),
    "session_id": ("sessions", "id", "title"),
    "farmer_id": ("farmers", "id", "name"),
    "leaflet_title_id": ("leaflet_titles", "id", "title"),
    "variety_id": ("varieties", "id", "name"),
    "technology_ids": ("technologies", "id", "name"),
    "plot_id": ("plots", "id", "host_name || ' · ' || crop"),
    "observation_id": ("plot_observations", "id", "observed_on"),
}
# How a photo's subject is named, by the kind of record it is.
SUBJECT_NAMES = {p.SESSION: "session_id", p.PLOT_OBSERVATION: "observation_id"}
# Fields naming another field record, linked to that record's own review page.
RECORD_LINKS = {
    "session_id": p.SESSION,
    "farmer_id": p.FARMER,
    "plot_id": p.PLOT,
    "correction_of": None,  # the same kind as the record itself
}


# Which devices saw a check-in is bookkeeping, not something to review.
NOT_SHOWN = frozenset({"seen_by"})


@dataclass(frozen=True)
class Field:
    """One field shown: its name (for the label), value as stored, text shown, and how to show
    it: "time" (UTC ISO, shown in China time), "date", "mobile" (already masked) or "text"."""

    name: str
    value: Any
    shown: str
    form: str
    link: tuple[str, str] | None = None


@dataclass(frozen=True)
class RecordDetail:
    kind: str
    id: str
    envoy_id: str | None
    envoy: str | None
    # The envoys whose record this is: its maker, and a session's lead and co-envoys.
    owners: tuple[str, ...]
    deleted: bool
    created_at: str | None
    updated_at: str | None
    fields: tuple[Field, ...]


def _form(kind: str, name: str) -> str:
    declared = FIELD_SCHEMAS[kind]().fields[name]
    if isinstance(declared, Timestamp):
        return "time"
    if isinstance(declared, Day):
        return "date"
    if isinstance(declared, Mobile):
        return "mobile"
    return "text"


def referenced_names(db: Database, name: str, values: list[str]) -> list[str]:
    """What each value of a referencing field names (a unit's or envoy's name...), else the
    value itself; none for none (an empty IN () is an error on PostgreSQL)."""
    if not values:
        return []
    table, key, shown = REFERENCES[name]
    found = {
        row[0]: row[1]
        for row in db.execute(
            f'SELECT "{key}", {shown} FROM "{table}" WHERE "{key}" IN ({",".join("?" * len(values))})',
            values,
        )
    }
    return [found.get(value) or value for value in values]


def record_detail(
    db: Database, kind: str, record_id: str, show_mobiles: bool = False
) -> RecordDetail:
    """The record, or UnknownRecord."""
    if kind not in p.FIELD_KINDS:
        raise UnknownRecord(kind, record_id)
    rows = list(
        db.query(
            f'SELECT r.*, e.name AS envoy_name FROM "{p.TABLES[kind]}" r '
            "LEFT JOIN envoys e ON e.id = r.envoy_id WHERE r.id = ?",
            [record_id],
        )
    )
    if not rows:
        raise UnknownRecord(kind, record_id)
    row = rows[0]
    shown = []
    for name in data_fields(kind):
        if name in NOT_SHOWN:
            continue
        value = row.get(name)
        form = _form(kind, name)
        if name in ("technology_ids", "co_envoy_ids"):
            value = json.loads(value) if value else []
            text = "、".join(referenced_names(db, name, value)) if value else ""
        elif value is None or value == "":
            text = ""
        elif name in REFERENCES:
            text = referenced_names(db, name, [value])[0]
        elif form == "mobile":
            text = value if show_mobiles else mask_mobile(value)
        else:
            text = str(value)
        link = None
        if name in RECORD_LINKS and value:
            link = (RECORD_LINKS[name] or kind, str(value))
        if kind == p.PHOTO and name == "subject_id" and row["subject_kind"] in SUBJECT_KINDS:
            # What the photo shows, a session or a plot observation, named by subject_kind.
            subject = SUBJECT_KINDS[row["subject_kind"]]
            link = (subject, str(value))
            text = referenced_names(db, SUBJECT_NAMES[subject], [str(value)])[0]
        shown.append(Field(name, value if form != "mobile" else text, text, form, link))
    owners = [row["envoy_id"]]
    if kind == p.SESSION:
        owners += [row["lead_envoy_id"], *json.loads(row["co_envoy_ids"] or "[]")]
    if kind == p.PHOTO:
        owners += sorted(subject_owners(db, row["subject_kind"], row["subject_id"]))
    return RecordDetail(
        kind=kind,
        id=record_id,
        envoy_id=row["envoy_id"],
        envoy=row["envoy_name"],
        owners=tuple(owner for owner in owners if owner),
        deleted=bool(row["deleted"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        fields=tuple(shown),
    )
