"""m012: the bureau's page sessions kept server-side (issue 18): signing out or an admin's
password reset ends a session even where its cookie was saved."""

from __future__ import annotations

from sqlite_utils import Database

from server.store.migrations.registry import migrations


@migrations()
def m012_web_sessions(db: Database) -> None:
    """One row per signed-in page session, by the hash of the token its cookie carries; its
    user, when it began and when it was last used (written at most every few minutes)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS web_sessions (token_hash TEXT PRIMARY KEY, "
        "user_id INTEGER NOT NULL REFERENCES users(id), created_at TEXT NOT NULL, "
        "last_seen_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_web_sessions_user ON web_sessions (user_id)")
