"""m013: flags once raised, kept so a flag stays listed until someone reviews it (issue 19.10)."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations


@migrations()
def m013_raised_flags(db: Database) -> None:
    """`raised_flags`: each outlier flag (plot area, headcount, copies handed out) as it was when
    first raised, by sync or by a list of flags, so new records that move what is usual do not
    take it off the list before anyone has reviewed it (server/quality/flag_store.py).

    One row per flag kind and record; `year` and `unit_code` (the record's, a hand-out at a
    session taking the session's) find a scope's rows by the index; `value`, `z` and `reason`
    are as raised; `raised_at` is when (UTC).
    """
    db.execute(
        "CREATE TABLE raised_flags (kind TEXT NOT NULL, record_kind TEXT NOT NULL, "
        "record_id TEXT NOT NULL, envoy_id TEXT, unit_code TEXT, year INTEGER NOT NULL, "
        "at TEXT, value REAL, z REAL, reason TEXT NOT NULL, raised_at TEXT NOT NULL, "
        "PRIMARY KEY (kind, record_id))"
    )
    db.execute("CREATE INDEX idx_raised_flags_scope ON raised_flags (year, unit_code)")
