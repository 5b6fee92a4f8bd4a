"""The sync protocol's vocabulary, in one place so both sides spell it the same way."""

from typing import Final

PROTOCOL_VERSION: Final = 1
# The oldest client protocol the server still speaks; older clients are told to update.
MIN_CLIENT_PROTOCOL: Final = 1
# "reviews": the device keeps staff reviews of its envoy's records (kind REVIEW, below).
# "phone": takes and sends a check-in's `phone` (the hash of the phone that made it). A device
# sends it only to a server that announced this, a server only to a device that did, so
# either side older than the field still syncs (docs/sync.md).
CAPABILITY_PHONE: Final = "phone"
# "checkin_net": takes and sends a self check-in's `net` (a keyed hash of the client's network
# address) and `typed_code` (true when the farmer typed the session code, no QR), on the same
# terms as `phone`.
CAPABILITY_CHECKIN_NET: Final = "checkin_net"
CAPABILITIES: Final = (
    "gzip",
    "held",
    "aliases",
    "renumber",
    "reviews",
    CAPABILITY_PHONE,
    CAPABILITY_CHECKIN_NET,
)
# The capability each later-added check-in field needs on the other side.
ADDED_FIELD_CAPABILITY: Final = {
    "phone": CAPABILITY_PHONE,
    "net": CAPABILITY_CHECKIN_NET,
    "typed_code": CAPABILITY_CHECKIN_NET,
}

HEADER_PROTOCOL: Final = "X-Tianjian-Protocol"
HEADER_CAPABILITIES: Final = "X-Tianjian-Capabilities"
HEADER_DEVICE_TIME: Final = "X-Tianjian-Device-Time"
HEADER_SERVER_TIME: Final = "X-Tianjian-Server-Time"
# Sent by a device that has no key yet for signing its check-in posters (enrolled before the
# server handed keys out): the pull answer then carries `checkin_key`. A header, not a query
# field, so an older server simply ignores it.
HEADER_WANT_CHECKIN_KEY: Final = "X-Tianjian-Want-Checkin-Key"
# What the device holds, sent with every push and pull (shared/device_report.py): its pull
# cursor and, per field kind, live records of its own envoy and unsent, new, gone and refused
# ones. The server keeps the latest per device for the ledger (server/sync/envoy_ledger.py).
HEADER_DEVICE_REPORT: Final = "X-Tianjian-Device-Report"

# Per-change answers to a push.
APPLIED: Final = "applied"
DUPLICATE: Final = "duplicate"
MERGED: Final = "merged"
HELD: Final = "held"
REJECTED: Final = "rejected"
SEQ_REUSED: Final = "seq_reused"
STATUSES: Final = (APPLIED, DUPLICATE, MERGED, HELD, REJECTED, SEQ_REUSED)

# Field records: made on devices, pushed up, pulled down.
FARMER: Final = "farmer"
SESSION: Final = "session"
ATTENDANCE: Final = "attendance"
LEAFLET_RECEIPT: Final = "leaflet_receipt"
LEAFLET_HANDOUT: Final = "leaflet_handout"
PLOT: Final = "plot"
PLOT_OBSERVATION: Final = "plot_observation"
# A photo's metadata (shared/schemas/field.py PhotoSchema); its bytes travel apart, by their
# SHA-256, through /api/v1/media after the record is pushed (shared/photos.py, docs/sync.md).
PHOTO: Final = "photo"
FIELD_KINDS: Final = (
    FARMER,
    SESSION,
    ATTENDANCE,
    LEAFLET_RECEIPT,
    LEAFLET_HANDOUT,
    PLOT,
    PLOT_OBSERVATION,
    PHOTO,
)
# Events: once made they never change; a correction is a new event.
APPEND_ONLY_KINDS: Final = (LEAFLET_RECEIPT, LEAFLET_HANDOUT, PLOT_OBSERVATION)

# Reference data: owned by the server, flows down only.
UNIT: Final = "unit"
ENVOY: Final = "envoy"
TECHNOLOGY: Final = "technology"
VARIETY: Final = "variety"
LEAFLET_TITLE: Final = "leaflet_title"
TARGET: Final = "target"
FARMER_ALIAS: Final = "farmer_alias"
REFERENCE_KINDS: Final = (UNIT, ENVOY, TECHNOLOGY, VARIETY, LEAFLET_TITLE, TARGET, FARMER_ALIAS)

ALL_KINDS: Final = FIELD_KINDS + REFERENCE_KINDS

# Staff's present review of a field record (statuses in shared/review_status.py). Owned by the
# server and flowing down only, like reference data, but only to devices of the record's envoy,
# as {id, record_kind, record_id, status, note, reviewed_at}. Kept out of ALL_KINDS, which are
# what a push may name. A device too old to know the kind keeps it among its reference rows,
# where nothing reads it; the field client's migration m003 moves such rows to its own table.
REVIEW: Final = "review"
ENVOY_ONLY_KINDS: Final = (REVIEW,)
# Every kind a pull page may carry, in the order the server looks for changes.
PULLED_KINDS: Final = ALL_KINDS + ENVOY_ONLY_KINDS

# Server table for each kind (plural nouns, as a newcomer would guess).
TABLES: Final = {
    FARMER: "farmers",
    SESSION: "sessions",
    ATTENDANCE: "attendances",
    LEAFLET_RECEIPT: "leaflet_receipts",
    LEAFLET_HANDOUT: "leaflet_handouts",
    PLOT: "plots",
    PLOT_OBSERVATION: "plot_observations",
    PHOTO: "photos",
    UNIT: "units",
    ENVOY: "envoys",
    TECHNOLOGY: "technologies",
    VARIETY: "varieties",
    LEAFLET_TITLE: "leaflet_titles",
    TARGET: "targets",
    FARMER_ALIAS: "farmer_aliases",
}

# Tombstones are kept longer than the longest offline spell; a device whose cursor is older
# than what has been purged must resync from scratch.
TOMBSTONE_RETENTION_DAYS: Final = 180
# A device clock more than this far ahead of the server cannot stamp edits past it.
MAX_CLOCK_AHEAD_MS: Final = 5 * 60 * 1000

# Fewer, larger batches commit less often; the byte cap keeps one request to well under a
# minute on a 30 kbit/s link, so a dropped connection costs little.
DEFAULT_BATCH_CHANGES: Final = 5000
DEFAULT_BATCH_BYTES: Final = 160 * 1024
DEFAULT_PULL_PAGE: Final = 2000
# A pull's last page lists at most this many of the changes the server holds for the device
# (with their count), so the envoy sees what waits for a record not yet arrived.
HELD_LISTED: Final = 100
