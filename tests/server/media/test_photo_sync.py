"""Photo records through the normal push and pull (server/sync/): merged like other field
records, owned by the device's envoy, refused on another envoy's session or observation, held
until their subject arrives, pulled by those who should hold them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import requests

from server.store.db import init_db
from shared import protocol as p
from shared.ids import new_id
from tests.helpers import VILLAGE_SOUTH, LiveServer, load_demo_reference
from tests.server.media.devices import Device, noise_jpeg


@pytest.fixture(scope="module")
def server(module_db_path: str) -> Iterator[LiveServer]:
    db_path = module_db_path
    load_demo_reference(db_path)
    live = LiveServer(db_path).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def zhang(server: LiveServer) -> Device:
    return Device.enrol(server, "张三")


@pytest.fixture(scope="module")
def li(server: LiveServer) -> Device:
    """Li Mei serves Zhang's township."""
    return Device.enrol(server, "李梅")


@pytest.fixture(scope="module")
def wang(server: LiveServer) -> Device:
    """Wang Wu serves another township."""
    return Device.enrol(server, "王五")


def photo_row(server: LiveServer, photo_id: str) -> dict[str, object] | None:
    db = init_db(server.db_path)
    try:
        rows = list(db.query("SELECT * FROM photos WHERE id = ?", [photo_id]))
        return rows[0] if rows else None
    finally:
        db.close()


def pulled(device: Device) -> dict[str, dict[str, object]]:
    answer = requests.get(
        f"{device.url}/api/v1/sync/pull",
        params={"cursor": 0, "limit": 5000},
        headers=device.headers(),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {r["r"]["id"]: r["r"] for r in answer.json()["records"] if r["k"] == p.PHOTO}


def test_a_photo_record_is_stored_with_its_envoy_and_township(
    server: LiveServer, zhang: Device
) -> None:
    session = zhang.session()
    data = noise_jpeg(seed=20)
    photo_id = zhang.photo(session, data)
    row = photo_row(server, photo_id)
    assert row is not None
    assert row["envoy_id"] == zhang.envoy_id
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert row["size_bytes"] == len(data)
    assert row["township_code"] == "530102001000"
    assert (row["latitude"], row["longitude"]) == (25.0412, 102.7123)
    # An edit merges like any other field record's (sent without its base: a concurrent edit).
    assert zhang.push(p.PHOTO, photo_id, {"note": "会场全景"}) in (p.APPLIED, p.MERGED)
    assert photo_row(server, photo_id)["note"] == "会场全景"  # type: ignore[index]


def test_a_photo_of_another_envoys_session_is_refused(
    server: LiveServer, zhang: Device, li: Device
) -> None:
    session = zhang.session()
    photo_id = li.photo(session, noise_jpeg(seed=21), expect=p.REJECTED)
    assert "只能为本人主持或协办的培训添加照片" in li.answers[-1]["r"]
    assert "subject_id" in li.answers[-1]["e"]
    assert photo_row(server, photo_id) is None


def test_another_envoy_cannot_edit_a_photo_or_move_one_onto_a_session_not_theirs(
    server: LiveServer, zhang: Device, li: Device
) -> None:
    mine = zhang.photo(zhang.session(), noise_jpeg(seed=22))
    assert li.push(p.PHOTO, mine, {"note": "改"}) == p.REJECTED
    assert "另一位特派员" in li.answers[-1]["r"]
    theirs = li.session()
    assert zhang.push(p.PHOTO, mine, {"subject_id": theirs}) == p.REJECTED
    assert photo_row(server, mine)["note"] is None  # type: ignore[index]


def test_a_photo_before_its_session_is_held_then_applied(server: LiveServer, zhang: Device) -> None:
    session_id = new_id()
    photo_id = zhang.photo(session_id, noise_jpeg(seed=23), expect=p.HELD)
    assert photo_row(server, photo_id) is None
    zhang.push(
        p.SESSION,
        session_id,
        {
            "kind": "village_training",
            "title": "后到的培训",
            "unit_code": "530102001001",
            "starts_at": "2026-05-02T01:00:00Z",
            "lead_envoy_id": zhang.envoy_id,
        },
    )
    assert photo_row(server, photo_id) is not None


def test_a_photo_of_an_observation_waits_for_it_and_takes_its_plots_township(
    server: LiveServer, wang: Device, zhang: Device
) -> None:
    plot_id, observation_id = new_id(), new_id()
    data = noise_jpeg(seed=24)
    photo_id = wang.photo(
        observation_id, data, subject_kind="observation", photo_kind="observation", expect=p.HELD
    )
    wang.push(
        p.PLOT,
        plot_id,
        {
            "village_code": VILLAGE_SOUTH,
            "host_name": "王大户",
            "crop": "玉米",
            "area_mu": 10,
            "established_on": "2026-03-01",
        },
    )
    wang.push(
        p.PLOT_OBSERVATION,
        observation_id,
        {"plot_id": plot_id, "observed_on": "2026-06-01", "stage": "seedling"},
    )
    row = photo_row(server, photo_id)
    assert row is not None and row["township_code"] == "530102002000"
    # Zhang may not put a photo on Wang's observation.
    zhang.photo(
        observation_id,
        data,
        subject_kind="observation",
        photo_kind="observation",
        expect=p.REJECTED,
    )
    assert "田间观测" in zhang.answers[-1]["r"]


def test_pull_serves_photos_to_those_who_should_hold_them(
    server: LiveServer, zhang: Device, li: Device, wang: Device
) -> None:
    photo_id = zhang.photo(zhang.session(), noise_jpeg(seed=25))
    # Li serves Zhang's township: Zhang's photos there reach Li's devices.
    assert photo_id in pulled(li)
    assert pulled(li)[photo_id]["sha256"] == photo_row(server, photo_id)["sha256"]  # type: ignore[index]
    # Wang serves another township: only the photos of a session Wang co-runs reach Wang.
    shared = zhang.session(co=(wang.envoy_id,))
    shared_photo = zhang.photo(shared, noise_jpeg(seed=26))
    wangs = pulled(wang)
    assert shared_photo in wangs and photo_id not in wangs
