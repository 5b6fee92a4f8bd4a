"""Server migrations m001 to m010, as they landed (each with its literal columns; never changed)."""

from __future__ import annotations

import secrets

from sqlite_utils import Database

from server.store import dialect
from server.store.migrations.registry import migrations

# What m001 and m002 built, written out here once and never changed: the code's description of
# the tables today is server/store/tables.py (derived from the schemas), and a later column comes in
# a migration of its own (add_column), so an old migration never builds something else.

# Columns every synced field record had besides its own data.
_M001_SYNC_COLUMNS: dict[str, type] = {
    "envoy_id": str,
    "device_id": str,
    "created_at": str,
    "updated_at": str,
    "deleted": int,
    "hlc": str,
    "stamps": str,
    # Township (9-digit prefix, padded) the record belongs to, for pull scoping.
    "township_code": str,
    # The device whose create this is, so it need not pull its own record back; NULL
    # once anything else has touched the record.
    "origin_device": str,
    "server_seq": int,
}

_M001_FIELD_TABLES: dict[str, dict[str, type]] = {
    "farmers": {
        "id": str,
        "name": str,
        "mobile": str,
        "gender": str,
        "birth_year": int,
        "village_code": str,
    },
    "sessions": {
        "id": str,
        "kind": str,
        "title": str,
        "technology_ids": str,
        "unit_code": str,
        "place": str,
        "starts_at": str,
        "ends_at": str,
        "lead_envoy_id": str,
        "co_envoy_ids": str,
        "reported_headcount": int,
        "display_boards": int,
        "closed": int,
    },
    "attendances": {
        "id": str,
        "session_id": str,
        "farmer_id": str,
        "checked_in_at": str,
        "method": str,
        "seen_by": str,
    },
    "leaflet_receipts": {
        "id": str,
        "leaflet_title_id": str,
        "copies": int,
        "received_on": str,
        "correction_of": str,
    },
    "leaflet_handouts": {
        "id": str,
        "leaflet_title_id": str,
        "copies": int,
        "session_id": str,
        "unit_code": str,
        "handed_out_at": str,
        "correction_of": str,
    },
    "plots": {
        "id": str,
        "village_code": str,
        "host_name": str,
        "crop": str,
        "variety_id": str,
        "technology_ids": str,
        "area_mu": float,
        "latitude": float,
        "longitude": float,
        "altitude_m": float,
        "target_yield_kg_per_mu": float,
        "established_on": str,
    },
    "plot_observations": {
        "id": str,
        "plot_id": str,
        "observed_on": str,
        "stage": str,
        "survival_rate": float,
        "yield_kg_per_mu": float,
        "notes": str,
        "correction_of": str,
    },
}

_M001_REFERENCE_TABLES: dict[str, tuple[dict[str, type], str]] = {
    "units": ({"code": str, "name": str, "parent_code": str, "level": str}, "code"),
    "envoys": (
        {"id": str, "name": str, "mobile": str, "township_codes": str, "active": int},
        "id",
    ),
    "technologies": ({"id": str, "name": str, "category": str}, "id"),
    "varieties": ({"id": str, "name": str, "crop": str}, "id"),
    "leaflet_titles": ({"id": str, "title": str}, "id"),
    "targets": (
        {
            "id": str,
            "year": int,
            "unit_code": str,
            "indicator": str,
            "comparator": str,
            "value": float,
        },
        "id",
    ),
    "farmer_aliases": ({"id": str, "canonical_id": str, "merged_at": str, "reason": str}, "id"),
}


