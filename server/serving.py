"""Serving the app with waitress, within the connection limits the settings give."""

from __future__ import annotations

import resource
from typing import Any

import waitress

# Descriptors the process needs besides its connections: the database, its log, the
# listening socket, waitress's own pipes.
_SPARE_FILES = 64


def serve(app: Any, host: str, port: int, threads: int, connections: int, timeout: int) -> None:
    """Serve until interrupted.

    Waitress accepts at most `connections` at once (its own default, 100, let a hundred idle
    or slow clients stop it answering anyone) and closes one silent for `timeout` seconds;
    idle connections cost a file descriptor each, not a thread.
    """
    _allow_open_files(connections + _SPARE_FILES)
    waitress.serve(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=connections,
        channel_timeout=timeout,
        ident="tianjian",
    )


def _allow_open_files(wanted: int) -> None:
    """Raise this process's soft limit on open files to `wanted` where the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
