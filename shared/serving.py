"""Serving a WSGI app with waitress within connection limits: the bureau's `run` and the laptop's
`serve` share these settings, so idle or slow clients on either stop neither answering."""

from __future__ import annotations

import sys
from typing import Any

THREADS_ENV = "TIANJIAN_THREADS"
CONNECTION_LIMIT_ENV = "TIANJIAN_CONNECTION_LIMIT"
CHANNEL_TIMEOUT_ENV = "TIANJIAN_CHANNEL_TIMEOUT"
# Waitress's own default, 100 connections, let a hundred idle or slow clients stop it answering
# anyone; an idle connection costs a file descriptor, not a thread, so a thousand is cheap.
DEFAULT_CONNECTION_LIMIT = 1000
DEFAULT_CHANNEL_TIMEOUT = 60
# Windows's select() watches at most 512 sockets: stay below it there (the listening socket
# and waitress's own pipe need a few).
WINDOWS_CONNECTION_LIMIT = 500
# Descriptors the process needs besides its connections: the database, its log, the
# listening socket, waitress's own pipes.
_SPARE_FILES = 64


def serve(
    app: Any,
    host: str,
    port: int,
    threads: int,
    connections: int,
    timeout: int,
    quiet: bool = False,
    proxy_headers: bool = False,
) -> None:
    """Serve until interrupted: at most `connections` at once (more wait to be accepted), one
    silent for `timeout` seconds closed; idle connections need no thread. X-Forwarded-* headers
    reach the app only with `proxy_headers` (the app trusts its proxies then; waitress clears
    them otherwise, so no client can choose the address it is counted by)."""
    import waitress  # here, not at the top: every command line imports these settings

    if sys.platform == "win32":
        connections = min(connections, WINDOWS_CONNECTION_LIMIT)
    else:
        _allow_open_files(connections + _SPARE_FILES)
    waitress.serve(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=connections,
        channel_timeout=timeout,
        ident="tianjian",
        clear_untrusted_proxy_headers=not proxy_headers,
        _quiet=quiet,
    )


def _allow_open_files(wanted: int) -> None:
    """Raise this process's soft limit on open files to `wanted` where the hard limit allows."""
    import resource  # POSIX only

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
