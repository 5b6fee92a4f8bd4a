"""The field device's own SQLite replica: records, the outbox of unsent changes, reference data."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from field_client.migrations import REVIEW_COLUMNS, migrations, schema_version
from field_client.outbox import PENDING, Outbox, dumps
from shared import protocol as p
from shared.clock import HybridLogicalClock, parse_stamp, stamp_iso, to_iso, wall_ms
from shared.errors import InvalidRecord, TianjianError
from shared.ids import attendance_id, new_id
from shared.merge import STAMPS, merge, stamped_change, with_derived_meta
from shared.mobile import is_masked
from shared.private_files import create_owner_only
from shared.schemas.field import data_fields, validate_fields, validate_record


class NotEnrolled(TianjianError):
    """This device has not been enrolled with a server yet."""


class UnknownRecord(TianjianError):
    """No record of that kind has that id on this device."""


class AppendOnly(TianjianError):
    """Events are never edited: record a correction as a new event."""


class NotYours(TianjianError):
    """Another envoy registered this farmer: this device holds them to view, not to edit."""

    status = 403
    message = (
        "这位农户由另一位特派员登记，本机只能查看，请由登记人修改 / "
        "this farmer was registered by another envoy: only they can edit the record"
    )


class FieldStore(Outbox):
    """Every local change is written with its outbox entry in one transaction.

    Open one store per thread (or per web request) and close it after: each holds its own
    SQLite connection, and SQLite's locks order writers of separate connections. Opening is
    cheap once the file's schema is current. A store that is shared anyway runs one
    transaction at a time (a lock), so threads sharing it wait instead of failing.
    """

    def __init__(self, path: str, device_clock: Callable[[], int] = wall_ms) -> None:
        create_owner_only(path)
        # Photos' bytes are kept beside it (field_client/photos.py media_dir).
        self.path = path
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._depth = 0
        if self.db.execute("PRAGMA user_version").fetchone()[0] != schema_version():
            # First open of this file by this version: WAL (kept by the file from then on)
            # and the migrations. Later opens skip both.
            self.db.execute("PRAGMA journal_mode=WAL")
            migrations.apply(self.db)
            self.db.execute(f"PRAGMA user_version = {schema_version()}")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.device_clock = device_clock

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> FieldStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction; nested uses join the outer one, so several changes
        (a session and its check-ins deleted together) commit or roll back as one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.db
                finally:
                    self._depth -= 1
                return
            self.db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.db
            except BaseException:
                self.db.rollback()
                raise
            else:
                self.db.execute("COMMIT")
            finally:
                self._depth = 0

    # ------------------------------------------------------------ meta

    def get(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set(self, key: str, value: object) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, None if value is None else str(value)],
        )

    @property
    def enrolled(self) -> bool:
        return self.get("device_id") is not None

    def identity(self) -> tuple[str, str]:
        device_id, envoy_id = self.get("device_id"), self.get("envoy_id")
        if not device_id or not envoy_id:
            raise NotEnrolled(
                "本设备尚未登记，请先运行 tianjian-field enroll / not enrolled yet: run enroll first"
            )
        return device_id, envoy_id

    def save_enrolment(self, server_url: str, answer: dict[str, Any], offset_ms: int) -> None:
        with self.transaction():
            self.set("server_url", server_url.rstrip("/"))
            self.set("device_id", answer["device_id"])
            self.set("token", answer["token"])
            self.set("envoy_id", answer["envoy"]["id"])
            self.set("envoy", json.dumps(answer["envoy"], ensure_ascii=False))
            self.set("clock_offset_ms", offset_ms)
            self.set("next_seq", 1)
            self.set("cursor", 0)
            hlc = self._clock()
            if answer.get("server_hlc"):
                hlc.observe(answer["server_hlc"])
            self.set("hlc", hlc.last)

    # ------------------------------------------------------------ clock

    def corrected_wall(self) -> int:
        """The device clock, corrected by the offset measured against the server at last sync."""
        return self.device_clock() + int(self.get("clock_offset_ms", "0") or 0)

    def _clock(self) -> HybridLogicalClock:
        device_id = self.get("device_id") or "unenrolled"
        return HybridLogicalClock(device_id, self.get("hlc"), self.corrected_wall)

    def best_now_iso(self) -> str:
        """Our best idea of the time: a clock reset to 1970 never takes us back before known events."""
        hlc = self.get("hlc")
        physical = max(self.corrected_wall(), parse_stamp(hlc)[0] if hlc else 0)
        return to_iso(datetime.fromtimestamp(physical / 1000, UTC))

    def observe_server(self, server_hlc: str | None, offset_ms: int | None) -> None:
        with self.transaction():
            if offset_ms is not None:
                self.set("clock_offset_ms", offset_ms)
            if server_hlc:
                hlc = self._clock()
                hlc.observe(server_hlc)
                self.set("hlc", hlc.last)

    # ------------------------------------------------------------ records

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT data FROM records WHERE kind = ? AND id = ?", [kind, record_id]
        ).fetchone()
        return json.loads(row[0]) if row else None

    def records(self, kind: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT data FROM records WHERE kind = ?" + (
            "" if include_deleted else " AND deleted = 0"
        )
        return [json.loads(row[0]) for row in self.db.execute(sql + " ORDER BY rowid", [kind])]

    def ids_starting(self, kind: str, prefix: str, limit: int = 20) -> list[str]:
        """Ids of live records of a kind that begin with `prefix` (lists show ids shortened)."""
        rows = self.db.execute(
            "SELECT id FROM records WHERE kind = ? AND deleted = 0 AND id >= ? AND id < ? "
            "ORDER BY id LIMIT ?",
            [kind, prefix, prefix + "\uffff", limit],
        )
        return [row[0] for row in rows]

    def _write_record(self, kind: str, state: dict[str, Any]) -> None:
        with_derived_meta(state)
        self.db.execute(
            "INSERT OR REPLACE INTO records (kind, id, data, deleted, hlc, envoy_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                kind,
                state["id"],
                dumps(state),
                int(bool(state["deleted"])),
                state["hlc"],
                state.get("envoy_id"),
            ],
        )

    def _enqueue(
        self,
        kind: str,
        record_id: str,
        stamp: str,
        base: str | None,
        values: dict[str, Any],
        is_create: bool,
    ) -> int:
        seq = int(self.get("next_seq", "1") or 1)
        self.set("next_seq", seq + 1)
        self.db.execute(
            "INSERT INTO outbox (seq, kind, id, stamp, base, fields, is_create, state, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                seq,
                kind,
                record_id,
                stamp,
                base,
                dumps(values),
                int(is_create),
                PENDING,
                self.best_now_iso(),
            ],
        )
        return seq

    def create(self, kind: str, values: dict[str, Any], record_id: str | None = None) -> str:
        """Make a new record: validated in full, written with its outbox entry, id returned."""
        device_id, envoy_id = self.identity()
        record_id = record_id or new_id()
        if kind in (p.ATTENDANCE,) and record_id != attendance_id(
            values["session_id"], values["farmer_id"]
        ):
            raise InvalidRecord(kind, {"id": "derived from session and farmer"})
        with self.transaction():
            hlc = self._clock()
            stamp = hlc.now()
            draft = {
                "id": record_id,
                "envoy_id": envoy_id,
                "device_id": device_id,
                "hlc": stamp,
                "created_at": stamp_iso(stamp),
                "updated_at": stamp_iso(stamp),
                **values,
            }
            clean = validate_record(kind, draft)
            data = {name: clean[name] for name in data_fields(kind) if name in clean}
            if kind == p.ATTENDANCE:
                data["seen_by"] = [device_id]
            state = stamped_change(data, stamp)
            state.update({"id": record_id, "envoy_id": envoy_id, "device_id": device_id})
            self._write_record(kind, state)
            sent = {k: v for k, v in data.items() if k != "seen_by"}
            self._enqueue(kind, record_id, stamp, None, sent, is_create=True)
            self.set("hlc", hlc.last)
        return record_id

    def update(self, kind: str, record_id: str, values: dict[str, Any]) -> None:
        """Edit some fields of a record; the edit carries the version it was based on."""
        if kind in p.APPEND_ONLY_KINDS:
            raise AppendOnly(
                "此类记录只能追加，更正请新建一条 / append-only: record a correction instead"
            )
        if kind == p.FARMER:
            # Before the fields: a farmer held masked cannot be edited here, whatever was typed.
            self._check_editable(kind, self.record(kind, record_id))
        self._edit(kind, record_id, validate_fields(kind, values))

    def delete(self, kind: str, record_id: str) -> None:
        """A tombstone: it beats older edits and travels like any other change."""
        self._edit(kind, record_id, {"deleted": True})

    def _edit(self, kind: str, record_id: str, clean: dict[str, Any]) -> None:
        """Stamp validated field values onto a record and queue them, in one transaction."""
        with self.transaction():
            current = self.record(kind, record_id)
            if current is None:
                raise UnknownRecord(f"{kind} {record_id}")
            self._check_editable(kind, current)
            hlc = self._clock()
            stamp = hlc.now()
            merged = merge(kind, current, stamped_change(clean, stamp)).state
            validate_record(kind, {k: v for k, v in merged.items() if k != STAMPS})
            self._write_record(kind, merged)
            self._enqueue(kind, record_id, stamp, current["hlc"], clean, is_create=False)
            self.set("hlc", hlc.last)

    @staticmethod
    def _check_editable(kind: str, current: dict[str, Any] | None) -> None:
        # Only other envoys' farmers come masked, and the server takes edits of a farmer from
        # the envoy who registered them alone; a masked number must never go back as an edit.
        if kind == p.FARMER and current is not None and is_masked(current.get("mobile")):
            raise NotYours()

    def checkin(
        self,
        session_id: str,
        farmer_id: str,
        method: str = "roster",
        at: str | None = None,
        phone: str | None = None,
        marks: dict[str, Any] | None = None,
    ) -> tuple[str, bool]:
        """Check a farmer into a session; the same check-in twice is one row. Returns (id, new).
        `phone`: the hash of the phone that made it (field_client/phones.py), if one did;
        `marks`: a self check-in's `net` and `typed_code` (phones.checkin_marks)."""
        record_id = attendance_id(session_id, farmer_id)
        # Looked up inside the write transaction: two requests checking the same farmer in at
        # once make one check-in, not two creates.
        with self.transaction():
            current = self.record(p.ATTENDANCE, record_id)
            if current is not None and not current.get("deleted"):
                return record_id, False
            values = {
                "session_id": session_id,
                "farmer_id": farmer_id,
                "checked_in_at": at or self.best_now_iso(),
                "method": method,
            }
            if phone is not None:
                values["phone"] = phone
            values.update(marks or {})
            if current is None:
                return self.create(p.ATTENDANCE, values, record_id), True
            # A re-check-in after a removal: a later stamp overrides the tombstone.
            self._recheckin(record_id, values)
            return record_id, True

    def undo_checkin(self, record_id: str, reason: str | None) -> None:
        """Tombstone a check-in and note why, in one transaction (the reason stays here)."""
        with self.transaction():
            current = self.record(p.ATTENDANCE, record_id)
            if current is None or current.get("deleted"):
                raise UnknownRecord(
                    "该农民未在这场培训签到 / this farmer is not checked in to this session",
                    {"farmer": "not checked in"},
                )
            self.delete(p.ATTENDANCE, record_id)
            self.db.execute(
                "INSERT INTO undone_checkins "
                "(attendance_id, session_id, farmer_id, reason, undone_at) VALUES (?, ?, ?, ?, ?)",
                [
                    record_id,
                    current["session_id"],
                    current["farmer_id"],
                    reason,
                    self.best_now_iso(),
                ],
            )

    def undone_checkins(self, session_id: str) -> list[dict[str, Any]]:
        """Check-ins undone at a session on this device, with their reasons, oldest first."""
        return list(
            self.db.query(
                "SELECT attendance_id, farmer_id, reason, undone_at FROM undone_checkins "
                "WHERE session_id = ? ORDER BY seq",
                [session_id],
            )
        )

    def _recheckin(self, record_id: str, values: dict[str, Any]) -> None:
        self._edit(
            p.ATTENDANCE, record_id, validate_fields(p.ATTENDANCE, {**values, "deleted": False})
        )

    # ------------------------------------------------------------ pull

    def apply_pull(
        self, records: list[dict[str, Any]], cursor: int, mobile_key: str | None = None
    ) -> None:
        """Apply one pulled page and move the cursor, in one transaction."""
        with self.transaction():
            if mobile_key:
                # The key of the hashes beside other envoys' farmers' masked mobiles.
                self.set("mobile_key", mobile_key)
            # Read once per page, not once per record: nothing here changes the outbox.
            unsent: set[tuple[str, str]] | None = None
            for item in records:
                kind, state = item["k"], item["r"]
                if kind in p.FIELD_KINDS:
                    if unsent is None:
                        unsent = set(
                            self.db.conn.execute(
                                "SELECT kind, id FROM outbox WHERE state = ?", [PENDING]
                            )
                        )
                    self._apply_field(kind, state, (kind, state["id"]) in unsent)
                elif kind == p.REVIEW:
                    # One row per record: a newer review of it replaces the one before.
                    self.db.execute(
                        "INSERT OR REPLACE INTO reviews (id, record_kind, record_id, status, "
                        "note, reviewed_at) VALUES (?, ?, ?, ?, ?, ?)",
                        [state.get(name) for name in REVIEW_COLUMNS],
                    )
                elif kind == p.FARMER_ALIAS:
                    self.db.execute(
                        "INSERT OR REPLACE INTO aliases (id, canonical_id) VALUES (?, ?)",
                        [state["id"], state["canonical_id"]],
                    )
                else:
                    key = state.get("code") if kind == p.UNIT else state.get("id")
                    self.db.execute(
                        "INSERT OR REPLACE INTO reference (kind, id, data) VALUES (?, ?, ?)",
                        [kind, key, dumps(state)],
                    )
            self.set("cursor", cursor)

    def _apply_field(self, kind: str, server_state: dict[str, Any], unsent: bool) -> None:
        current = self.record(kind, server_state["id"]) if unsent else None
        if current is not None:
            # Merge only stamped fields: the server's metadata (id, hlc, ...) carries no stamp.
            stamps = server_state.get(STAMPS, {})
            incoming = {k: v for k, v in server_state.items() if k in stamps}
            merged = merge(kind, current, {**incoming, STAMPS: stamps}).state
            for meta in ("envoy_id", "device_id"):
                merged[meta] = server_state.get(meta)
            # Unstamped, like the metadata: the hash beside a masked mobile is the server's.
            if "mobile_hash" in server_state:
                merged["mobile_hash"] = server_state["mobile_hash"]
            self._write_record(kind, merged)
        else:
            # Nothing of ours is unsent: the server's version is the record.
            self._write_record(kind, dict(server_state))

    def start_full_resync(self) -> None:
        """Drop every record with nothing unsent and pull everything again from the start."""
        with self.transaction():
            # Row-value NOT IN builds the set of unsent records once; a correlated NOT EXISTS
            # would scan the outbox for every record now that it has no (kind, id) index.
            # (No row of either table has a NULL kind or id, so NOT IN means what it says.)
            self.db.execute(
                "DELETE FROM records WHERE (kind, id) NOT IN "
                "(SELECT kind, id FROM outbox WHERE state = ?)",
                [PENDING],
            )
            self.set("cursor", 0)
            self.set("resync_own", 1)

    # ------------------------------------------------------------ reference data

    def reference(self, kind: str) -> list[dict[str, Any]]:
        return [
            json.loads(row[0])
            for row in self.db.execute(
                "SELECT data FROM reference WHERE kind = ? ORDER BY rowid", [kind]
            )
        ]

    def aliases(self) -> dict[str, str]:
        """Every merged farmer record's id and the record it was merged into (from the server)."""
        return dict(self.db.execute("SELECT id, canonical_id FROM aliases").fetchall())

    def canonical_farmer(self, farmer_id: str) -> str:
        row = self.db.execute(
            "SELECT canonical_id FROM aliases WHERE id = ?", [farmer_id]
        ).fetchone()
        return row[0] if row else farmer_id
