"""The ledger per envoy: what each of the envoy's devices last said it holds of each field kind
beside what the server counts, and every difference explained, record by record (docs/report.md
gives the identity the lines add up to). Pages and the API call ledger(); it holds the SQL."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlite_utils import Database

from server.reference.lookups import envoy_by_id
from server.store.records import expand_stamps, table_of
from server.sync.device_reports import latest_report
from server.sync.prepare import Prepared
from shared import protocol as p
from shared.device_report import DeviceReport

# Records listed per line; the rest are counted in `more`.
LISTED = 100

WAITING = "waiting"
MERGED = "merged"
REFUSED = "refused"
HELD = "held"
DELETED = "deleted"
NOT_PULLED = "not_pulled"
UNEXPLAINED = "unexplained"
LABELS = {
    WAITING: ("未同步", "not yet synced"),
    MERGED: ("合并为重复农户", "merged as a duplicate farmer"),
    REFUSED: ("被拒", "refused"),
    HELD: ("暂存待关联", "held, waiting for a record"),
    DELETED: ("已删除", "deleted"),
    NOT_PULLED: ("服务器上较新、本机尚未拉取", "newer on the server, not yet pulled"),
    UNEXPLAINED: ("未解释", "unexplained"),
}
# What a record is shown by, per kind: a column of its table (or of its change's fields).
_SHOWN_BY = {
    p.FARMER: "name",
    p.SESSION: "title",
    p.ATTENDANCE: "farmer_id",
    p.LEAFLET_RECEIPT: "copies",
    p.LEAFLET_HANDOUT: "copies",
    p.PLOT: "host_name",
    p.PLOT_OBSERVATION: "observed_on",
    p.PHOTO: "photo_kind",
}


@dataclass(frozen=True)
class LedgerRecord:
    """One record behind a line: `counted` when it makes part of the line's count."""

    record_id: str | None
    shown: str | None  # the farmer's name, the session's title ... (see _SHOWN_BY)
    detail: str | None  # why refused, what it waits for, whom it was merged into
    at: str | None
    counted: bool


@dataclass(frozen=True)
class LedgerLine:
    """One explanation: how many more the device holds than the server because of it."""

    key: str
    label: str
    count: int
    records: list[LedgerRecord] = field(default_factory=list)
    more: int = 0


@dataclass(frozen=True)
class KindLedger:
    """One field kind on one device: what it holds, what the server counts, the lines between."""

    kind: str
    device: int | None  # live + refused kept; None when the device never reported
    live: int | None
    refused_kept: int | None
    waiting: int | None
    new: int | None
    gone: int | None
    server: int
    tombstones: int
    lines: list[LedgerLine]
    unexplained: int
    balanced: bool


@dataclass(frozen=True)
class DeviceLedger:
    device_id: str
    device: str
    last_seen_at: str | None
    reported_at: str | None
    reported: bool
    cursor: int | None
    waiting: int | None
    kinds: list[KindLedger]


@dataclass(frozen=True)
class EnvoyLedger:
    envoy_id: str
    envoy: str
    server: dict[str, int]
    devices: list[DeviceLedger]
    balanced: bool


def ledger(db: Database, envoy_id: str) -> EnvoyLedger:
    """The ledger of one envoy (UnknownEnvoy if there is none): each unrevoked device's last
    report, kind by kind, against the server's counts, with every difference explained."""
    envoy = envoy_by_id(db, envoy_id)
    server = {kind: _server_count(db, kind, envoy_id) for kind in p.FIELD_KINDS}
    tombstones = {kind: _tombstones(db, kind, envoy_id) for kind in p.FIELD_KINDS}
    merged = _merged(db, envoy_id)
    devices = []
    for row in db.query(
        "SELECT id, name, last_seen_at, reported_at, device_report FROM devices "
        "WHERE envoy_id = ? AND revoked_at IS NULL ORDER BY enrolled_at, id",
        [envoy_id],
    ):
        report = latest_report(row["device_report"])
        kinds = [
            _kind_ledger(db, envoy_id, row["id"], report, kind, server, tombstones, merged)
            for kind in p.FIELD_KINDS
        ]
        devices.append(
            DeviceLedger(
                row["id"],
                row["name"],
                row["last_seen_at"],
                row["reported_at"],
                report is not None,
                report.cursor if report else None,
                report.waiting if report else None,
                kinds,
            )
        )
    balanced = all(kind.balanced for device in devices for kind in device.kinds)
    return EnvoyLedger(envoy_id, envoy["name"], server, devices, balanced)


