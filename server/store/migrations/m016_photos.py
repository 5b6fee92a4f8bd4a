"""m016: photos, a field record like the others, and the media their bytes arrive into."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations

# The photo record as m016 built it, written out once (shared/schemas/field.py PhotoSchema is
# the code's description today; a later column comes in a migration of its own).
_M016_PHOTO_COLUMNS: dict[str, type] = {
    "id": str,
    "subject_kind": str,
    "subject_id": str,
    "photo_kind": str,
    "sha256": str,
    "size_bytes": int,
    "width": int,
    "height": int,
    "taken_at": str,
    "recorded_at": str,
    "latitude": float,
    "longitude": float,
    "accuracy_m": float,
    "note": str,
    # The sync columns every field record has.
    "envoy_id": str,
    "device_id": str,
    "created_at": str,
    "updated_at": str,
    "deleted": int,
    "hlc": str,
    "stamps": str,
    "township_code": str,
    "origin_device": str,
    "server_seq": int,
}


@migrations()
def m016_photos(db: Database) -> None:
    """`photos` holds the records pushed like any other; `media` one row per picture's SHA-256:
    how many of its bytes have arrived and whether they are all there and checked. The bytes
    themselves live in the media folder (server/media/store.py), never in SQLite."""
    db.table("photos").create(_M016_PHOTO_COLUMNS, pk="id", not_null={"envoy_id", "hlc"})
    db.table("photos").create_index(["server_seq"])
    db.table("photos").create_index(["subject_kind", "subject_id"])
    db.table("photos").create_index(["sha256"])
    db.execute(
        "CREATE TABLE media (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, "
        "received INTEGER NOT NULL DEFAULT 0, complete INTEGER NOT NULL DEFAULT 0, "
        "stored_at TEXT) WITHOUT ROWID"
    )
