"""Database files readable by their owner only: they hold farmers' names and phone numbers."""

from __future__ import annotations

import os

OWNER_ONLY = 0o600


def create_owner_only(path: str) -> None:
    """Create the file at `path`, empty and with mode 0600, unless it is there already.

    An empty file is a valid new SQLite database, and SQLite gives the -wal and -shm files it
    makes beside a database the database file's own mode, so all three stay private. A file
    that already exists is left as it is; one that cannot be made here (no such folder) is
    left for SQLite to report in its own words.
    """
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    except OSError:
        return
    os.close(fd)


def write_owner_only(path: str, data: bytes) -> None:
    """Write `data` to `path` readable by its owner only (an enrolment QR holds a code that
    enrols a device): a new file is made 0600, an existing one is narrowed to 0600 first."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    try:
        if hasattr(os, "fchmod"):  # not on Windows, where the mode bits mean little
            os.fchmod(fd, OWNER_ONLY)
        os.write(fd, data)
    finally:
        os.close(fd)