def _kind_ledger(
    db: Database,
    envoy_id: str,
    device_id: str,
    report: DeviceReport | None,
    kind: str,
    server: dict[str, int],
    tombstones: dict[str, list[dict[str, Any]]],
    merged: list[LedgerRecord],
) -> KindLedger:
    cursor = report.cursor if report else None
    lines = [
        _line(MERGED, merged if kind == p.FARMER else []),
        _line(REFUSED, _refused(db, kind, device_id)),
        _line(HELD, _held(db, kind, device_id)),
        _line(DELETED, _deleted(kind, device_id, cursor, tombstones[kind])),
        _line(NOT_PULLED, _not_pulled(db, kind, envoy_id, device_id, cursor), sign=-1),
    ]
    if report is None:
        # Nothing to balance against: the lines still say what the server knows.
        return KindLedger(
            kind,
            None,
            None,
            None,
            None,
            None,
            None,
            server[kind],
            len(tombstones[kind]),
            lines,
            0,
            True,
        )
    counts = report.of(kind)
    lines.insert(0, LedgerLine(WAITING, _label(WAITING), counts.new - counts.gone))
    explained = server[kind] + sum(line.count for line in lines)
    unexplained = counts.holds - explained
    lines.append(LedgerLine(UNEXPLAINED, _label(UNEXPLAINED), unexplained))
    return KindLedger(
        kind,
        counts.holds,
        counts.live,
        counts.refused,
        counts.waiting,
        counts.new,
        counts.gone,
        server[kind],
        len(tombstones[kind]),
        lines,
        unexplained,
        unexplained == 0,
    )


def _label(key: str) -> str:
    chinese, english = LABELS[key]
    return f"{chinese} / {english}"


def _line(key: str, records: list[LedgerRecord], sign: int = 1) -> LedgerLine:
    count = sign * sum(1 for record in records if record.counted)
    return LedgerLine(key, _label(key), count, records[:LISTED], max(0, len(records) - LISTED))


def _server_count(db: Database, kind: str, envoy_id: str) -> int:
    """The envoy's live records of a kind; farmers as people (one merged into another, not)."""
    aliases = " AND id NOT IN (SELECT id FROM farmer_aliases)" if kind == p.FARMER else ""
    return int(
        db.execute(
            f"SELECT count(*) FROM [{table_of(kind)}] WHERE envoy_id = ? AND deleted = 0{aliases}",
            [envoy_id],
        ).fetchone()[0]
    )


def _tombstones(db: Database, kind: str, envoy_id: str) -> list[dict[str, Any]]:
    shown = _SHOWN_BY[kind]
    return list(
        db.query(
            f"SELECT id, [{shown}] AS shown, device_id, hlc, stamps, updated_at, server_seq "
            f"FROM [{table_of(kind)}] WHERE envoy_id = ? AND deleted = 1 "
            "ORDER BY server_seq DESC",
            [envoy_id],
        )
    )


def _merged(db: Database, envoy_id: str) -> list[LedgerRecord]:
    """The envoy's live farmers recorded as the same person as another farmer: the server
    counts that person once, under the canonical record."""
    return [
        LedgerRecord(
            row["id"],
            row["name"],
            f"→ {row['canonical_name'] or ''} {row['canonical_id']}"
            + (f" ({row['canonical_envoy']})" if row["canonical_envoy"] else ""),
            row["merged_at"],
            True,
        )
        for row in db.query(
            "SELECT f.id, f.name, a.canonical_id, a.merged_at, c.name AS canonical_name, "
            "e.name AS canonical_envoy FROM farmers f JOIN farmer_aliases a ON a.id = f.id "
            "LEFT JOIN farmers c ON c.id = a.canonical_id LEFT JOIN envoys e ON e.id = c.envoy_id "
            "WHERE f.envoy_id = ? AND f.deleted = 0 ORDER BY a.merged_at, f.id",
            [envoy_id],
        )
    ]


def _refused(db: Database, kind: str, device_id: str) -> list[LedgerRecord]:
    """The device's refused changes of a kind, with why. A refused new record the server does
    not have counts (the device keeps it in its rejected list); a refused edit does not (the
    device took the server's version back). A refused new record the server has since got
    (another device made it) was, in the end, applied: not listed."""
    table = table_of(kind)
    rows = db.execute(
        f"SELECT r.record_id, r.created, r.reason, r.errors, r.at, t.id IS NOT NULL FROM refusals r "
        f"LEFT JOIN [{table}] t ON t.id = r.record_id WHERE r.device_id = ? AND r.kind = ? "
        "ORDER BY r.seq",
        [device_id, kind],
    ).fetchall()
    found = []
    for record_id, created, reason, errors, at, on_server in rows:
        if created and on_server:
            continue
        found.append(LedgerRecord(record_id, None, _why(reason, errors), at, bool(created)))
    return found


