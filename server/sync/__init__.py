"""The server half of sync: applying a device's pushed changes and serving its pull pages."""

from server.sync.batch import HeldLimits
from server.sync.errors import Held, Rejected, ResyncRequired
from server.sync.held import drop_held, expire_held, list_held
from server.sync.pull import pull_page
from server.sync.push import apply_push

__all__ = [
    "Held",
    "HeldLimits",
    "Rejected",
    "ResyncRequired",
    "apply_push",
    "drop_held",
    "expire_held",
    "list_held",
    "pull_page",
]
