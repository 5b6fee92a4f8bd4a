"""scripts/demo_county.py builds a county whose report is non-trivial and adds up, its records
spread over the year along the demo's monthly profile, with a few doubtful ones planted.

The demo is built as on 20 November 2025 (`--today`): its figures do not depend on the
day the tests run, and every record is in the past for the server's pages. One build as of now
checks that nothing lies in the future."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from field_client.store import FieldStore
from server.plan.report import build_report
from server.store.db import init_db
from shared import protocol as p
from shared.clock import CHINA, parse_iso, utc_now
from tests.helpers import LiveServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "demo_county.py"
THIS_YEAR = utc_now().astimezone(CHINA).year
# A fixed past day: the same records, the same figures and statuses on every run.
PINNED_YEAR = 2025
PINNED = f"{PINNED_YEAR}-11-20"
PINNED_NOW = datetime(PINNED_YEAR, 11, 20, 12, tzinfo=CHINA)
# The demo's monthly profile (scripts/demo_county.py PROFILE): cumulative percent by month's end.
PROFILE = (3, 7, 17, 29, 39, 47, 54, 61, 71, 81, 92, 100)


def build_demo(folder: Path, *extra: str) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "build", "--dir", str(folder), "--quiet", *extra],
        cwd=ROOT,
        check=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "demo"
    build_demo(folder, "--today", PINNED)
    return folder


@pytest.fixture(scope="module")
def summary(demo: Path) -> dict[str, Any]:
    return json.loads((demo / "demo.json").read_text())


@pytest.fixture(scope="module")
def lines(demo: Path, summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    db = init_db(str(demo / "server.db"))
    try:
        report = build_report(db, summary["year"], now=PINNED_NOW)
    finally:
        db.close()
    assert report["unit"]["code"] == "530326000000"
    return {line["key"]: line for line in report["indicators"]}


def test_person_times_count_every_attendance_and_people_once(lines: dict[str, Any]) -> None:
    attendances = lines["trainee_attendances"]
    assert attendances["actual"] == attendances["verified"]
    assert attendances["verified"] >= lines["unique_trainees"]["actual"] > 0
    # Some farmers came to several sessions, so people are fewer than person-times.
    assert attendances["verified"] > lines["unique_trainees"]["actual"]


def test_verified_and_reported_are_both_present_and_kept_apart(lines: dict[str, Any]) -> None:
    attendances = lines["trainee_attendances"]
    assert attendances["verified"] > 0
    assert attendances["reported"] > 0
    assert lines["tv_lectures"]["actual"] >= 1
    # A TV audience estimate is never counted as trainees.
    assert lines["tv_lectures"]["audience_estimate"] > attendances["reported"]


def test_leaflets_handed_out_never_exceed_those_received(lines: dict[str, Any]) -> None:
    leaflets = lines["leaflets_distributed"]
    assert 0 < leaflets["actual"] <= leaflets["received"]


def test_sessions_plots_and_catalogue_figures(lines: dict[str, Any]) -> None:
    assert lines["village_trainings"]["actual"] >= 8
    assert lines["large_trainings"]["actual"] >= 1
    assert lines["technologies_promoted"]["actual"] >= 20
    assert lines["varieties_introduced"]["actual"] >= 10
    assert lines["demo_plots"]["actual"] > 0
    assert lines["demo_area_mu"]["actual"] > 0


def test_every_target_is_judged(lines: dict[str, Any]) -> None:
    targeted = [line for line in lines.values() if line["target"] is not None]
    assert {line["key"] for line in targeted} >= {
        "trainee_attendances",
        "leaflets_distributed",
        "village_trainings",
        "large_trainings",
        "tv_lectures",
        "technologies_promoted",
        "varieties_introduced",
    }
    for line in targeted:
        assert line["met"] in (True, False), line["key"]
    assert lines["trainee_attendances"]["comparator"] == ">"
    assert lines["trainee_attendances"]["target"] == 3000


def test_units_carry_proper_statistical_codes(demo: Path) -> None:
    db = init_db(str(demo / "server.db"))
    try:
        units = {row["code"]: row for row in db.query("SELECT * FROM units")}
    finally:
        db.close()
    levels = [unit["level"] for unit in units.values()]
    assert levels.count("county") == 1
    assert 15 <= levels.count("township") <= 25
    assert 180 <= levels.count("village") <= 400
    for code, unit in units.items():
        assert len(code) == 12 and code.startswith("530326")
        if unit["level"] == "village":
            assert unit["parent_code"] == code[:9] + "000"
            assert units[unit["parent_code"]]["level"] == "township"


def test_same_farmer_on_two_devices_is_merged_or_offered(demo: Path) -> None:
    db = init_db(str(demo / "server.db"))
    try:
        aliased = db.execute("SELECT count(*) FROM farmer_aliases").fetchone()[0]
        pairs = db.execute(
            "SELECT a.id, b.id, a.mobile FROM farmers a JOIN farmers b ON a.name = b.name "
            "AND a.village_code = b.village_code AND a.birth_year = b.birth_year "
            "AND a.id < b.id AND a.device_id != b.device_id"
        ).fetchall()
        linked = {
            frozenset(row)
            for row in db.execute("SELECT id, canonical_id FROM farmer_aliases").fetchall()
            + db.execute("SELECT farmer_a, farmer_b FROM merge_candidates").fetchall()
        }
    finally:
        db.close()
    assert aliased > 0
    assert pairs
    for first, second, _mobile in pairs:
        assert frozenset((first, second)) in linked


def test_every_device_sent_everything_but_the_one_that_lost_signal(
    demo: Path, summary: dict[str, Any]
) -> None:
    assert len(summary["field_dbs"]) >= 2
    waiting = dict(query(demo, "SELECT name, outbox_waiting FROM devices"))
    for name in summary["field_dbs"]:
        store = FieldStore(str(demo / name))
        try:
            assert store.records("farmer")
            if name == "field-wangzhigang.db":
                # His last sync was cut after one batch: the server has his device's word for
                # what still waits, and the device still holds it.
                assert store.counts() == {"pending": 2}
                assert waiting["王志刚的手机"] == 2
            else:
                assert store.counts() == {}
        finally:
            store.close()


def test_rebuilding_starts_fresh(demo: Path, tmp_path: Path) -> None:
    stray = demo / "left-over.txt"
    stray.write_text("from an earlier run")
    build_demo(demo, "--today", PINNED)
    assert not stray.exists()
    elsewhere = tmp_path / "not-a-demo"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep me")
    refused = subprocess.run(
        [sys.executable, str(SCRIPT), "build", "--dir", str(elsewhere), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert (elsewhere / "precious.txt").exists()


def test_demo_has_accounts_to_sign_in_with(demo: Path) -> None:
    from server.accounts import users

    # Read afresh: another test rebuilt the demo, and every build makes new passwords.
    summary = json.loads((demo / "demo.json").read_text())
    accounts = {account["name"]: account for account in summary["users"]}
    assert accounts["admin"]["role"] == users.ADMIN
    db = init_db(str(demo / "server.db"))
    try:
        for account in accounts.values():
            user = users.sign_in(db, account["name"], account["password"], "test")
            assert user.role == account["role"]
        assert users.user_by_name(db, "lijianhua").envoy_id is not None
    finally:
        db.close()


def test_demo_script_prints_the_admin_and_the_address() -> None:
    script = (ROOT / "scripts" / "demo").read_text()
    assert "$ADMIN_PASSWORD" in script and "open in a browser:  $URL/" in script


def china_month(moment: str) -> int:
    return parse_iso(moment).astimezone(CHINA).month


def query(demo: Path, sql: str) -> list[tuple[Any, ...]]:
    db = init_db(str(demo / "server.db"))
    try:
        return [tuple(row) for row in db.execute(sql).fetchall()]
    finally:
        db.close()


def test_the_year_is_spread_over_the_months_along_the_profile(demo: Path) -> None:
    sessions = Counter(
        china_month(at) for (at,) in query(demo, "SELECT starts_at FROM sessions WHERE deleted = 0")
    )
    checkins = Counter(
        china_month(at)
        for (at,) in query(demo, "SELECT checked_in_at FROM attendances WHERE deleted = 0")
    )
    # January to 20 November: sessions in nearly every month, not five weeks before the cut.
    assert len(sessions) >= 9, sessions
    assert len(checkins) >= 9, checkins
    total = sum(checkins.values())
    assert max(checkins.values()) <= total / 4, checkins
    # The person-times done by each month's end follow the demo's profile (as a share of what
    # the profile expects by 20 November), within 15 points.
    by_pinned = PROFILE[9] + (PROFILE[10] - PROFILE[9]) * 19.5 / 30
    done = 0
    for month in range(1, 11):
        done += checkins.get(month, 0)
        assert abs(done / total - PROFILE[month - 1] / by_pinned) <= 0.15, (month, checkins)


def test_the_year_has_the_demo_profile_and_nothing_after_the_day(demo: Path) -> None:
    from server.plan import profiles

    db = init_db(str(demo / "server.db"))
    try:
        shares = profiles.profiles_for(db, PINNED_YEAR)
    finally:
        db.close()
    assert shares["trainee_attendances"] == [share / 100 for share in PROFILE]
    moments = query(
        demo,
        "SELECT starts_at FROM sessions UNION ALL SELECT ends_at FROM sessions "
        "UNION ALL SELECT checked_in_at FROM attendances "
        "UNION ALL SELECT handed_out_at FROM leaflet_handouts",
    )
    assert max(parse_iso(at) for (at,) in moments if at) <= PINNED_NOW
    days = query(
        demo,
        "SELECT established_on FROM plots UNION ALL SELECT observed_on FROM plot_observations "
        "UNION ALL SELECT received_on FROM leaflet_receipts",
    )
    assert max(day for (day,) in days) <= PINNED_NOW.date().isoformat()
    assert min(day for (day,) in days) >= f"{PINNED_YEAR}-01-01"


def test_the_indicators_read_a_mix_not_all_behind(summary: dict[str, Any]) -> None:
    statuses = [
        line["status"] for line in summary["indicators"].values() if line["target"] is not None
    ]
    assert len(statuses) == 9
    assert "behind" in statuses
    assert "met" in statuses
    assert "on_track" in statuses
    assert statuses.count("behind") < len(statuses) / 2, statuses


def planted(demo: Path) -> dict[str, str]:
    """The doubtful records the demo plants, found by what is wrong with them."""
    [(area,)] = query(demo, "SELECT id FROM plots WHERE area_mu = 1200")
    [(headcount,)] = query(demo, "SELECT id FROM sessions WHERE reported_headcount = 260")
    [(copies,)] = query(demo, "SELECT id FROM leaflet_handouts WHERE copies = 650")
    [(yield_,)] = query(demo, "SELECT id FROM plot_observations WHERE yield_kg_per_mu = 7710")
    [(empty,)] = query(
        demo,
        "SELECT id FROM sessions s WHERE kind = 'village_training' AND reported_headcount IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM attendances a WHERE a.session_id = s.id)",
    )
    return {
        "plot_area": area,
        "headcount": headcount,
        "handout_copies": copies,
        "yield_vs_target": yield_,
        "empty_session": empty,
    }


@pytest.fixture(scope="module")
def admin_pages(demo: Path, summary: dict[str, Any]) -> Any:
    """GET a bureau page of the demo as its admin, from the real server over HTTP."""
    server = LiveServer(str(demo / "server.db")).start()
    # Read afresh: a test rebuilds the demo, and every build makes new passwords.
    users = json.loads((demo / "demo.json").read_text())["users"]
    password = next(u["password"] for u in users if u["name"] == "admin")
    browser = requests.Session()
    form = browser.get(f"{server.url}/signin", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    browser.post(
        f"{server.url}/signin",
        data={"name": "admin", "password": password, "csrf_token": token.group(1)},
        timeout=10,
    )

    def get(path: str) -> str:
        answer = browser.get(f"{server.url}{path}", timeout=30)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer.text

    yield get
    server.stop()


UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def test_the_flags_page_lists_the_planted_records_and_nothing_else(
    demo: Path, summary: dict[str, Any], admin_pages: Any
) -> None:
    page = admin_pages(f"/flags?year={summary['year']}")
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert body
    rows = re.findall(r"<tr[ >](.*?)</tr>", body.group(1), re.S)
    doubtful = planted(demo)
    # Those five and no other: none of the county's ordinary records looks doubtful.
    assert len(rows) == 5, [UUID.findall(row) for row in rows]
    for record_id in doubtful.values():
        assert sum(record_id in row for row in rows) == 1, record_id


def test_one_planted_record_is_already_reviewed_and_its_page_says_so(
    demo: Path, admin_pages: Any
) -> None:
    from shared import review_status as rs

    headcount = planted(demo)["headcount"]
    [(status, note, by)] = query(
        demo,
        f"SELECT status, note, reviewed_by FROM reviews WHERE record_id = '{headcount}'",
    )
    assert (status, by) == (rs.QUESTIONED, "admin")
    # The other four still wait for a decision.
    assert query(demo, "SELECT count(*) FROM reviews") == [(1,)]
    page = admin_pages(f"/review/{p.SESSION}/{headcount}")
    assert note in page
    assert rs.LABELS[rs.QUESTIONED][0] in page


def test_the_ledger_shows_what_waits_on_the_cut_phone(
    demo: Path, summary: dict[str, Any], admin_pages: Any
) -> None:
    [(envoy,)] = query(demo, "SELECT id FROM envoys WHERE name = '王志刚'")
    page = admin_pages(f"/ledger/{envoy}?year={summary['year']}")
    [(counted,)] = query(
        demo, f"SELECT count(*) FROM leaflet_handouts WHERE envoy_id = '{envoy}' AND deleted = 0"
    )
    rows = re.findall(r"<tr[ >](?:(?!</tr>).)*</tr>", page, re.S)

    def cell(row: str, value: object) -> bool:
        return re.search(rf">\s*{value}\s*<", row) is not None

    # The hand-outs line: the device holds two more than the server counts, both not yet sent.
    assert any(cell(row, counted + 2) and cell(row, counted) and "+2" in row for row in rows)


def test_the_reconciliation_page_shows_the_planted_checkins_and_stock(
    demo: Path, summary: dict[str, Any], admin_pages: Any
) -> None:
    page = admin_pages(f"/reconciliation/?year={summary['year']}")
    [(late,)] = query(
        demo,
        "SELECT s.title FROM attendances a JOIN sessions s ON s.id = a.session_id "
        "WHERE julianday(a.checked_in_at) > julianday(s.ends_at) + 2 / 24.0",
    )
    [(shared,)] = query(
        demo,
        "SELECT DISTINCT s.title FROM attendances a JOIN sessions s ON s.id = a.session_id "
        "WHERE a.phone IS NOT NULL GROUP BY a.session_id, a.phone HAVING count(*) >= 3",
    )
    assert late in page
    assert shared in page
    # 张丽萍 handed out more 食品安全知识读本 than she ever received: her row shows both.
    [(received, handed)] = query(
        demo,
        "SELECT (SELECT sum(copies) FROM leaflet_receipts r WHERE r.leaflet_title_id = t.id), "
        "(SELECT sum(copies) FROM leaflet_handouts h WHERE h.leaflet_title_id = t.id) "
        "FROM leaflet_titles t WHERE t.title = '食品安全知识读本'",
    )
    assert handed > received
    rows = re.findall(r"<tr[ >](?:(?!</tr>).)*食品安全知识读本(?:(?!</tr>).)*</tr>", page, re.S)
    assert any(f"{received:,}" in row and f"{handed:,}" in row for row in rows), rows
    padded = query(demo, "SELECT title FROM sessions WHERE reported_headcount = 260")[0][0]
    assert padded in page


def test_the_demo_of_today_is_this_years_and_nothing_lies_ahead(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    build_demo(folder)
    summary = json.loads((folder / "demo.json").read_text())
    assert summary["year"] == THIS_YEAR
    now = utc_now()
    moments = query(
        folder,
        "SELECT starts_at FROM sessions UNION ALL SELECT checked_in_at FROM attendances "
        "UNION ALL SELECT handed_out_at FROM leaflet_handouts",
    )
    assert all(parse_iso(at) <= now for (at,) in moments)
    days = query(
        folder,
        "SELECT established_on FROM plots UNION ALL SELECT observed_on FROM plot_observations",
    )
    today = now.astimezone(CHINA).date().isoformat()
    assert all(f"{THIS_YEAR}-01-01" <= day <= today for (day,) in days)