def _why(reason: str | None, errors: str | None) -> str | None:
    """A refusal's reason, with the fields it named (as the device was told) after it."""
    if not errors:
        return reason
    named = "; ".join(
        f"{name}: {' '.join(str(m) for m in why) if isinstance(why, list) else why}"
        for name, why in json.loads(errors).items()
    )
    return f"{reason or ''} ({named})".strip()


def _held(db: Database, kind: str, device_id: str) -> list[LedgerRecord]:
    """The device's changes of a kind the server holds, with the record each waits for; a
    new record among them counts (the device holds it, the server not yet)."""
    found = []
    for text, waiting_kind, waiting_id, held_at in db.execute(
        "SELECT change, waiting_kind, waiting_id, held_at FROM held_changes "
        "WHERE device_id = ? ORDER BY seq",
        [device_id],
    ):
        change = json.loads(text)
        if change.get("k") != kind:
            continue
        record_id = Prepared(change).record_id
        created = not change.get("b") and not _exists(db, kind, record_id)
        values = change.get("f") if isinstance(change.get("f"), dict) else {}
        shown = values.get(_SHOWN_BY[kind])
        found.append(
            LedgerRecord(
                record_id,
                None if shown is None else str(shown),
                f"{waiting_kind} {waiting_id}",
                held_at,
                created,
            )
        )
    return found


def _exists(db: Database, kind: str, record_id: Any) -> bool:
    if not isinstance(record_id, str):
        return False
    found = db.execute(f"SELECT 1 FROM [{table_of(kind)}] WHERE id = ?", [record_id]).fetchone()
    return found is not None


def _deleted(
    kind: str, device_id: str, cursor: int | None, tombstones: list[dict[str, Any]]
) -> list[LedgerRecord]:
    """The envoy's deleted records of a kind. One counts when the device still holds it live:
    this device made it, someone else deleted it, after the device's last pull."""
    found = []
    for row in tombstones:
        stamps = expand_stamps(kind, row["stamps"], row["device_id"] or "", row["hlc"] or "")
        deleted_by = (stamps.get("deleted") or "").split(".", 2)[-1]
        unseen = (
            cursor is not None
            and row["server_seq"] > cursor
            and row["device_id"] == device_id
            and deleted_by != device_id
        )
        shown = None if row["shown"] is None else str(row["shown"])
        found.append(LedgerRecord(row["id"], shown, deleted_by or None, row["updated_at"], unseen))
    return found


def _not_pulled(
    db: Database, kind: str, envoy_id: str, device_id: str, cursor: int | None
) -> list[LedgerRecord]:
    """The envoy's live records another device made, stored or changed after this device's
    last pull: the server counts them, the device does not hold them yet (or holds an older
    version: then the line counts one too many, and the difference shows as unexplained)."""
    if cursor is None:
        return []
    shown = _SHOWN_BY[kind]
    # Merged farmers too: the device does not hold them either, and the merged line counts them.
    return [
        LedgerRecord(record_id, None if value is None else str(value), None, at, True)
        for record_id, value, at in db.execute(
            f"SELECT id, [{shown}], updated_at FROM [{table_of(kind)}] WHERE envoy_id = ? "
            "AND deleted = 0 AND server_seq > ? AND (device_id IS NULL OR device_id != ?) "
            "ORDER BY server_seq",
            [envoy_id, cursor, device_id],
        )
    ]


def as_json(found: EnvoyLedger) -> dict[str, Any]:
    """The ledger as the API sends it."""
    return asdict(found)


def envoys_with_devices(db: Database) -> list[dict[str, Any]]:
    """Envoys with unrevoked devices: how many, the changes they last reported waiting (None
    when none reported), and the latest report's time; for the bureau to pick a ledger."""
    return list(
        db.query(
            "SELECT e.id AS envoy_id, e.name AS envoy, count(*) AS devices, "
            "sum(d.outbox_waiting) AS waiting, max(d.reported_at) AS reported_at "
            "FROM devices d JOIN envoys e ON e.id = d.envoy_id WHERE d.revoked_at IS NULL "
            "GROUP BY e.id ORDER BY e.name"
        )
    )
