"""Why a change is not applied as sent, and why a pull must start again: the sync branch of the
one exception tree (shared/errors.py).

None of these becomes an HTTP error as it stands: a refused or held change is answered per change
inside a 200 push answer, and a pull that must start again is a 200 page with `full_resync`. The
statuses say what each would be if it ever reached a caller on its own.
"""

from __future__ import annotations

from shared.errors import TianjianError


class Rejected(TianjianError):
    """A change that cannot be applied; its reason (`message`) goes back to the device."""

    status = 422

    @property
    def reason(self) -> str:
        return self.message


class Held(TianjianError):
    """A change that refers to a record not yet arrived: kept until it does."""

    status = 202

    def __init__(self, kind: str, record_id: str) -> None:
        super().__init__(f"等待尚未到达的记录 / waiting for {kind} {record_id}")
        self.kind = kind
        self.record_id = record_id


class CheckinsCollided(TianjianError):
    """A check-in taken for new was already on the server: the push is applied again, carefully."""

    status = 409
    message = "签到已在服务器上 / a check-in taken for new was already on the server"


class ResyncRequired(TianjianError):
    """The device's cursor is older than purged tombstones: it must start again from zero."""

    status = 409
    message = "需要完整重新同步 / the device must sync again from the start"
