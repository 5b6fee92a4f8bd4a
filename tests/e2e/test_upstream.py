"""Counties reporting up: two county servers and their province as real processes (issue 23)."""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from field_client import photos
from field_client.store import FieldStore
from server.farmers.merges import merge
from server.plan.target_files import load_targets_file
from server.reference import load as reference
from server.reference.county_envoys import envoy_id_up
from server.store.db import init_db, open_db
from server.store.records import table_of
from server.upstream.accept import HEADER_ENVOY
from server.upstream.forward import FORWARDED_KINDS
from shared import protocol as p
from shared.ids import new_id
from tests.e2e.faults import CUT_AFTER_SERVER, CUT_BEFORE_SERVER, PASS, REPEAT, FaultProxy
from tests.e2e.test_photo_upload import on_server
from tests.helpers import (
    DATA,
    LEAFLET_POTATO,
    TECH_POTATO,
    LiveServer,
    enrolled_store,
    fast_client,
    report_token,
)
from tests.shared.test_photos import camera_jpeg

PROVINCE = "530000"
COUNTY_A, VILLAGE_A = "530102", "530102001001"
COUNTY_B, VILLAGE_B = "530103", "530103001001"
# One name in both counties: two envoys, kept apart on the province (ids from county and name).
ENVOY_A = ENVOY_B = "张三"
PASSWORD = "province-password"


