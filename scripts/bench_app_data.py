"""What the phone app bench works on: a server with an envoy's farmers (made on a laptop and
synced, so the phone pulls them as in the field), enrolment codes, and the fake camera's video."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

from bench_sync import ENVOY
from bench_sync_device import VILLAGES

from shared import protocol as p

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "建国华明丽芳军平伟秀英红梅兰春燕强海云玉霞志刚文静金凤桂花德福永贵小宝晓东"

# Card frames carry a dark square in the top-left corner, empty frames a light one, so the
# page can tell the moment a card comes into view.
MARK = 24


def farmer_values(rng: random.Random, n: int, mobile: int) -> dict[str, Any]:
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if n % 3 else "")
    return {
        "name": name,
        "village_code": rng.choice(VILLAGES),
        "mobile": f"139{mobile:08d}",
        "gender": rng.choice(("female", "male")),
        "birth_year": rng.randint(1950, 2005),
    }


def seed_server(
    db_path: str, url: str, workdir: Path, farmers: int, seed: int = 7
) -> list[dict[str, Any]]:
    """The envoy's `farmers`, made through a laptop's FieldStore and synced to the server at
    `url` (the one running on db_path); returns them as {id, name, mobile, village_code}."""
    from field_client.operations import sync_device
    from field_client.store import FieldStore
    from field_client.sync import enrol

    rng = random.Random(seed)
    store = FieldStore(str(workdir / "laptop.db"))
    enrol(store, url, new_code(db_path), "bench laptop")
    made = []
    mobiles = rng.sample(range(10**8), farmers)
    for n in range(farmers):
        values = farmer_values(rng, n, mobiles[n])
        record_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        store.create(p.FARMER, values, record_id)
        made.append({"id": record_id, **values})
    sync_device(store, retries=2, backoff=0.1)
    store.close()
    return made


def new_code(db_path: str) -> str:
    """A fresh one-time enrolment code for the bench's envoy."""
    from server.store.db import init_db
    from server.sync import devices

    db = init_db(db_path)
    envoy = devices.envoy_by_name(db, ENVOY)
    code = devices.new_enrolment_code(db, envoy["id"], 120)
    db.conn.commit()
    db.close()
    return code


def camera_frame(text: str | None) -> Any:
    """The test's card picture (an empty table when None), with the corner mark."""
    from PIL import ImageDraw

    from tests.e2e.fake_camera import card_frame

    frame = card_frame(text)
    ImageDraw.Draw(frame).rectangle(
        (0, 0, MARK, MARK), fill=(20, 20, 20) if text else (235, 235, 235)
    )
    return frame


def write_camera(path: Path, cards: list[str], empty_s: float = 1.0, card_s: float = 1.5) -> Path:
    """A looping video: an empty table, then a card, for each card in turn."""
    from tests.e2e.fake_camera import FPS, write_y4m

    frames = []
    empty = camera_frame(None)
    for text in cards:
        frames += [empty] * round(empty_s * FPS)
        frames += [camera_frame(text)] * round(card_s * FPS)
    return write_y4m(path, frames)
