"""Serving pull pages: records changed after a device's cursor that it should hold."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from server.store.db import get_state, write_transaction
from server.store.records import row_to_state, table_of
from server.store.tables import FIELD_TABLES
from server.sync import session_reach
from server.sync.device import Device
from server.sync.device_view import for_device, mask_for, runs_session
from server.sync.errors import ResyncRequired
from shared import protocol as p
from shared.schemas.field import ADDED_FIELDS

# Kinds that belong to a session: they reach the session's lead and co-envoys wherever it is.
_OF_A_SESSION = (p.ATTENDANCE, p.LEAFLET_HANDOUT)


# What a pull reads before any record: the server's last number, purge mark and clock, and the
# device's row `d` and held changes. Read in one statement (alone, or with the token's lookup:
# STANDING_COLUMNS), which reads one snapshot on either engine (SQLite's read transaction,
# PostgreSQL's statement snapshot), so a pull with nothing new needs no BEGIN/COMMIT around
# several reads: one round trip where there were six.
STANDING_COLUMNS = (
    "(SELECT value FROM server_state WHERE key = 'seq'), "
    "(SELECT value FROM server_state WHERE key = 'purged_seq'), "
    "(SELECT value FROM server_state WHERE key = 'hlc'), "
    "d.max_seq, d.served_townships, "
    "(SELECT count(*) FROM held_changes h WHERE h.device_id = d.id)"
)


@dataclass(frozen=True)
class Standing:
    """Where the server and a device stand as a pull begins, read in one snapshot."""

    high: int  # the last server_seq handed out (every record at or below it is committed)
    purged: int  # tombstones at or below it are gone
    hlc: str  # the server's clock
    device_max: int  # the highest change seq of this device the server applied
    served: str | None  # the townships (JSON) the device's cursor stands for, None if never set
    held_count: int

    def moved(self, device: Device) -> bool:
        """Whether the device's cursor was reached serving other townships than it serves now."""
        return self.served is not None and _codes(json.loads(self.served)) != _codes(
            device.township_codes
        )


def standing(db: Database, device: Device) -> Standing:
    """Where the server and `device` stand now, in one statement."""
    row = db.execute(
        f"SELECT {STANDING_COLUMNS} FROM (SELECT 1) AS one LEFT JOIN devices d ON d.id = ?",
        [device.id],
    ).fetchone()
    return standing_of(row)


def standing_of(row: Sequence[Any]) -> Standing:
    """A Standing from the values of STANDING_COLUMNS, in order."""
    high, purged, hlc, device_max, served, held = row
    return Standing(
        int(high or 0), int(purged or 0), str(hlc or ""), int(device_max or 0), served, int(held)
    )


def pull_page(
    db: Database,
    device: Device,
    cursor: int,
    limit: int,
    include_own: bool,
    now: Standing | None = None,
) -> dict[str, Any]:
    """One page of records changed after `cursor` that this device should hold, with the
    server's clock (server_hlc) as of the same snapshot. `now` is where the server and device
    stood when the request's token was read (read here when not given)."""
    now = now or standing(db, device)
    _check_cursor(device, cursor, now)
    held: tuple[list[dict[str, Any]], int] | None
    if cursor >= now.high:
        # Every server_seq is at most `high` once committed (numbers are reserved in the
        # writing transaction, writers one at a time): a cursor there has nothing to read,
        # and a device polling for news costs one statement instead of one per kind (on
        # PostgreSQL each is a round trip to another process, slow on a busy machine).
        page: dict[str, Any] = {"records": [], "cursor": cursor, "more": False}
        held = held_for(db, device, now.held_count)
    else:
        db.execute("BEGIN")
        try:
            now = standing(db, device)  # again, in the snapshot the records are read in
            _check_cursor(device, cursor, now)
            page = _records_after(db, device, cursor, limit, include_own, now.high)
            held = None if page["more"] else held_for(db, device, now.held_count)
        finally:
            db.execute("COMMIT")
    if now.served is None or now.moved(device):
        _note_served(db, device)
    page["device_max_seq"] = now.device_max
    page["server_hlc"] = now.hlc
    if held is not None:
        page["held"], page["held_count"] = held
    return page


def _check_cursor(device: Device, cursor: int, now: Standing) -> None:
    """A cursor older than purged tombstones, or one reached serving other townships, cannot be
    carried on from: the records of new townships lie behind it."""
    if 0 < cursor and (cursor < now.purged or now.moved(device)):
        raise ResyncRequired()


def _records_after(
    db: Database, device: Device, cursor: int, limit: int, include_own: bool, high: int
) -> dict[str, Any]:
    """The page of records after `cursor` (at most `limit` of the ordinary pages, and the
    earlier records of sessions on it the device's envoy now runs), inside the caller's read."""
    found: list[tuple[int, str, dict[str, Any]]] = []
    for kind in p.PULLED_KINDS:
        for row in _changed_rows(db, device, kind, cursor, limit, include_own):
            found.append((row["server_seq"], kind, row))
    found.sort(key=lambda item: item[0])
    page = found[:limit]
    more = len(found) > limit
    masking = _Masking(db, device)
    records = [{"k": kind, "r": masking.wire_record(kind, row)} for _seq, kind, row in page]
    sent = {(kind, row.get("id")) for _seq, kind, row in page}
    run = [
        state
        for _seq, kind, row in page
        if kind == p.SESSION and runs_session(device, state := row_to_state(kind, row))
    ]
    for kind, row in session_reach.earlier_records(db, device, run, cursor, include_own):
        if (kind, row["id"]) not in sent:
            sent.add((kind, row["id"]))
            records.append({"k": kind, "r": masking.wire_record(kind, row)})
    answer: dict[str, Any] = {
        "records": records,
        "cursor": page[-1][0] if more else max(high, cursor),
        "more": more,
    }
    if masking.used:
        answer["mobile_key"] = masking.key_hex
    return answer