def server_cli(
    server: LiveServer, *args: str, ok: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # On PostgreSQL the server's photos are in the folder its process was given.
    media = {"TIANJIAN_MEDIA_DIR": server.media_dir} if server.media_dir else {}
    result = subprocess.run(
        [sys.executable, "-m", "server", "--db", server.db_path, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **media, **(env or {})},
        timeout=120,
    )
    assert "Traceback" not in result.stderr
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def make_server(tmp_path: Path, db_path: str, name: str, envoys: str | None) -> LiveServer:
    units = tmp_path / "units.csv"
    if not units.exists():
        # Both counties under one province, as the province loads them.
        demo = (DATA / "units.csv").read_text(encoding="utf-8")
        demo = demo.replace(
            "530102,示范县,,county", "530000,云南省,,province\n530102,示范县,530000,county"
        )
        units.write_text(
            demo + "530103,邻县,530000,county\n530103001,新城镇,530103,township\n"
            "530103001001,北村,530103001,village\n",
            encoding="utf-8",
        )
    db = init_db(db_path)
    reference.load_units(db, str(units))
    reference.load_catalogue(db, str(DATA / "catalog.csv"))
    if envoys:
        path = tmp_path / f"{name}-envoys.csv"
        path.write_text(f"name,mobile,township_codes\n{envoys}\n", encoding="utf-8")
        reference.load_envoys(db, str(path))
    targets = (DATA / "targets.yaml").read_text(encoding="utf-8")
    for county in (PROVINCE, COUNTY_A, COUNTY_B):
        path = tmp_path / f"targets-{county}.yaml"
        path.write_text(targets.replace('"530102"', f'"{county}"'), encoding="utf-8")
        load_targets_file(db, str(path))
    db.close()
    return LiveServer(db_path).start()


# One person known to both counties: the same name and mobile number.
TRAVELLER = {"name": "周游", "mobile": "13699990000"}


def record_work(
    store: FieldStore, village: str, farmers: int, day: int, traveller: bool = False
) -> None:
    """Farmers, a session they check in to, leaflets received and handed out there."""
    farmer_ids = [
        store.create(
            p.FARMER,
            {"name": f"农户{day}-{n}", "village_code": village, "mobile": f"138{day:02d}00{n:04d}"},
        )
        for n in range(farmers)
    ]
    if traveller:
        farmer_ids.append(store.create(p.FARMER, {**TRAVELLER, "village_code": village}))
    session_id = store.create(
        p.SESSION,
        {
            "kind": "village_training",
            "title": f"培训{day}",
            "unit_code": village,
            "starts_at": f"2026-05-{day:02d}T01:00:00Z",
            "lead_envoy_id": store.get("envoy_id"),
            "technology_ids": [TECH_POTATO],
        },
    )
    for farmer_id in farmer_ids:
        store.checkin(session_id, farmer_id, "qr_self", f"2026-05-{day:02d}T01:30:00Z")
    # A site photo, whose bytes go up after its record.
    photos.add_photo(store, "session", session_id, camera_jpeg(400 + day, 300), "site")
    store.create(
        p.LEAFLET_RECEIPT,
        {"leaflet_title_id": LEAFLET_POTATO, "copies": 100, "received_on": f"2026-05-{day:02d}"},
    )
    store.create(
        p.LEAFLET_HANDOUT,
        {
            "leaflet_title_id": LEAFLET_POTATO,
            "copies": 10 + day,
            "session_id": session_id,
            "handed_out_at": f"2026-05-{day:02d}T03:00:00Z",
        },
    )
    assert p.REJECTED not in fast_client(store).sync().statuses


def rows(db_path: str, sql: str) -> list[tuple[Any, ...]]:
    """What `sql` answers (or does, committed) on a server's database, on either engine."""
    db = open_db(db_path)
    try:
        with db.conn:
            cursor = db.execute(sql)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
    finally:
        db.close()


def ids(db_path: str, table: str) -> list[str]:
    return sorted(row[0] for row in rows(db_path, f"SELECT id FROM [{table}]"))


def scalar(db_path: str, sql: str) -> Any:
    return rows(db_path, sql)[0][0]


def figures(server: LiveServer, county: str) -> dict[str, dict[str, Any]]:
    answer = requests.get(
        f"{server.url}/api/v1/reports/2026",
        params={"unit": county},
        headers=report_token(server.db_path),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {line["key"]: line for line in answer.json()["indicators"]}


def signed_in(server: LiveServer, name: str) -> requests.Session:
    """A browser's session on the server's pages, signed in through the real form."""
    session = requests.Session()
    page = session.get(f"{server.url}/signin", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    answer = session.post(
        f"{server.url}/signin",
        data={"name": name, "password": PASSWORD, "csrf_token": token.group(1)},
        timeout=30,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:300]
    return session


def province_pages(province: LiveServer) -> None:
    """The province's pages: a province user sees every county, broken down and drilled down to
    its records; a county user there sees only their county."""
    env = {"TIANJIAN_PASSWORD": PASSWORD}
    for name, level, area in (("sheng", "province", PROVINCE), ("linxian", "county", COUNTY_B)):
        server_cli(province, "users", "add", name, "--role", "staff", env=env)
        server_cli(province, "users", "area", name, level, area)
    sheng = signed_in(province, "sheng")
    page = sheng.get(f"{province.url}/breakdowns?year=2026&by=county", timeout=30).text
    assert "示范县" in page and "邻县" in page
    # From county B's row to its check-ins: its farmers, not county A's.
    drill = re.findall(r'href="(/records/checkins\?[^"]*unit=530103000000[^"]*)"', page)
    assert drill, "the county's row drills down to its check-ins"
    listed = sheng.get(f"{province.url}{html.unescape(drill[0])}", timeout=30).text
    assert "农户2-0" in listed and "农户1-0" not in listed
    whole = sheng.get(f"{province.url}/records/checkins?year=2026", timeout=30).text
    assert "农户2-0" in whole and "农户1-0" in whole
    linxian = signed_in(province, "linxian")
    own = linxian.get(f"{province.url}/records/checkins?year=2026", timeout=30).text
    assert "农户2-0" in own and "农户1-0" not in own
    refused = linxian.get(f"{province.url}/progress?year=2026&unit={COUNTY_A}", timeout=30)
    assert refused.status_code == 403 and "只能查看本辖区" in refused.text


@pytest.fixture
def province_and_counties(
    tmp_path: Path, new_db_path: Callable[[str], str]
) -> Iterator[tuple[LiveServer, LiveServer, LiveServer]]:
    started = [
        make_server(tmp_path, new_db_path("province"), "province", None),
        make_server(
            tmp_path, new_db_path("county-a"), "county-a", f"{ENVOY_A},13800138000,530102001"
        ),
        make_server(
            tmp_path, new_db_path("county-b"), "county-b", f"{ENVOY_B},13900139001,530103001"
        ),
    ]
    try:
        yield started[0], started[1], started[2]
    finally:
        for server in started:
            server.stop()


def test_two_counties_report_up_to_their_province_exactly_once(
    province_and_counties: tuple[LiveServer, LiveServer, LiveServer], tmp_path: Path
) -> None:
    province, county_a, county_b = province_and_counties
    proxies = {
        county_a.db_path: FaultProxy(province.port),
        county_b.db_path: FaultProxy(province.port),
    }
    for county, code in ((county_a, COUNTY_A), (county_b, COUNTY_B)):
        issued = server_cli(province, "upstream", "code", code).stdout
        link_code = issued.split("link code: ")[1].split()[0]
        server_cli(county, "upstream", "enroll", proxies[county.db_path].url, link_code)
        # A code serves once.
        again = server_cli(county, "upstream", "enroll", province.url, link_code, ok=False)
        assert again.returncode != 0

    # The province's catalogue: potato's category is the province's word; a new technology.
    catalogue = tmp_path / "province-catalogue.csv"
    catalogue.write_text(
        "type,name,crop,category\ntechnology,马铃薯脱毒种薯技术,,良种繁育\n"
        "technology,高原夏菜栽培,,种植\n",
        encoding="utf-8",
    )
    server_cli(province, "catalog", "load", str(catalogue))

    store_a = enrolled_store(county_a, str(tmp_path / "device-a.db"), ENVOY_A)
    store_b = enrolled_store(county_b, str(tmp_path / "device-b.db"), ENVOY_B)
    record_work(store_a, VILLAGE_A, farmers=6, day=1)
    record_work(store_b, VILLAGE_B, farmers=4, day=2)

    # County A's first push reaches the province, whose answer is lost; county B's never arrives.
    proxies[county_a.db_path].decide = lambda m, path, n: (
        CUT_AFTER_SERVER if path.endswith("/sync/push") else PASS
    )
    proxies[county_b.db_path].decide = lambda m, path, n: (
        CUT_BEFORE_SERVER if path.endswith("/sync/push") else PASS
    )
    for county in (county_a, county_b):
        cut = server_cli(county, "upstream", "push", ok=False)
        assert cut.returncode != 0 and "省级服务器未应答" in cut.stderr
        waiting = server_cli(county, "upstream", "status").stdout
        assert "待上报 waiting" in waiting
        proxies[county.db_path].decide = lambda m, path, n: PASS

    # Every process restarts; the link carries on from its cursor.
    for server in (province, county_a, county_b):
        server.restart()
    for county in (county_a, county_b):
        done = server_cli(county, "upstream", "push").stdout
        assert "拒收 0 条" in done
        # The province's catalogue came down: potato's new category and a new technology.
        assert "the province's catalogue: 2 written, 0 handed back" in done
        assert "photos: 1 sent whole, 0 refused, 0 left for next time" in done
    # A week later: more work in both counties, forwarded by the next timer run.
    record_work(store_a, VILLAGE_A, farmers=3, day=8, traveller=True)
    record_work(store_b, VILLAGE_B, farmers=5, day=9, traveller=True)
    # County B's staff say two of its farmers, trained a week apart, are one person: the
    # province learns it too (a person-time each still, one trainee).
    named = dict(rows(county_b.db_path, "SELECT name, id FROM farmers WHERE name LIKE '农户%-0'"))
    county_db = init_db(county_b.db_path)
    merge(county_db, named["农户9-0"], named["农户2-0"], "科员")
    county_db.close()
    # County A's link now delivers every push twice.
    proxies[county_a.db_path].decide = lambda m, path, n: (
        REPEAT if path.endswith("/sync/push") else PASS
    )
    for county in (county_a, county_b):
        server_cli(county, "upstream", "push")
        assert "没有待上报的记录" in server_cli(county, "upstream", "status").stdout
    proxies[county_a.db_path].decide = lambda m, path, n: PASS

    # Down the same link: a target the province sets for county A becomes county A's, read-only.
    plan = tmp_path / "province-plan.yaml"
    plan.write_text(
        'year: 2026\nunit_code: "530102"\ntargets:\n'
        '  - {indicator: trainee_attendances, comparator: ">", value: 4000}\n',
        encoding="utf-8",
    )
    server_cli(province, "targets", "load", str(plan))
    taken = server_cli(county_a, "upstream", "push").stdout
    assert "targets from the province: 1 set, 0 removed" in taken
    assert "targets from the province: 0 set" in server_cli(county_a, "upstream", "push").stdout
    assert figures(county_a, COUNTY_A)["trainee_attendances"]["target"] == 4000
    own = server_cli(county_a, "targets", "load", str(DATA / "targets.yaml"), ok=False)
    assert (
        own.returncode == 1 and "由省级下达，本县只读" in own.stderr and "read-only" in own.stderr
    )

    # Down the same link: the province's catalogue, read-only on the county; its own rows stay.
    assert "the province's catalogue: 0 written, 0 handed back" in taken
    kept = dict(rows(county_a.db_path, "SELECT name, category FROM technologies"))
    assert kept["马铃薯脱毒种薯技术"] == "良种繁育" and kept["高原夏菜栽培"] == "种植"
    assert kept["玉米高产栽培"] == "种植"  # the county's own, as the demo loaded it
    again = server_cli(county_a, "catalog", "load", str(DATA / "catalog.csv"), ok=False)
    assert again.returncode == 1 and "技术 马铃薯脱毒种薯技术 由省级下达，本县只读" in again.stderr
    assert "read-only here" in again.stderr

    for kind in FORWARDED_KINDS:
        table = table_of(kind)
        both = sorted(ids(county_a.db_path, table) + ids(county_b.db_path, table))
        assert ids(province.db_path, table) == both, table
    assert scalar(province.db_path, "SELECT count(*) FROM held_changes") == 0
    assert scalar(province.db_path, "SELECT count(*) FROM refusals") == 0
    # Every copy keeps its county as owner: the county's link wrote it.
    owners = rows(
        province.db_path,
        "SELECT DISTINCT d.county_code FROM attendances a JOIN devices d ON d.id = a.device_id",
    )
    assert sorted(row[0] for row in owners) == [COUNTY_A, COUNTY_B]

    # The province's figures for each county are that county's own, so its total is their sum.
    up_a, up_b = figures(province, COUNTY_A), figures(province, COUNTY_B)
    a, b = figures(county_a, COUNTY_A), figures(county_b, COUNTY_B)
    for key in ("trainee_attendances", "leaflets_distributed", "village_trainings"):
        assert up_a[key]["actual"] == a[key]["actual"], key
        assert up_b[key]["actual"] == b[key]["actual"], key
    # Unique trainees of one county agree too, county B's staff merge included (4 + 5 + 1 - 1).
    assert b["unique_trainees"]["actual"] == up_b["unique_trainees"]["actual"] == 9
    assert a["trainee_attendances"]["actual"] + b["trainee_attendances"]["actual"] == 20
    assert up_a["trainee_attendances"]["actual"] + up_b["trainee_attendances"]["actual"] == 20
    assert a["leaflets_distributed"]["actual"] == 11 + 18
    assert up_b["leaflets_distributed"]["actual"] == 12 + 19
    assert up_a["village_trainings"]["actual"] + up_b["village_trainings"]["actual"] == 4
    # The province as a whole: the sum of its counties where a figure adds up.
    whole = figures(province, PROVINCE)
    for key in ("trainee_attendances", "leaflets_distributed", "village_trainings"):
        assert whole[key]["actual"] == a[key]["actual"] + b[key]["actual"], key
    assert whole["trainee_attendances"]["actual"] == 20
    # But a person known to both counties is one trainee of the province (merged there as on
    # any server: same name, same mobile), while each county counts them once.
    assert whole["unique_trainees"]["actual"] == (
        a["unique_trainees"]["actual"] + b["unique_trainees"]["actual"] - 1
    )
    # Both counties taught the same technology: one of the province, not two.
    assert a["technologies_promoted"]["actual"] == b["technologies_promoted"]["actual"] == 1
    assert whole["technologies_promoted"]["actual"] == 1
    # Every photo's bytes reached the province whole, once.
    for county in (county_a, county_b):
        held = [
            row[0] for row in rows(county.db_path, "SELECT sha256 FROM media WHERE complete = 1")
        ]
        assert len(held) == 2
        for sha256 in held:
            assert on_server(province, sha256) is not None, sha256
    assert scalar(province.db_path, "SELECT count(*) FROM media WHERE complete = 1") == 4
    # Two envoys named 张三 on the province, one per county, each with their own county's work.
    assert scalar(province.db_path, "SELECT count(*) FROM envoys WHERE name = '张三'") == 2
    leads = scalar(
        province.db_path,
        "SELECT count(DISTINCT s.lead_envoy_id || d.county_code) FROM sessions s "
        "JOIN devices d ON d.id = s.device_id",
    )
    assert leads == 2

    province_pages(province)

    # A replayed forward (the cursor lost) changes nothing on the province.
    before = scalar(province.db_path, "SELECT value FROM server_state WHERE key = 'seq'")
    rows(county_a.db_path, "UPDATE upstream_link SET cursor = 0")
    replay = server_cli(county_a, "upstream", "push").stdout
    assert "拒收 0 条" in replay and "forwarded 0" not in replay
    assert scalar(province.db_path, "SELECT value FROM server_state WHERE key = 'seq'") == before
    assert figures(province, COUNTY_A)["trainee_attendances"]["actual"] == 10

    # County A's link cannot report a record of county B, nor act for county B's envoy.
    token = scalar(county_a.db_path, "SELECT token FROM upstream_link")
    headers = {
        "Authorization": f"Bearer {token}",
        p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION),
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    session = {
        "q": 10**9,
        "k": p.SESSION,
        "i": new_id(),
        "h": "1778000000000.00000",
        "f": {
            "kind": "village_training",
            "title": "越界培训",
            "unit_code": VILLAGE_B,
            "starts_at": "2026-05-20T01:00:00Z",
            "lead_envoy_id": envoy_id_up(COUNTY_A, ENVOY_A),
            "technology_ids": [TECH_POTATO],
        },
    }
    body = gzip.compress(json.dumps({"changes": [session]}).encode())
    refused = requests.post(
        f"{province.url}/api/v1/sync/push",
        data=body,
        headers={**headers, HEADER_ENVOY: envoy_id_up(COUNTY_A, ENVOY_A)},
        timeout=30,
    )
    assert refused.status_code == 200
    (answer,) = refused.json()["answers"]
    assert answer["s"] == p.REJECTED and "只能上报本县的记录" in answer["r"]
    assert "may report only its own records" in answer["r"]
    other_envoy = requests.post(
        f"{province.url}/api/v1/sync/push",
        data=body,
        headers={**headers, HEADER_ENVOY: envoy_id_up(COUNTY_B, ENVOY_B)},
        timeout=30,
    )
    assert other_envoy.status_code == 403 and "不属于县 530102" in other_envoy.json()["message"]
    assert session["i"] not in ids(province.db_path, "sessions")
    for proxy in proxies.values():
        proxy.close()
