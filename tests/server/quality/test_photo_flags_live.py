"""The reused-photo flag end to end: two envoys' devices push sessions and photo records and
send the bytes in chunks to a real server over HTTP; the last chunk's answer has the picture's
perceptual hash kept, so the same picture saved again (other bytes) is found."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime

import pytest
from PIL import Image

from server.figures.counted import Scope
from server.quality.flags import FlagRules, flags
from server.quality.photo_flags import REUSED_PHOTO
from server.store.db import init_db
from shared.clock import CHINA
from tests.helpers import LiveServer, load_demo_reference
from tests.server.media.devices import Device
from tests.server.quality.test_photo_hashes import scene


@pytest.fixture
def server(db_path: str) -> Iterator[LiveServer]:
    load_demo_reference(db_path)
    live = LiveServer(db_path).start()
    yield live
    live.stop()


def jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_a_picture_sent_again_by_another_envoy_is_flagged(server: LiveServer) -> None:
    zhang, wang = Device.enrol(server, "张三"), Device.enrol(server, "王五")
    first, later = zhang.session(), wang.session()
    original = jpeg(scene(11).resize((1200, 900)), 85)
    width, height = scene(11).size
    # Cropped at the edge, shrunk and saved again: other bytes, nearly the same picture.
    copy = jpeg(scene(11).crop((width // 50, height // 50, width, height)).resize((800, 600)), 50)
    zhang.photo(first, original)
    wang.photo(later, copy)
    assert zhang.send(original)["complete"] and wang.send(copy)["complete"]
    db = init_db(server.db_path)
    try:
        hashes = [row[0] for row in db.execute("SELECT phash FROM media ORDER BY sha256")]
        assert len(hashes) == 2 and all(h and len(h) == 16 for h in hashes)
        # Both sessions start at the same moment; the later by id is flagged, naming the other.
        found = [
            f
            for f in flags(db, Scope(2026), datetime(2026, 6, 1, tzinfo=CHINA), FlagRules())
            if f.kind == REUSED_PHOTO
        ]
    finally:
        db.close()
    assert len(found) == 1 and found[0].record_id == max(first, later)
    assert "几乎相同的照片（感知哈希相差" in found[0].reason
