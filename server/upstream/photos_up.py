"""On a county: the bytes of forwarded photos sent to the province through its media API.

A photo record goes up with the other records (server/upstream/forward.py); its bytes follow
here, as the envoy whose record names them (`X-Tianjian-Envoy`), in the same resumable chunks a
field device sends (PUT /api/v1/media/<sha256>, docs/sync.md "Photo bytes"): the province says
how much it holds and the county sends the rest, so a cut costs at most one chunk. Pictures the
province holds whole, or refused, are remembered in `upstream_photos` (migration m022).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import requests
from sqlite_utils import Database

from server.media.backend import MediaBackend
from server.media.chunks import MAX_CHUNK_BYTES
from server.store.db import write_transaction
from server.upstream.accept import HEADER_ENVOY
from server.upstream.forward import TIMEOUT_S, ProvinceUnreachable, envoys_up, link_of
from shared import protocol as p
from shared.clock import to_iso, utc_now
from shared.errors import TianjianError

WHOLE, REFUSED = "whole", "refused"


@dataclass
class PhotosSent:
    """What one run did: pictures now whole on the province, refused there, and left for the
    next run (the province asked to slow down, or has not yet taken the photo's record)."""

    whole: int = 0
    refused: int = 0
    later: int = 0


def waiting(db: Database, cursor: int) -> list[dict[str, Any]]:
    """Pictures of photos already forwarded (up to the cursor) that this county holds whole and
    the province does not yet: one row per picture, with an envoy whose photo names it."""
    return list(
        db.query(
            'SELECT p."sha256" AS sha256, min(p."envoy_id") AS envoy_id, '
            'min(m."size") AS size FROM "photos" p '
            'JOIN "media" m ON m."sha256" = p."sha256" AND m."complete" = 1 '
            'WHERE p."deleted" = 0 AND p."server_seq" <= ? AND NOT EXISTS '
            '(SELECT 1 FROM "upstream_photos" u WHERE u."sha256" = p."sha256") '
            'GROUP BY p."sha256" ORDER BY p."sha256"',
            [cursor],
        )
    )


def refused(db: Database) -> list[tuple[str, str]]:
    """Pictures the province refused, with its reason (shown by `upstream status`)."""
    return [
        (row[0], row[1] or "")
        for row in db.execute(
            'SELECT "sha256", "note" FROM "upstream_photos" WHERE "state" = ? ORDER BY "at"',
            [REFUSED],
        )
    ]


def _note(db: Database, sha256: str, state: str, note: str | None = None) -> None:
    with write_transaction(db):
        db.execute(
            'INSERT INTO "upstream_photos" ("sha256", "state", "note", "at") VALUES (?, ?, ?, ?) '
            'ON CONFLICT ("sha256") DO UPDATE SET "state" = excluded."state", '
            '"note" = excluded."note", "at" = excluded."at"',
            [sha256, state, note, to_iso(utc_now())],
        )


class ProvinceBusy(TianjianError):
    """The province answered 429: the rest waits for the next run."""

    status = 503
    message = (
        "省级服务器正忙，其余照片下次上报时再发 / the province is busy: the remaining photos "
        "go with the next run"
    )


def _request(method: str, url: str, headers: dict[str, str], **options: Any) -> Any:
    try:
        response = requests.request(method, url, headers=headers, timeout=TIMEOUT_S, **options)
    except requests.RequestException as exc:
        raise ProvinceUnreachable(type(exc).__name__) from exc
    if response.status_code == 429:
        raise ProvinceBusy()
    if response.status_code >= 500:
        raise ProvinceUnreachable(f"HTTP {response.status_code}")
    return response


def _send_one(link: dict[str, Any], store: MediaBackend, photo: dict[str, Any]) -> str | None:
    """Send what the province lacks of one picture: WHOLE, a refusal's reason, or None when the
    province has no photo record naming it yet (held there, or refused with its record)."""
    sha256 = photo["sha256"]
    url = f"{link['url']}/api/v1/media/{sha256}"
    headers = {
        "Authorization": f"Bearer {link['token']}",
        p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION),
        HEADER_ENVOY: photo["envoy_id"] or "",
    }
    asked = _request("GET", url, headers)
    if asked.status_code != 200:
        return str(asked.json().get("message", asked.status_code))
    held = asked.json()
    if held["size"] is None:
        return None
    if held["complete"]:
        return WHOLE
    with store.local_file(sha256) as path:
        data = path.read_bytes()
    offset = int(held["received"])
    while offset < len(data):
        chunk = data[offset : offset + MAX_CHUNK_BYTES]
        answer = _request(
            "PUT",
            url,
            {
                **headers,
                "Content-Type": "application/octet-stream",
                "X-Chunk-SHA256": hashlib.sha256(chunk).hexdigest(),
            },
            params={"offset": offset, "size": len(data)},
            data=chunk,
        )
        body = answer.json()
        if answer.status_code == 409 and "received" in body:
            offset = int(body["received"])  # the province holds another amount: resume there
            continue
        if answer.status_code != 200:
            return str(body.get("message", answer.status_code))
        if body["complete"]:
            return WHOLE
        offset = int(body["received"])
    return WHOLE


def send_photos(db: Database, store: MediaBackend) -> PhotosSent:
    """Send the bytes of every forwarded photo the province lacks; stops early (and leaves the
    rest for the next run) when the province asks it to slow down."""
    link = link_of(db)
    done = PhotosSent()
    found = waiting(db, int(link["cursor"]))
    up = envoys_up(db, link["county_code"], {photo["envoy_id"] for photo in found})
    for photo in found:
        local = photo["envoy_id"]
        photo = {**photo, "envoy_id": up[local]["id"] if local in up else local}
        if not store.has(photo["sha256"]):
            done.later += 1
            continue
        try:
            result = _send_one(link, store, photo)
        except ProvinceBusy:
            done.later += 1
            break
        if result is None:
            done.later += 1
        elif result == WHOLE:
            _note(db, photo["sha256"], WHOLE)
            done.whole += 1
        else:
            _note(db, photo["sha256"], REFUSED, result)
            done.refused += 1
    return done
