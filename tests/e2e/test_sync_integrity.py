"""Integrity of the figures between real devices and the real server over HTTP: a colleague's
session stays hers, and a device cannot park changes on the server without limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import cli
from shared import protocol as p
from shared.ids import new_id
from tests.e2e.conftest import count_rows
from tests.e2e.test_sync_devices import add_farmer, add_session, assert_converged, figures
from tests.helpers import LiveServer, enrolled_store, fast_client, load_demo_reference


def test_a_colleague_cannot_check_farmers_into_a_session_not_hers(
    live_server: LiveServer, tmp_path: Path
) -> None:
    zhang = enrolled_store(live_server, str(tmp_path / "a.db"), "张三")
    li = enrolled_store(live_server, str(tmp_path / "b.db"), "李梅")
    session = add_session(zhang, "张三的培训")
    fast_client(zhang).sync()
    fast_client(li).sync()
    assert li.record(p.SESSION, session) is not None  # same township: she sees it
    farmers = [add_farmer(li, f"农户{n}") for n in range(3)]
    for farmer in farmers:
        li.checkin(session, farmer, "qr_self")
    # One checked in and out again before the sync: refused as well, and gone from her replica.
    attendances = li.records(p.ATTENDANCE)
    li.delete(p.ATTENDANCE, attendances[0]["id"])
    report = fast_client(li).sync()
    assert report.statuses.get(p.REJECTED) == 4
    reasons = {r["reason"] for r in li.rejected() if r["kind"] == p.ATTENDANCE}
    assert any("sessions this envoy leads or co-runs" in reason for reason in reasons)
    assert count_rows(live_server.db_path, "attendances") == 0
    assert figures(live_server)["trainee_attendances"]["actual"] == 0
    assert_converged(live_server, zhang, li)


@pytest.fixture
def capped_server(
    db_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    load_demo_reference(db_path)
    monkeypatch.setenv("TIANJIAN_MAX_HELD_CHANGES", "5")
    server = LiveServer(db_path).start()
    yield server
    server.stop()


def test_held_changes_stop_at_the_servers_limit(capped_server: LiveServer, tmp_path: Path) -> None:
    store = enrolled_store(capped_server, str(tmp_path / "a.db"), "张三")
    farmer = add_farmer(store, "赵大")
    for _ in range(8):
        store.checkin(new_id(), farmer, "qr_self")  # sessions the server never gets
    report = fast_client(store).sync()
    assert report.statuses == {p.APPLIED: 1, p.HELD: 5, p.REJECTED: 3}
    reasons = {r["reason"] for r in store.rejected()}
    assert len(reasons) == 1 and "ask the bureau to clear them" in reasons.pop()
    assert count_rows(capped_server.db_path, "held_changes", "TRUE") == 5
    runner = CliRunner()
    listed = runner.invoke(cli, ["--db", capped_server.db_path, "held"])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == 5
    dropped = runner.invoke(
        cli, ["--db", capped_server.db_path, "held", "drop", "--device", store.get("device_id")]
    )
    assert dropped.exit_code == 0 and "dropped 5" in dropped.output
    assert count_rows(capped_server.db_path, "held_changes", "TRUE") == 0
    # Room again: the next stray check-in is held.
    store.checkin(new_id(), farmer, "qr_self")
    assert fast_client(store).sync().statuses.get(p.HELD) == 1