@migrations()
def m001_initial(db: Database) -> None:
    db.table("server_state").create({"key": str, "value": str}, pk="key")
    db.table("server_state").insert({"key": "seq", "value": "0"})
    db.table("server_state").insert({"key": "purged_seq", "value": "0"})
    for table, columns in _M001_FIELD_TABLES.items():
        db.table(table).create(
            {**columns, **_M001_SYNC_COLUMNS}, pk="id", not_null={"envoy_id", "hlc"}
        )
        db.table(table).create_index(["server_seq"])
    for table, (columns, pk) in _M001_REFERENCE_TABLES.items():
        db.table(table).create({**columns, "server_seq": int}, pk=pk)
        db.table(table).create_index(["server_seq"])
    # No index on attendances.farmer_id: random farmer ids scattered over a b-tree made it the
    # dearest part of storing a check-in, and nothing looks check-ins up by farmer yet.
    db.table("attendances").create_index(["session_id"])
    db.table("sessions").create_index(["starts_at"])
    db.table("farmers").create_index(["mobile"])
    db.table("farmers").create_index(["name", "village_code"])
    db.table("leaflet_handouts").create_index(["handed_out_at"])
    db.table("plot_observations").create_index(["plot_id"])
    db.table("targets").create_index(["year", "unit_code", "indicator"], unique=True)

    db.table("devices").create(
        {
            "id": str,
            "envoy_id": str,
            "name": str,
            "token_hash": str,
            "enrolled_at": str,
            "revoked_at": str,
            "last_seen_at": str,
            "skew_ms": int,
            "max_seq": int,
            "protocol": int,
        },
        pk="id",
        foreign_keys=[("envoy_id", "envoys", "id")],
    )
    db.table("devices").create_index(["token_hash"], unique=True)
    db.table("enrolment_codes").create(
        {"code_hash": str, "envoy_id": str, "created_at": str, "expires_at": str, "used_at": str},
        pk="code_hash",
        foreign_keys=[("envoy_id", "envoys", "id")],
    )
    # (device, seq) is the idempotency key of every change a device ever sent.
    db.execute(
        "CREATE TABLE device_changes (device_id TEXT NOT NULL, seq INTEGER NOT NULL, "
        "hash TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, "
        "PRIMARY KEY (device_id, seq)) WITHOUT ROWID"
    )
    db.table("held_changes").create(
        {
            "device_id": str,
            "seq": int,
            "envoy_id": str,
            "change": str,
            "waiting_kind": str,
            "waiting_id": str,
            "held_at": str,
        },
        pk=("device_id", "seq"),
    )
    db.table("held_changes").create_index(["waiting_id"])
    if dialect.is_postgresql(db):
        # SQLite numbers every row (rowid), which `held drop ID` names; PostgreSQL has no such
        # number, so the table gets one there under the same name (dialect.rowid).
        db.execute("ALTER TABLE held_changes ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY")
    db.table("conflicts").create(
        {
            "id": int,
            "kind": str,
            "record_id": str,
            "field": str,
            "winning_value": str,
            "winning_stamp": str,
            "losing_value": str,
            "losing_stamp": str,
            "device_id": str,
            "recorded_at": str,
        },
        pk="id",
    )
    db.table("conflicts").create_index(["kind", "record_id"])
    db.table("merge_candidates").create(
        {
            "id": int,
            "farmer_a": str,
            "farmer_b": str,
            "reason": str,
            "found_at": str,
            "resolved_at": str,
            "resolution": str,
        },
        pk="id",
    )
    db.table("merge_candidates").create_index(["farmer_a", "farmer_b"], unique=True)


# Indexes m001 gave the field tables besides the one on server_seq, which m002 makes the key,
# and the one on attendances.session_id: a check-in's id starts with its session's, so the
# unique index on id already keeps a session's check-ins together, and a second index cost
# a fifth of the time of storing a check-in.
_M001_FIELD_INDEXES = {
    "sessions": [["starts_at"]],
    "farmers": [["mobile"], ["name", "village_code"]],
    "leaflet_handouts": [["handed_out_at"]],
    "plot_observations": [["plot_id"]],
}


