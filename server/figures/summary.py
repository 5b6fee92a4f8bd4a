"""The year-end summary (年度总结): the figures a county's own summaries report, for one scope.

Beside each indicator against its target (server.progress), a summary reports copies handed
out per leaflet title, sessions by kind with their display boards and audiences (science-week
crowds and TV audiences are typed estimates, shown apart from named check-ins), and every
demonstration plot with its latest yield against its target yield; and beside each large
training, one photo of it (server/media/photos.py one_per_session) when its bytes have arrived.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlite_utils import Database

from server.figures import counted
from server.figures.counted import Scope
from server.media.photos import one_per_session


def leaflets_by_title(db: Database, scope: Scope) -> list[dict[str, Any]]:
    """Keys: title, copies (handed out in scope), handouts (how many hand-outs); most first."""
    return list(
        db.query(
            "SELECT t.title, sum(h.copies) AS copies, count(*) AS handouts "
            "FROM leaflet_handouts h LEFT JOIN sessions hs ON hs.id = h.session_id "
            "LEFT JOIN leaflet_titles t ON t.id = h.leaflet_title_id "
            f"WHERE {counted.counted_handouts(scope)} "
            "GROUP BY h.leaflet_title_id, t.title ORDER BY copies DESC, t.title",
            scope.params(),
        )
    )


def sessions_by_kind(db: Database, scope: Scope) -> list[dict[str, Any]]:
    """Keys: kind, sessions, checkins (named), reported (typed headcounts or audience
    estimates, never added to check-ins), display_boards."""
    return list(
        db.query(
            "SELECT s.kind, count(*) AS sessions, "
            "sum((SELECT count(*) FROM attendances a WHERE a.session_id = s.id "
            f"AND {counted.live('a')})) AS checkins, coalesce(sum(s.reported_headcount), 0) AS reported, "
            "coalesce(sum(s.display_boards), 0) AS display_boards FROM sessions s "
            f"WHERE {counted.counted_sessions(scope)} "
            "GROUP BY s.kind ORDER BY sessions DESC",
            scope.params(),
        )
    )


def plot_yields(db: Database, scope: Scope) -> list[dict[str, Any]]:
    """Keys: village, host_name, crop, variety, area_mu, target_yield_kg_per_mu,
    yield_kg_per_mu (latest observed), yield_percent (of target), observed_on."""
    rows = list(
        db.query(
            "SELECT u.name AS village, p.host_name, p.crop, va.name AS variety, p.area_mu, "
            "p.target_yield_kg_per_mu, o.yield_kg_per_mu, o.observed_on FROM plots p "
            "LEFT JOIN units u ON u.code = p.village_code "
            "LEFT JOIN varieties va ON va.id = p.variety_id "
            "LEFT JOIN plot_observations o ON o.id = (SELECT o2.id FROM plot_observations o2 "
            f"WHERE o2.plot_id = p.id AND {counted.live('o2')} AND o2.yield_kg_per_mu IS NOT NULL "
            "ORDER BY o2.observed_on DESC LIMIT 1) "
            f"WHERE {counted.counted_plots(replace(scope, exclude_questioned=False))} "
            "ORDER BY p.village_code, p.host_name",
            scope.params(),
        )
    )
    for row in rows:
        target, found = row["target_yield_kg_per_mu"], row["yield_kg_per_mu"]
        row["yield_percent"] = (
            round(100 * found / target, 1) if target and found is not None else None
        )
    return rows


# At most this many large trainings' photos in one summary: it prints on A4, a page of six.
MAX_SUMMARY_PHOTOS = 24


def large_training_photos(db: Database, scope: Scope) -> list[dict[str, Any]]:
    """Keys: id, title, starts_at, unit, place, photo (server.media.photos.Photo): the scope's
    large trainings that have a whole photo, one photo each, in the order they were held."""
    sessions = list(
        db.query(
            "SELECT s.id, s.title, s.starts_at, u.name AS unit, s.place FROM sessions s "
            "LEFT JOIN units u ON u.code = s.unit_code "
            f"WHERE {counted.counted_sessions(scope)} AND s.kind = 'large_training' "
            "AND EXISTS (SELECT 1 FROM photos ph JOIN media m ON m.sha256 = ph.sha256 "
            "WHERE ph.subject_kind = 'session' AND ph.subject_id = s.id "
            f"AND {counted.live('ph')} AND m.complete = 1) ORDER BY s.starts_at, s.id LIMIT :most",
            {**scope.params(), "most": MAX_SUMMARY_PHOTOS},
        )
    )
    chosen = one_per_session(db, [row["id"] for row in sessions])
    return [{**row, "photo": chosen[row["id"]]} for row in sessions if row["id"] in chosen]
