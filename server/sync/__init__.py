"""The server half of sync: applying a device's pushed changes and serving its pull pages."""

from server.sync.errors import Held, Rejected, ResyncRequired
from server.sync.pull import pull_page
from server.sync.push import apply_push

__all__ = ["Held", "Rejected", "ResyncRequired", "apply_push", "pull_page"]
