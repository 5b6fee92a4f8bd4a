"""server/figures/counted.py is the one home of what counts: its rules hold, and no figure module writes
them again (a copy would drift; tests/e2e/test_device_progress_matches_server.py holds the
device to the same rules)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlite_utils import Database

from server.figures import counted
from server.figures.counted import Scope
from server.store.db import init_db
from shared.indicators import AUDIENCE_KINDS

ROOT = Path(__file__).resolve().parents[3]
# Modules whose SQL counts records toward a figure: they take every counting rule from counted.
FIGURE_MODULES = (
    "plan/breakdowns",
    "quality/checkin_flags",
    "figures/dimensions",
    "figures/drilldown",
    "figures/envoy_records",
    "figures/count",
    "quality/flags",
    "quality/outlier_stats",
    "figures/performance",
    "plan/progress",
    "figures/receipts",
    "quality/reconciliation",
    "plan/report",
    "quality/shared_phones",
    "figures/summary",
)
AUDIENCE_RULE = re.compile(
    r"kind\s*(!=|<>|=|NOT IN|IN)\s*\(?\s*'(" + "|".join(AUDIENCE_KINDS) + ")'"
)
# "deleted = 0" is the counting rule; a list of deleted records (reconciliation) may ask for 1.
DELETED_RULE = re.compile(r"deleted\s*=\s*0")


def source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_no_server_module_but_counted_writes_the_tv_lecture_rule() -> None:
    copies = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "server").rglob("*.py"))
        if "migrations" not in path.parts
        and path.name != "counted.py"
        and AUDIENCE_RULE.search(source(path))
    ]
    assert copies == []


def test_figure_modules_take_deleted_records_from_counted() -> None:
    copies = [
        name
        for name in FIGURE_MODULES
        if DELETED_RULE.search(source(ROOT / "server" / f"{name}.py"))
    ]
    assert copies == []


def test_no_figure_module_imports_another_ones_private_names() -> None:
    private = re.compile(r"^from server\.[\w.]+ import .*\b_\w+", re.MULTILINE)
    found = [
        name for name in FIGURE_MODULES if private.search(source(ROOT / "server" / f"{name}.py"))
    ]
    assert found == []


def test_the_device_takes_the_audience_kinds_from_shared() -> None:
    device = source(ROOT / "field_client" / "progress.py")
    assert "AUDIENCE_KINDS" in device
    assert not any(f'"{kind}"' in device for kind in AUDIENCE_KINDS)


def test_counted_sessions_leave_out_deleted_other_years_units_and_envoys(tmp_path: Path) -> None:
    db: Database = init_db(str(tmp_path / "s.db"))
    rows = [
        # id, unit, starts (UTC), envoy, deleted, kind
        ("in", "530102001001", "2025-12-31T16:30:00Z", "e1", 0, "village_training"),
        ("tv", "530102001001", "2026-03-01T01:00:00Z", "e1", 0, "tv_lecture"),
        ("gone", "530102001001", "2026-03-01T01:00:00Z", "e1", 1, "village_training"),
        ("last-year", "530102001001", "2025-12-31T15:30:00Z", "e1", 0, "village_training"),
        ("elsewhere", "530103001001", "2026-03-01T01:00:00Z", "e1", 0, "village_training"),
        ("theirs", "530102001001", "2026-03-01T01:00:00Z", "e2", 0, "village_training"),
    ]
    for sid, unit, starts, envoy, deleted, kind in rows:
        db.execute(
            "INSERT INTO sessions (id, envoy_id, hlc, unit_code, starts_at, lead_envoy_id, "
            "deleted, kind, title) VALUES (?, ?, '0', ?, ?, ?, ?, ?, ?)",
            [sid, envoy, unit, starts, envoy, deleted, kind, sid],
        )
    scope = Scope(2026, "530102", "e1")
    found = db.execute(
        f"SELECT s.id, {counted.trains('s')} FROM sessions s "
        f"WHERE {counted.counted_sessions(scope)} ORDER BY s.id",
        scope.params(),
    ).fetchall()
    # 00:30 on 1 January in China is still 2025 in UTC: the session is 2026's.
    assert found == [("in", 1), ("tv", 0)]
    assert counted.count_sessions(db, scope) == 2