@migrations()
def m002_field_rows_keyed_by_server_seq(db: Database) -> None:
    """Field rows stored in the order the server wrote them, and idempotency keys in runs.

    With server_seq as the rowid every write appends to the table and a pull reads a range of
    it, and no separate index on server_seq has to be kept up. Keeping (device, seq) keys as
    one row per run of consecutive numbers, with the runs' hashes packed together, takes a
    100,000-change push from 100,000 key rows to a few dozen.
    """
    for table, columns in _M001_FIELD_TABLES.items():
        names = ", ".join(f"[{name}]" for name in {**columns, **_M001_SYNC_COLUMNS})
        db.table(f"{table}_m002").create(
            {**columns, **_M001_SYNC_COLUMNS}, pk="server_seq", not_null={"id", "envoy_id", "hlc"}
        )
        db.execute(
            f"INSERT INTO [{table}_m002] ({names}) SELECT {names} FROM [{table}] "
            "ORDER BY server_seq"
        )
        db.table(table).drop()
        db.rename_table(f"{table}_m002", table)
        db.table(table).create_index(["id"], unique=True)
        for index in _M001_FIELD_INDEXES.get(table, []):
            db.table(table).create_index(index)
    db.execute(
        "CREATE TABLE device_change_runs (device_id TEXT NOT NULL, first_seq INTEGER NOT NULL, "
        "last_seq INTEGER NOT NULL, hashes BLOB NOT NULL, status TEXT NOT NULL, reason TEXT, "
        "PRIMARY KEY (device_id, first_seq)) WITHOUT ROWID"
    )
    db.conn.executemany(
        "INSERT INTO device_change_runs VALUES (?, ?, ?, ?, ?, ?)",
        (
            (device_id, seq, seq, bytes.fromhex(digest), status, reason)
            for device_id, seq, digest, status, reason in db.execute(
                "SELECT device_id, seq, hash, status, reason FROM device_changes"
            ).fetchall()
        ),
    )
    db.table("device_changes").drop()


@migrations()
def m003_users_and_api_tokens(db: Database) -> None:
    """Who may open the bureau's pages (admin, staff, envoy), report API tokens, failed sign-ins."""
    db.table("users").create(
        {
            "id": int,
            "name": str,
            "password_hash": str,
            "role": str,
            "envoy_id": str,
            "created_at": str,
            "disabled_at": str,
            "last_sign_in_at": str,
        },
        pk="id",
        not_null={"name", "password_hash", "role"},
    )
    db.table("users").create_index(["name"], unique=True)
    db.table("api_tokens").create(
        {
            "id": int,
            "label": str,
            "token_hash": str,
            "created_by": int,
            "created_at": str,
            "revoked_at": str,
            "last_used_at": str,
        },
        pk="id",
        not_null={"label", "token_hash"},
    )
    db.table("api_tokens").create_index(["token_hash"], unique=True)
    # Failed sign-ins per user name and per address, so repeated guessing slows down.
    db.table("sign_in_failures").create(
        {"key": str, "failures": int, "last_failed_at": str}, pk="key"
    )


@migrations()
def m004_report_indexes(db: Database) -> None:
    """Indexes the report's range queries use (a unit is a range of division codes).

    None on attendances: the report reaches a session's check-ins through the unique index on
    their ids (they start with the session's), so storing a check-in costs no more than before.
    """
    db.table("sessions").create_index(["unit_code", "starts_at"], if_not_exists=True)
    db.table("sessions").create_index(["lead_envoy_id", "starts_at"], if_not_exists=True)
    db.table("leaflet_handouts").create_index(["unit_code", "handed_out_at"], if_not_exists=True)
    db.table("leaflet_handouts").create_index(["session_id"], if_not_exists=True)
    db.table("leaflet_handouts").create_index(["envoy_id", "handed_out_at"], if_not_exists=True)
    db.table("plots").create_index(["village_code", "established_on"], if_not_exists=True)
    db.table("plots").create_index(["envoy_id", "established_on"], if_not_exists=True)
    # Deleted farmers are few: a partial index lists them without reading the whole table.
    db.execute("CREATE INDEX IF NOT EXISTS idx_farmers_deleted ON farmers (id) WHERE deleted = 1")
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_farmer_aliases_canonical ON farmer_aliases (canonical_id)"
    )


@migrations()
def m005_targets_for_envoys_growth_and_profiles(db: Database) -> None:
    """Targets for an envoy (unit_code NULL) and growth on last year ('同比增长 10%'); the monthly
    profile of expected work per year (and optionally per indicator; '' for all)."""
    db.table("targets").add_column("envoy_id", str)
    db.table("targets").add_column("basis", str)
    db.table("targets").add_column("growth_percent", float)
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS idx_targets_envoy ON targets (year, envoy_id, indicator) "
        "WHERE envoy_id IS NOT NULL"
    )
    db.table("target_profiles").create(
        {"year": int, "indicator": str, "shares": str, "set_at": str}, pk=("year", "indicator")
    )


