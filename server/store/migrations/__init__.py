"""Numbered schema migrations of the server database (sqlite-utils Migrations).

One module per migration from m011 on (m001 to m010 share the module they landed in); each is
imported here in number order, which is the order they run in. A past migration never changes.
"""

from server.store.migrations import (
    m001_m010,  # noqa: F401
    m011_checkin_net,  # noqa: F401
    m012_web_sessions,  # noqa: F401
    m013_raised_flags,  # noqa: F401
    m014_attendances_by_session,  # noqa: F401
    m015_summaries,  # noqa: F401
    m016_photos,  # noqa: F401
    m017_unit_places,  # noqa: F401
    # m018 was set aside for work that needed none; the number stays unused.
    m019_upstream,  # noqa: F401
    m020_item_months,  # noqa: F401
    m022_province_rows,  # noqa: F401
    m023_user_areas,  # noqa: F401
    m024_qr_phones,  # noqa: F401
    m025_receipts_by_envoy,  # noqa: F401
    m026_whole_server_key,  # noqa: F401
    m027_units_by_level,  # noqa: F401
    m028_review_cursor,  # noqa: F401
    m029_present_items,  # noqa: F401
)
from server.store.migrations.registry import migrations

__all__ = ["migrations", "migration_names"]


def migration_names() -> list[str]:
    """The registered migrations' names, in the order they run."""
    return [m.name for m in migrations._migrations]
