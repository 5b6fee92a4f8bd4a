"""Why a change is not applied as sent, and why a pull must start again."""

from __future__ import annotations


class Rejected(Exception):
    """A change that cannot be applied; its reason goes back to the device."""

    def __init__(self, reason: str, errors: dict[str, object] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or {}


class Held(Exception):
    """A change that refers to a record not yet arrived."""

    def __init__(self, kind: str, record_id: str) -> None:
        super().__init__(f"waiting for {kind} {record_id}")
        self.kind = kind
        self.record_id = record_id


class CheckinsCollided(Exception):
    """A check-in taken for new was already on the server: the push is applied again, carefully."""


class ResyncRequired(Exception):
    """The device's cursor is older than purged tombstones: it must start again from zero."""