@migrations()
def m006_device_scope_and_mobile_key(db: Database) -> None:
    """What each device's cursor was served for, and the key of the hash beside masked mobiles.

    `served_townships` holds the township codes a device's pulls were scoped to; when its
    envoy's townships change, the device starts its pull again from zero (see server/sync/pull).
    Devices already enrolled were served their envoy's present townships.
    """
    db.table("devices").add_column("served_townships", str)
    db.execute(
        "UPDATE devices SET served_townships = "
        "(SELECT township_codes FROM envoys WHERE envoys.id = devices.envoy_id)"
    )
    db.execute(
        "INSERT OR IGNORE INTO server_state (key, value) VALUES ('mobile_key', ?)",
        [secrets.token_hex(32)],
    )


@migrations()
def m007_device_checkin_keys(db: Database) -> None:
    """Each device's key for signing its session posters' QR codes (issue 12)."""
    db.table("devices").add_column("checkin_key", str)


@migrations()
def m008_reviews_and_audit_log(db: Database) -> None:
    """Staff reviews of field records and the log of every staff action (issue 14).

    `reviews` holds each record's present review, one row per record (history is in the audit
    log); it has a server_seq like reference data so a review flows down to the envoy's devices.
    `audit_log` keeps who did what, when, with the state before and after as JSON.
    """
    db.table("reviews").create(
        {
            "id": str,
            "record_kind": str,
            "record_id": str,
            "envoy_id": str,
            "status": str,
            "note": str,
            "reviewed_by": str,
            "reviewed_at": str,
            "server_seq": int,
        },
        pk="id",
        not_null={"record_kind", "record_id", "status"},
    )
    db.table("reviews").create_index(["record_kind", "record_id"], unique=True)
    db.table("reviews").create_index(["server_seq"])
    db.table("reviews").create_index(["envoy_id", "status"])
    db.table("audit_log").create(
        {
            "id": int,
            "at": str,
            "user_id": int,
            "user_name": str,
            "action": str,
            "target_kind": str,
            "target_id": str,
            "before": str,
            "after": str,
        },
        pk="id",
        not_null={"at", "action"},
    )
    db.table("audit_log").create_index(["at"])
    db.table("audit_log").create_index(["target_kind", "target_id"])


@migrations()
def m009_device_reports_and_refusals(db: Database) -> None:
    """What each device last said it holds, and every change refused with its record (issue 14).

    `devices` gains the latest report a device sent with a sync (shared/device_report.py):
    `outbox_waiting` (its unsent changes), `device_report` (the report as JSON: its pull cursor
    and, per field kind, live, waiting, new, gone and refused) and `reported_at`. `refusals`
    keeps each refused change's kind, record and envoy beside its reason and per-field errors
    (JSON), which the idempotency
    runs (device, seq, status, reason) do not; written only when a change is refused, so the
    accepted path writes nothing more. The ledger (server/sync/envoy_ledger.py) reads both.
    """
    db.table("devices").add_column("outbox_waiting", int)
    db.table("devices").add_column("device_report", str)
    db.table("devices").add_column("reported_at", str)
    db.execute(
        "CREATE TABLE refusals (device_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT, "
        "record_id TEXT, envoy_id TEXT, created INTEGER NOT NULL DEFAULT 0, reason TEXT, "
        "errors TEXT, at TEXT NOT NULL, PRIMARY KEY (device_id, seq))"
    )
    db.execute("CREATE INDEX idx_refusals_envoy ON refusals (envoy_id, kind)")


@migrations()
def m010_checkin_phone(db: Database) -> None:
    """The phone a self check-in came from, as the short keyed hash of its cookie the field web
    app records (never a phone number), so reconciliation can list many farmers from one phone.

    The index holds only check-ins a phone made (most have none), by session and phone: the
    grouped query of server/quality/shared_phones.py reads just those.
    """
    db.table("attendances").add_column("phone", str)
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_attendances_session_phone "
        "ON attendances (session_id, phone) WHERE phone IS NOT NULL"
    )
