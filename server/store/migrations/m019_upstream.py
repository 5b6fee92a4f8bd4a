"""m019: counties reporting up (issue 23): a county's link to its province, on both sides."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations


@migrations()
def m019_upstream(db: Database) -> None:
    """The province's side and the county's side of the link.

    On the province: `devices.county_code` marks a county's link, a device of a new kind that
    acts for no one envoy (its `envoy_id` is NULL) and may write only records of its county; a
    record it forwarded keeps it as `device_id`, so the county owning a copy is the link's
    county (server/store/county_links.py). `upstream_codes` are the one-time codes the
    province issues for a county, stored hashed like envoys' enrolment codes.

    On the county: `upstream_link` is its one link up (at most one row): the province's address,
    the token (kept readable: the county must send it), and `cursor`, the server_seq up to which
    its records have been forwarded and answered (server/upstream/forward.py);
    `province_targets` names the targets (ids of `targets`) the province set for this county,
    pulled down the link and read-only here (server/plan/province_targets.py).
    """
    db.execute("ALTER TABLE devices ADD COLUMN county_code TEXT")
    db.execute(
        "CREATE TABLE upstream_codes (code_hash TEXT PRIMARY KEY, county_code TEXT NOT NULL, "
        "created_at TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT)"
    )
    db.execute(
        "CREATE TABLE upstream_link (id INTEGER PRIMARY KEY CHECK (id = 1), url TEXT NOT NULL, "
        "county_code TEXT NOT NULL, device_id TEXT NOT NULL, token TEXT NOT NULL, "
        "enrolled_at TEXT NOT NULL, cursor INTEGER NOT NULL DEFAULT 0, last_forward_at TEXT, "
        "last_error TEXT)"
    )
    db.execute("CREATE TABLE province_targets (target_id TEXT PRIMARY KEY)")
