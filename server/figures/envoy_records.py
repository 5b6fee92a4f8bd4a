"""The records behind an envoy's performance figures that the other lists do not give: the
envoy's service days, and the envoy's records under question. Same rules as server.performance.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from server.figures.counted import Scope
from server.figures.drilldown import Filters, Page
from server.figures.performance import evidence_day_rows, record_rows, service_day_rows
from server.figures.questioned import under_question
from server.store import dialect
from shared.choices import RECORD_KINDS, words
from shared.errors import TianjianError
from shared.review_status import LABELS


class EnvoyNeeded(TianjianError):
    status = 422

    def __init__(self) -> None:
        super().__init__(
            "这份清单须指定特派员 / this list is of one envoy: name the envoy",
            {"envoy": "须指定特派员 / name the envoy"},
        )


def _params(scope: Scope) -> dict[str, Any]:
    if not scope.envoy_id:
        raise EnvoyNeeded()
    return scope.params()


def days(db: Database, scope: Scope, filters: Filters, limit: int, offset: int) -> Page:
    """The envoy's service days, newest first. Keys: day (China time), sessions_led,
    sessions_co_run, observations, what (session titles and observed plots), verified (1 when
    the day has evidence: server.figures.performance.evidence_day_rows)."""
    params = _params(scope)
    engine = dialect.engine_of(db)
    rows_sql = service_day_rows("= :envoy", engine)
    evidence = f"SELECT day FROM ({evidence_day_rows('= :envoy', engine)}) AS ev"
    # Verified days only: the claimed days with evidence (performance.verified_day_rows).
    where = f" WHERE day IN ({evidence})" if filters.verified else ""
    total = db.execute(
        f"SELECT count(DISTINCT day) FROM ({rows_sql}) AS sd{where}", params
    ).fetchone()[0]
    rows = list(
        db.query(
            "SELECT day, sum(led) AS sessions_led, sum(co_run) AS sessions_co_run, "
            f"sum(observed) AS observations, {dialect.group_concat(engine, 'what', '；')} AS what, "
            f"CASE WHEN day IN ({evidence}) THEN 1 ELSE 0 END AS verified FROM ({rows_sql}) AS sd{where} "
            "GROUP BY day ORDER BY day DESC LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
    )
    return Page(rows, int(total))


def questioned(db: Database, scope: Scope, filters: Filters, limit: int, offset: int) -> Page:
    """The envoy's records of the year under question now, newest review first. Keys:
    record_kind, kind_zh, record_id, day, status, status_zh, status_en, note, reviewed_by,
    reviewed_at, review_path (the record's review page)."""
    params = _params(scope)
    source = (
        f"FROM ({record_rows('= :envoy')}) m JOIN reviews r ON r.record_kind = m.kind "
        f"AND r.record_id = m.id AND {under_question('r.status')}"
    )
    total = db.execute(f"SELECT count(*) {source}", params).fetchone()[0]
    rows = list(
        db.query(
            "SELECT m.kind AS record_kind, m.id AS record_id, m.day, r.status, r.note, "
            f"r.reviewed_by, r.reviewed_at {source} "
            "ORDER BY r.reviewed_at DESC, m.id LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
    )
    for row in rows:
        row["kind_zh"], row["kind_en"] = words(RECORD_KINDS, row["record_kind"])
        row["status_zh"], row["status_en"] = LABELS.get(row["status"], (row["status"],) * 2)
        row["review_path"] = f"/review/{row['record_kind']}/{row['record_id']}"
    return Page(rows, int(total))


LISTS = {"days": days, "questioned": questioned}
