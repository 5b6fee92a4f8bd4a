"""`tianjian-server summaries rebuild` and `summaries check`; summaries written around, or while
turned off, are stale and figures come from the records until a rebuild."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlite_utils import Database

from server.cli import cli
from server.figures.counted import Scope
from server.plan.breakdowns import breakdown
from server.plan.progress import progress
from server.summaries import maintain
from server.summaries import read as summaries_read
from tests.helpers import TECH_POTATO, VILLAGE_WEST
from tests.server.fieldwork import MID_2026, Envoy, report_db


def run(db_path: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_path, *args])


@pytest.fixture
def work(db_path: str) -> Iterator[dict[str, Any]]:
    """Two sessions with check-ins, a hand-out and a plot, pushed through the sync engine."""
    for db in report_db(db_path):
        zhang = Envoy(db, "张三")
        farmers = [zhang.farmer(name) for name in ("赵大", "钱二", "孙三")]
        first = zhang.session(technology_ids=[TECH_POTATO])
        second = zhang.session(unit_code=VILLAGE_WEST, starts_at="2026-03-02T02:00:00Z")
        for farmer in farmers:
            zhang.checkin(first, farmer)
        zhang.checkin(second, farmers[0])
        zhang.handout(30)
        zhang.plot(area_mu=12.5)
        yield {"db": db, "zhang": zhang, "first": first}


def test_check_agrees_after_pushes(work: dict[str, Any], db_path: str) -> None:
    result = run(db_path, "summaries", "check")
    assert result.exit_code == 0, result.output
    assert "汇总表与记录一致" in result.output and "agree with the records" in result.output


def test_check_names_the_first_difference_and_rebuild_mends_it(
    work: dict[str, Any], db_path: str
) -> None:
    db: Database = work["db"]
    maintain.refresh(db)  # the marked county recomputed, as the next read would
    db.execute("UPDATE summary_figures SET value = value + 1 WHERE figure = 'person_times'")
    db.conn.commit()
    result = run(db_path, "summaries", "check")
    assert result.exit_code == 1
    assert "汇总表 summary_figures 与记录不符" in result.output
    assert "summary table summary_figures differs from the records" in result.output
    assert "person_times" in result.output
    rebuilt = run(db_path, "summaries", "rebuild")
    assert rebuilt.exit_code == 0 and "rebuilt the summaries of 1 county-years" in rebuilt.output
    assert run(db_path, "summaries", "check").exit_code == 0


def test_written_around_the_server_reads_records_until_rebuilt(
    work: dict[str, Any], db_path: str
) -> None:
    db: Database = work["db"]
    scope = Scope(2026, "530102")
    assert summaries_read.compute(db, scope) is not None
    # A script deletes a session straight in the database: the summaries cannot know.
    db.execute("UPDATE sessions SET deleted = 1 WHERE id = ?", [work["first"]])
    db.conn.commit()
    assert not maintain.usable(db)
    assert summaries_read.compute(db, scope) is None
    report = progress(db, 2026, now=MID_2026)
    actual = {line["key"]: line["actual"] for line in report["indicators"]}
    assert actual["trainee_attendances"] == 1  # counted from the records, not the summaries
    stale = run(db_path, "summaries", "check")
    assert stale.exit_code == 1 and "summaries rebuild" in stale.output
    assert run(db_path, "summaries", "rebuild").exit_code == 0
    found = summaries_read.compute(db, scope)
    assert found is not None and found.total()["trainee_attendances"] == 1


def test_turned_off_they_are_not_kept_and_are_stale(
    work: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    db: Database = work["db"]
    monkeypatch.setenv("TIANJIAN_SUMMARIES", "0")
    before = db.execute("SELECT count(*) FROM summary_item_months").fetchone()[0]
    zhang: Envoy = work["zhang"]
    zhang.checkin(work["first"], zhang.farmer("李四"))
    assert db.execute("SELECT count(*) FROM summary_item_months").fetchone()[0] == before
    monkeypatch.setenv("TIANJIAN_SUMMARIES", "1")
    assert not maintain.usable(db)
    assert maintain.rebuild(db) == 1 and maintain.usable(db)
    found = summaries_read.compute(db, Scope(2026, "530102"))
    assert found is not None and found.total()["trainee_attendances"] == 5


def test_progress_from_summaries_is_progress_from_records(
    work: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    db: Database = work["db"]
    zhang: Envoy = work["zhang"]
    kept = [progress(db, 2026, code, now=MID_2026) for code in (None, "530102001", VILLAGE_WEST)]
    kept.append(progress(db, 2026, envoy_id=zhang.envoy_id, now=MID_2026))
    assert summaries_read.compute(db, Scope(2026, "530102001")) is not None
    monkeypatch.setenv("TIANJIAN_SUMMARIES", "0")
    counted = [progress(db, 2026, code, now=MID_2026) for code in (None, "530102001", VILLAGE_WEST)]
    counted.append(progress(db, 2026, envoy_id=zhang.envoy_id, now=MID_2026))
    assert kept == counted
    assert {line["key"]: line["actual"] for line in kept[0]["indicators"]}["unique_trainees"] == 3


def test_breakdowns_from_summaries_are_breakdowns_from_records(
    work: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same page either way: values, whole numbers as whole numbers, and the rows' order."""
    db: Database = work["db"]
    dims = ("township", "village", "envoy", "month")
    assert all(summaries_read.compute_by(db, Scope(2026, "530102"), by) for by in dims)
    kept = [json.dumps(breakdown(db, 2026, by, now=MID_2026)) for by in dims]
    monkeypatch.setenv("TIANJIAN_SUMMARIES", "0")
    assert kept == [json.dumps(breakdown(db, 2026, by, now=MID_2026)) for by in dims]


def test_figures_come_from_records_while_a_rebuild_runs(
    work: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild recomputes one county a transaction (pushes go on meanwhile): until the last
    is done the summaries are not read, then they are."""
    db: Database = work["db"]
    seen: list[bool] = []
    recompute = maintain.write_county

    def watched(db_: Database, new: Any, county: str) -> None:
        seen.append(maintain.usable(db_))
        recompute(db_, new, county)

    monkeypatch.setattr(maintain, "write_county", watched)
    assert maintain.rebuild(db) == 1
    assert seen == [False]
    assert maintain.usable(db) and maintain.check(db) is None
