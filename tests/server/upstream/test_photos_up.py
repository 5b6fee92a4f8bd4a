"""Photos up a county's link: the record with the others, then its bytes through the province's
media API as its envoy, resumed after a cut, never sent again once whole (server/upstream/photos_up.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from field_client import photos
from server.media.store import MediaStore
from server.reference.county_envoys import envoy_id_up
from server.store.db import init_db, open_db
from server.upstream import forward, photos_up
from server.upstream.accept import HEADER_ENVOY
from server.upstream.codes import issue_link_code
from shared import protocol as p
from tests.e2e.faults import CUT_MID_REQUEST, PASS, FaultProxy
from tests.e2e.test_photo_upload import a_session, media_folder, on_server
from tests.helpers import LiveServer, enrolled_store, fast_client, load_demo_reference
from tests.shared.test_photos import camera_jpeg


@pytest.fixture
def servers(new_db_path: Callable[[str], str]) -> Iterator[tuple[LiveServer, LiveServer]]:
    started = []
    for name in ("province", "county"):
        db_path = new_db_path(name)
        load_demo_reference(db_path)
        started.append(LiveServer(db_path).start())
    yield started[0], started[1]
    for server in started:
        server.stop()


def test_a_photos_bytes_go_up_whole_once_through_a_cut(
    servers: tuple[LiveServer, LiveServer], tmp_path: Path
) -> None:
    province, county_server = servers
    device = enrolled_store(county_server, str(tmp_path / "field.db"), "张三")
    session_id = a_session(device)
    big = photos.add_photo(device, "session", session_id, camera_jpeg(900, 700), "site")
    small = photos.add_photo(device, "session", session_id, camera_jpeg(300, 200), "signin_sheet")
    fast_client(device).sync()
    assert on_server(county_server, big.sha256) is not None

    issuing = init_db(province.db_path)
    code = issue_link_code(issuing, "530102").code
    issuing.close()
    county = init_db(county_server.db_path)
    proxy = FaultProxy(province.port)
    forward.enroll(county, proxy.url, code, "示范县")
    store = MediaStore(media_folder(county_server))
    # Nothing goes up before its record has.
    assert photos_up.send_photos(county, store) == photos_up.PhotosSent()
    forward.push_once(county)
    assert len(photos_up.waiting(county, forward.status(county).cursor)) == 2

    # The second chunk of the big picture is cut half-way: the run stops, the next resumes.
    puts = {"n": 0}

    def second_put_cut(method: str, path: str, _n: int) -> str:
        if method == "PUT" and "/api/v1/media/" in path:
            puts["n"] += 1
            if puts["n"] == 2:
                return CUT_MID_REQUEST
        return PASS

    proxy.decide = second_put_cut
    with pytest.raises(forward.ProvinceUnreachable):
        photos_up.send_photos(county, store)
    proxy.decide = lambda m, path, n: PASS
    done = photos_up.send_photos(county, store)
    # Whichever picture came first (by SHA-256) may have gone whole before the cut.
    assert done.whole >= 1 and done.refused == 0 and done.later == 0
    whole = county.execute("SELECT count(*) FROM upstream_photos WHERE state = 'whole'")
    assert whole.fetchone()[0] == 2
    for photo in (big, small):
        kept = on_server(province, photo.sha256)
        assert kept is not None and hashlib.sha256(kept).hexdigest() == photo.sha256
    # Sent under 张三's id on the province, from county and name.
    read = open_db(province.db_path)
    owners = {row[0] for row in read.execute("SELECT envoy_id FROM photos")}
    read.close()
    assert owners == {envoy_id_up("530102", "张三")}
    # The next run sends nothing and asks nothing.
    proxy.log.clear()
    assert photos_up.send_photos(county, store) == photos_up.PhotosSent()
    assert not [entry for entry in proxy.log if "/api/v1/media/" in entry[1]]
    # A link without its envoy's header, or naming an envoy of no county of its, gets nothing.
    token = forward.link_of(county)["token"]
    url = f"{province.url}/api/v1/media/{big.sha256}"
    headers = {"Authorization": f"Bearer {token}", p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)}
    bare = requests.get(url, headers=headers, timeout=10)
    assert bare.status_code == 400 and HEADER_ENVOY in bare.json()["message"]
    other = requests.get(
        url, headers={**headers, HEADER_ENVOY: envoy_id_up("530103", "赵丽")}, timeout=10
    )
    assert other.status_code == 403
    # A pull is still refused to a link.
    pull = requests.get(f"{province.url}/api/v1/sync/pull?cursor=0", headers=headers, timeout=10)
    assert pull.status_code == 403 and "只能推送记录和照片" in pull.json()["message"]
    county.close()
    proxy.close()
