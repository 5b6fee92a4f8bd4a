"""The body every TianjianError answers with under /api: flask-smorest's error body."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from shared.errors import TianjianError


def status_phrase(status: int) -> str:
    """HTTP's reason phrase for a status ("Not Found"), as flask-smorest writes it."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(error: TianjianError) -> dict[str, Any]:
    """`{code, status, message, errors}`, the body flask-smorest gives its own errors.

    The app's one handler for TianjianError (server/web/errors.py, registered by create_app)
    answers API requests with it, and pages with the same message and errors.
    """
    return {
        "code": error.status,
        "status": status_phrase(error.status),
        "message": error.message,
        "errors": error.errors,
        # What a client needs to carry on, when the error has it (a 409's `received`).
        **getattr(error, "extra", {}),
    }
