"""Check-ins where one phone checked many farmers in at one session (reconciliation, issue 14).

The field web app records, on each self check-in, a short keyed hash of the cookie it gave the
phone (the attendance's `phone`, never a phone number). A family may share a phone, so a few
farmers from one phone are usual; CHECKIN_SHARED_PHONE_FARMERS or more distinct farmers (merged
farmers once) from one phone at one session are listed. Listed only, never refused.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from server.figures import counted
from server.figures.counted import Scope

REASON = "shared_phone"


def shared_phone_rows(db: Database, scope: Scope, min_farmers: int) -> list[tuple[Any, ...]]:
    """Each live check-in of the scope's live sessions whose phone checked in at least
    `min_farmers` distinct farmers there, as (attendance id, session id, session title, lead
    envoy id, envoy name, farmer id, checked in at, starts at, ends at, REASON, None, phone,
    farmers from that phone): a CheckinLine's fields, in its order.

    One grouped query: the partial index on attendances (session_id, phone) (migration m010)
    holds only check-ins a phone made, so sessions without any cost a single index probe.
    """
    params = {**scope.params(), "min_farmers": max(1, min_farmers)}
    return [tuple(row) for row in db.execute(shared_phone_sql(scope), params)]


def shared_phone_sql(scope: Scope) -> str:
    """The grouped query of shared_phone_rows, with named parameters (Scope.params and
    :min_farmers)."""
    return (
        "WITH phoned AS (SELECT a.id, a.session_id, a.farmer_id, a.checked_in_at, a.phone, "
        f"{counted.person_of()} AS person FROM sessions s "
        "JOIN attendances a ON a.session_id = s.id AND a.phone IS NOT NULL "
        f"AND {counted.live('a')} LEFT JOIN farmer_aliases fa ON fa.id = a.farmer_id "
        f"WHERE {counted.counted_sessions(scope)}), "
        "shared AS (SELECT session_id, phone, count(DISTINCT person) AS farmers FROM phoned "
        "GROUP BY session_id, phone HAVING count(DISTINCT person) >= :min_farmers) "
        "SELECT p.id, s.id, s.title, s.lead_envoy_id, coalesce(e.name, s.lead_envoy_id), "
        f"p.farmer_id, p.checked_in_at, s.starts_at, s.ends_at, '{REASON}', NULL, p.phone, "
        "sh.farmers FROM shared sh JOIN phoned p ON p.session_id = sh.session_id "
        "AND p.phone = sh.phone JOIN sessions s ON s.id = sh.session_id "
        "LEFT JOIN envoys e ON e.id = s.lead_envoy_id "
        "ORDER BY s.starts_at, s.id, sh.phone, p.checked_in_at, p.id"
    )
