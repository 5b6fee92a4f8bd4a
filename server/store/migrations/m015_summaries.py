"""m015: summaries kept on write, so a province's figures are lookups (server/summaries/)."""

from sqlite_utils import Database

from server.store import dialect
from server.store.migrations.registry import migrations


@migrations()
def m015_summaries(db: Database) -> None:
    """Additive figures per (year, unit, envoy, kind, month, figure, questioned), and summed per
    county, city and province; reference
    counts of distinct items (trainees, technologies, varieties) per year, unit or envoy key
    and month, with how many items each key first counted in each month; counties to recompute."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS summary_figures (year INTEGER NOT NULL, "
        "unit_code TEXT NOT NULL, envoy_id TEXT NOT NULL, kind TEXT NOT NULL, "
        "month INTEGER NOT NULL, figure TEXT NOT NULL, q INTEGER NOT NULL, value REAL NOT NULL, "
        "PRIMARY KEY (year, unit_code, envoy_id, kind, month, figure, q)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_summary_figures_envoy ON summary_figures (envoy_id, year)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS summary_rollup (year INTEGER NOT NULL, "
        "scope_key TEXT NOT NULL, kind TEXT NOT NULL, month INTEGER NOT NULL, "
        "figure TEXT NOT NULL, q INTEGER NOT NULL, value REAL NOT NULL, "
        "PRIMARY KEY (year, scope_key, kind, month, figure, q)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS summary_items (year INTEGER NOT NULL, "
        "scope_key TEXT NOT NULL, figure TEXT NOT NULL, item TEXT NOT NULL, "
        "month INTEGER NOT NULL, n INTEGER NOT NULL, k INTEGER NOT NULL, county TEXT NOT NULL, "
        "PRIMARY KEY (year, scope_key, figure, item, month)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_summary_items_county ON summary_items (county, year) "
        "WHERE county != ''"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS summary_firsts (year INTEGER NOT NULL, "
        "scope_key TEXT NOT NULL, figure TEXT NOT NULL, month INTEGER NOT NULL, "
        "n INTEGER NOT NULL, k INTEGER NOT NULL, "
        "PRIMARY KEY (year, scope_key, figure, month)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS summary_dirty (year INTEGER NOT NULL, "
        "county TEXT NOT NULL, PRIMARY KEY (year, county)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS summary_dirty_farmers (farmer_id TEXT PRIMARY KEY) "
        "WITHOUT ROWID"
    )
    # A row here while a write path that keeps the summaries itself is writing (inside its
    # transaction, so no other connection ever sees it).
    db.execute("CREATE TABLE IF NOT EXISTS summary_writer (id INTEGER PRIMARY KEY)")
    # Any other write to the records figures count (a script, a test, the sqlite3 shell) marks
    # the summaries stale: figures are then counted from the records until `summaries rebuild`.
    engine = dialect.engine_of(db)
    # SQLite's statements as they always were; PostgreSQL's say the same in its own syntax.
    mark = (
        "INSERT INTO server_state (key, value) VALUES ('summaries_stale', '1') "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        if engine == dialect.POSTGRESQL
        else "INSERT OR REPLACE INTO server_state (key, value) VALUES ('summaries_stale', '1')"
    )
    for table in _WATCHED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            for statement in dialect.after_write_trigger(
                engine,
                f"summary_stale_{table}_{event.lower()}",
                table,
                event,
                "NOT EXISTS (SELECT 1 FROM summary_writer)",
                mark,
            ):
                db.execute(statement)
    # A database with records already: empty summaries would be wrong, so stale until rebuilt.
    db.execute(
        ("INSERT INTO" if engine == dialect.POSTGRESQL else "INSERT OR REPLACE INTO")
        + " server_state (key, value) SELECT 'summaries_stale', '1' "
        "WHERE EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM leaflet_handouts) "
        "OR EXISTS (SELECT 1 FROM plots)"
        + (
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            if engine == dialect.POSTGRESQL
            else ""
        )
    )


_WATCHED = (
    "sessions",
    "attendances",
    "leaflet_handouts",
    "plots",
    "farmers",
    "farmer_aliases",
    "reviews",
)
