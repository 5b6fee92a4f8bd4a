"""The year's figures for a unit, reconciled against its targets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from shared.clock import to_iso, utc_now, year_bounds, year_fraction_elapsed
from shared.indicators import INDICATORS, is_met

PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}


class UnknownUnit(Exception):
    """No unit has that code."""


def unit_scope(db: Database, code: str | None) -> dict[str, Any]:
    """The unit a report is for (the county when none is named) and its code prefix."""
    if code:
        rows = list(
            db.query("SELECT code, name, level FROM units WHERE code = ?", [code.ljust(12, "0")])
        )
    else:
        rows = list(
            db.query(
                "SELECT code, name, level FROM units WHERE level = 'county' ORDER BY code LIMIT 1"
            )
        )
    if not rows:
        raise UnknownUnit(code or "(county)")
    unit = rows[0]
    return {**unit, "prefix": unit["code"][: PREFIX_LENGTH[unit["level"]]]}


class Figures:
    """Each indicator's actual value for one year and one unit, straight from SQL."""

    def __init__(self, db: Database, year: int, prefix: str) -> None:
        self.db = db
        self.start, self.end = year_bounds(year)
        self.day_start, self.day_end = f"{year}-01-01", f"{year + 1}-01-01"
        self.like = prefix + "%"

    def _one(self, sql: str, params: list[Any]) -> float:
        value = self.db.execute(sql, params).fetchone()[0]
        return value or 0

    def _sessions(self) -> str:
        return (
            "SELECT * FROM sessions WHERE deleted = 0 AND starts_at >= ? AND starts_at < ? "
            "AND unit_code LIKE ?"
        )

    def _session_params(self) -> list[Any]:
        return [self.start, self.end, self.like]

    def _verified(self) -> str:
        # One row per (session, person): the same farmer registered twice counts once per session.
        return (
            "SELECT DISTINCT a.session_id, coalesce(fa.canonical_id, a.farmer_id) AS person "
            f"FROM attendances a JOIN ({self._sessions()}) s ON s.id = a.session_id "
            "JOIN farmers f ON f.id = a.farmer_id AND f.deleted = 0 "
            "LEFT JOIN farmer_aliases fa ON fa.id = a.farmer_id "
            "WHERE a.deleted = 0 AND s.kind != 'tv_lecture'"
        )

    def trainee_attendances(self) -> dict[str, Any]:
        verified = self._one(f"SELECT count(*) FROM ({self._verified()})", self._session_params())
        # What envoys typed, beside what names prove: shown side by side, never added together.
        reported, reported_without_names = self.db.execute(
            "SELECT coalesce(sum(reported_headcount), 0), coalesce(sum(CASE WHEN s.id NOT IN ("
            "SELECT session_id FROM attendances WHERE deleted = 0) "
            f"THEN reported_headcount END), 0) FROM ({self._sessions()}) s WHERE kind != 'tv_lecture'",
            self._session_params(),
        ).fetchone()
        return {
            "actual": verified,
            "verified": verified,
            "reported": reported,
            "reported_without_names": reported_without_names,
        }

    def unique_trainees(self) -> dict[str, Any]:
        return {
            "actual": self._one(
                f"SELECT count(DISTINCT person) FROM ({self._verified()})", self._session_params()
            )
        }

    def leaflets_distributed(self) -> dict[str, Any]:
        handed = self._one(
            "SELECT sum(h.copies) FROM leaflet_handouts h "
            "LEFT JOIN sessions s ON s.id = h.session_id "
            "WHERE h.deleted = 0 AND h.handed_out_at >= ? AND h.handed_out_at < ? "
            "AND coalesce(h.unit_code, s.unit_code) LIKE ?",
            [self.start, self.end, self.like],
        )
        received = self._one(
            "SELECT sum(copies) FROM leaflet_receipts WHERE deleted = 0 "
            "AND received_on >= ? AND received_on < ?",
            [self.day_start, self.day_end],
        )
        return {"actual": handed, "received": received}

    def _count_sessions(self, kind: str) -> dict[str, Any]:
        return {
            "actual": self._one(
                f"SELECT count(*) FROM ({self._sessions()}) WHERE kind = ?",
                [*self._session_params(), kind],
            )
        }

    def village_trainings(self) -> dict[str, Any]:
        return self._count_sessions("village_training")

    def large_trainings(self) -> dict[str, Any]:
        return self._count_sessions("large_training")

    def tv_lectures(self) -> dict[str, Any]:
        figures = self._count_sessions("tv_lecture")
        figures["audience_estimate"] = self._one(
            f"SELECT sum(reported_headcount) FROM ({self._sessions()}) WHERE kind = 'tv_lecture'",
            self._session_params(),
        )
        return figures

    def _plots(self) -> str:
        return (
            "SELECT * FROM plots WHERE deleted = 0 AND established_on >= ? AND established_on < ? "
            "AND village_code LIKE ?"
        )

    def _plot_params(self) -> list[Any]:
        return [self.day_start, self.day_end, self.like]

    def technologies_promoted(self) -> dict[str, Any]:
        return {
            "actual": self._one(
                "SELECT count(DISTINCT t.value) FROM ("
                f"SELECT technology_ids FROM ({self._sessions()}) UNION ALL "
                f"SELECT technology_ids FROM ({self._plots()})) x, json_each(x.technology_ids) t",
                [*self._session_params(), *self._plot_params()],
            )
        }

    def varieties_introduced(self) -> dict[str, Any]:
        return {
            "actual": self._one(
                f"SELECT count(DISTINCT variety_id) FROM ({self._plots()})", self._plot_params()
            )
        }

    def demo_plots(self) -> dict[str, Any]:
        return {"actual": self._one(f"SELECT count(*) FROM ({self._plots()})", self._plot_params())}

    def demo_area_mu(self) -> dict[str, Any]:
        return {
            "actual": round(
                self._one(f"SELECT sum(area_mu) FROM ({self._plots()})", self._plot_params()), 2
            )
        }


def build_report(
    db: Database, year: int, unit_code: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    now = now or utc_now()
    unit = unit_scope(db, unit_code)
    figures = Figures(db, year, unit["prefix"])
    targets = {
        row["indicator"]: row
        for row in db.query(
            "SELECT indicator, comparator, value FROM targets WHERE year = ? AND unit_code = ?",
            [year, unit["code"]],
        )
    }
    elapsed = year_fraction_elapsed(year, now)
    indicators = []
    for indicator in INDICATORS:
        compute: Callable[[], dict[str, Any]] = getattr(figures, indicator.key)
        values = compute()
        actual = values["actual"]
        target = targets.get(indicator.key)
        line: dict[str, Any] = {
            "key": indicator.key,
            "label_zh": indicator.label_zh,
            "label_en": indicator.label_en,
            "comparator": target["comparator"] if target else None,
            "target": target["value"] if target else None,
            **values,
            "percent": round(100 * actual / target["value"], 1)
            if target and target["value"]
            else None,
            "met": is_met(actual, target["comparator"], target["value"]) if target else None,
            "expected_by_now": round(target["value"] * elapsed, 1) if target else None,
            "projected_year_end": round(actual / elapsed, 1) if elapsed > 0 else None,
        }
        indicators.append(line)
    return {
        "year": year,
        "unit": {"code": unit["code"], "name": unit["name"]},
        "as_of": to_iso(now),
        "year_elapsed": round(elapsed, 4),
        "indicators": indicators,
    }