def held_for(
    db: Database, device: Device, count: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The changes the server holds for this device (the first HELD_LISTED), and how many.

    Sent with a pull's last page, so the device can show what waits for a record not yet
    arrived: q its sequence number, k kind, i record id, w and wi the kind and id waited for,
    t when it was held. `count` is how many there are when the caller has just read it.
    """
    if count is None:
        count = db.execute(
            "SELECT count(*) FROM held_changes WHERE device_id = ?", [device.id]
        ).fetchone()[0]
    if not count:
        return [], 0
    rows = db.execute(
        "SELECT seq, change, waiting_kind, waiting_id, held_at FROM held_changes "
        "WHERE device_id = ? ORDER BY seq LIMIT ?",
        [device.id, p.HELD_LISTED],
    ).fetchall()
    listed = []
    for seq, change, waiting_kind, waiting_id, held_at in rows:
        wire = json.loads(change)
        listed.append(
            {
                "q": seq,
                "k": wire.get("k"),
                "i": wire.get("i"),
                "w": waiting_kind,
                "wi": waiting_id,
                "t": held_at,
            }
        )
    return listed, count


def _codes(codes: Any) -> list[str]:
    return sorted(str(code) for code in codes)


def _note_served(db: Database, device: Device) -> None:
    """Remember the townships this device's cursor now stands for (only when they change, so
    a pull that brings nothing stays read-only)."""
    with write_transaction(db):
        db.execute(
            "UPDATE devices SET served_townships = ? WHERE id = ?",
            [json.dumps(list(device.township_codes)), device.id],
        )


def _changed_rows(
    db: Database, device: Device, kind: str, cursor: int, limit: int, include_own: bool
) -> list[dict[str, Any]]:
    if kind == p.REVIEW:
        return _changed_reviews(db, device, cursor, limit)
    table = table_of(kind)
    where = ["server_seq > ?"]
    params: list[Any] = [cursor]
    if table in FIELD_TABLES:
        scope = ["envoy_id = ?"]
        params.append(device.envoy_id)
        if device.township_codes:
            scope.append(f"township_code IN ({','.join('?' * len(device.township_codes))})")
            params.extend(device.township_codes)
        # A session, its check-ins, hand-outs and farmers reach its lead and co-envoys,
        # whatever their townships.
        runs, run_params = session_reach.RUNS, session_reach.runs_params(device)
        if kind == p.FARMER:
            brought, brought_params = session_reach.farmer_scope(device)
            scope.append(f"({brought})")
            params.extend(brought_params)
        elif kind == p.SESSION:
            scope.append(runs)
            params.extend(run_params)
        elif kind in _OF_A_SESSION:
            scope.append(f"session_id IN (SELECT id FROM sessions WHERE {runs})")
            params.extend(run_params)
        elif kind == p.PHOTO:
            # A session's photos reach those who run it, as its check-ins do.
            scope.append(
                f"(subject_kind = 'session' AND subject_id IN (SELECT id FROM sessions WHERE {runs}))"
            )
            params.extend(run_params)
        where.append(f"({' OR '.join(scope)})")
        if not include_own:
            where.append("(origin_device IS NULL OR origin_device != ?)")
            params.append(device.id)
    sql = f"SELECT * FROM [{table}] WHERE {' AND '.join(where)} ORDER BY server_seq LIMIT ?"
    return list(db.query(sql, [*params, limit + 1]))


def _changed_reviews(db: Database, device: Device, cursor: int, limit: int) -> list[dict[str, Any]]:
    """Reviews of this device's envoy's records changed after the cursor: only their envoy's
    devices get them, and without the reviewer's name (the note speaks for the bureau)."""
    return list(
        db.query(
            "SELECT id, record_kind, record_id, status, note, reviewed_at, server_seq "
            "FROM reviews WHERE envoy_id = ? AND server_seq > ? ORDER BY server_seq LIMIT ?",
            [device.envoy_id, cursor, limit + 1],
        )
    )


class _Masking:
    """Records as this device may hold them: other envoys' farmers' mobiles masked."""

    def __init__(self, db: Database, device: Device) -> None:
        self.db = db
        self.device = device
        self.used = False
        self.key_hex = ""
        self._key: bytes | None = None

    def wire_record(self, kind: str, row: dict[str, Any]) -> dict[str, Any]:
        if kind == p.REVIEW:
            return {name: value for name, value in row.items() if name != "server_seq"}
        state = row_to_state(kind, row)
        if kind == p.ENVOY:
            # Envoys' phone numbers stay on the server.
            state.pop("mobile", None)
        elif kind == p.FARMER and state.get("mobile"):
            if self._key is None:
                self.key_hex = str(get_state(self.db, "mobile_key") or "")
                self._key = bytes.fromhex(self.key_hex)
            self.used |= mask_for(self.device, state, self._key)
        elif kind in ADDED_FIELDS:
            for_device(self.device, kind, state)
        return state
