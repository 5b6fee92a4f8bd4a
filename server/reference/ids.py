"""The stable ids catalogue entries and envoys get from their names, apart from the loaders so
sync's checks can compute one without importing the file loaders and the database writes."""

from __future__ import annotations

import uuid

# Catalogue entries get stable ids from their names, so reloading a file updates in place.
CATALOGUE_NAMESPACE = uuid.UUID("0c7d1f5e-3b2a-4e68-9d0f-5a6b7c8d9e01")


def catalogue_id(kind: str, name: str) -> str:
    """The id of the catalogue entry (or envoy) of this kind and name, the same on every server."""
    return str(uuid.uuid5(CATALOGUE_NAMESPACE, f"{kind}/{name}"))
