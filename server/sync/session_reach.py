"""What a session brings to the envoys who lead or co-run it, wherever they serve: its check-ins
and hand-outs, the farmers of its village and those checked in to it; and, once an envoy starts
running it (a co-envoy added later), what came before."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from server.store.records import table_of
from server.sync.device import Device
from shared import protocol as p

# Sessions the device's envoy leads or co-runs. co_envoy_ids is a JSON list of UUIDs, which
# hold no LIKE wildcards.
RUNS = "(lead_envoy_id = ? OR co_envoy_ids LIKE ?)"


def runs_params(device: Device) -> list[Any]:
    return [device.envoy_id, f'%"{device.envoy_id}"%']


def farmer_scope(device: Device) -> tuple[str, list[Any]]:
    """SQL (and its parameters) for the farmers a session brings: of the village of a session
    the envoy runs, or checked in to one. With the rest of the pull's scope, so a co-envoy from
    another township can check in a farmer the lead registered instead of registering a
    duplicate; their mobiles are masked as every other envoy's farmers' are."""
    sql = (
        f"village_code IN (SELECT unit_code FROM sessions WHERE deleted = 0 AND {RUNS}) "
        "OR id IN (SELECT farmer_id FROM attendances WHERE session_id IN "
        f"(SELECT id FROM sessions WHERE {RUNS}))"
    )
    return sql, [*runs_params(device), *runs_params(device)]


def earlier_records(
    db: Database, device: Device, sessions: list[dict[str, Any]], cursor: int, include_own: bool
) -> list[tuple[str, dict[str, Any]]]:
    """For sessions on a pull page that the device's envoy runs: their farmers, check-ins and
    hand-outs changed at or before `cursor` and outside the envoy's own records and townships,
    which the device was never sent if its envoy did not run the session then. Those changed
    after it come in the ordinary pages.

    Sent again, at some cost in bytes, each time such a session changes: the server does not
    know whether the device already holds them, and holding them twice is harmless.
    """
    if not sessions or cursor <= 0:
        return []
    ids = [str(session["id"]) for session in sessions]
    villages = sorted({str(s["unit_code"]) for s in sessions if s.get("unit_code")})
    id_marks, village_marks = ",".join("?" * len(ids)), ",".join("?" * len(villages)) or "NULL"
    # What the device's own scope held all along it was sent then: only the rest is new to it.
    towns = ",".join("?" * len(device.township_codes)) or "NULL"
    own = f" AND envoy_id != ? AND (township_code IS NULL OR township_code NOT IN ({towns}))"
    own_params: list[Any] = [device.envoy_id, *device.township_codes]
    if not include_own:
        own += " AND (origin_device IS NULL OR origin_device != ?)"
        own_params.append(device.id)
    queries: list[tuple[str, str, list[Any]]] = [
        (
            p.FARMER,
            f"(village_code IN ({village_marks}) OR id IN (SELECT farmer_id FROM attendances "
            f"WHERE session_id IN ({id_marks})))",
            [*villages, *ids],
        ),
        (p.ATTENDANCE, f"session_id IN ({id_marks})", ids),
        (p.LEAFLET_HANDOUT, f"session_id IN ({id_marks})", ids),
    ]
    found: list[tuple[str, dict[str, Any]]] = []
    for kind, where, params in queries:
        sql = (
            f"SELECT * FROM [{table_of(kind)}] WHERE {where} AND server_seq <= ? "
            f"AND deleted = 0{own} ORDER BY server_seq"
        )
        found.extend((kind, row) for row in db.query(sql, [*params, cursor, *own_params]))
    return found
