"""A field device as the media tests need one: enrolled on a real server over HTTP, pushing
sessions and photo records, sending bytes in chunks as the protocol says."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

import requests
from PIL import Image

from server.media.chunks import MAX_CHUNK_BYTES
from shared import protocol as p
from shared.clock import wall_ms
from shared.ids import new_id
from tests.helpers import VILLAGE_EAST, LiveServer, enrolment_code

CHUNK = MAX_CHUNK_BYTES


def noise_jpeg(width: int = 480, height: int = 400, seed: int = 0) -> bytes:
    """A JPEG of noise (a different picture for each seed): about 50 KB per 100,000 pixels."""
    image = Image.effect_noise((width, height), 60 + seed % 40).convert("RGB")
    image.paste((seed % 256, 80, 160), (0, 0, 8 + seed % 64, 8))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


@dataclass
class Device:
    """One enrolled device of an envoy, talking to the server over real HTTP."""

    url: str
    token: str
    envoy_id: str
    seq: int = 0
    answers: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def enrol(cls, server: LiveServer, envoy_name: str) -> Device:
        answer = requests.post(
            f"{server.url}/api/v1/enrolments",
            json={"code": enrolment_code(server.db_path, envoy_name), "device_name": envoy_name},
            headers={p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        return cls(server.url, body["token"], body["envoy"]["id"])

    def headers(self, **more: str) -> dict[str, str]:
        return {
            p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION),
            "Authorization": f"Bearer {self.token}",
            **more,
        }

    def push(self, kind: str, record_id: str, values: dict[str, Any]) -> str:
        """Push one change; its status (applied, held, rejected...)."""
        self.seq += 1
        change = {"q": self.seq, "k": kind, "i": record_id, "h": f"{wall_ms():013d}.00001"}
        answer = requests.post(
            f"{self.url}/api/v1/sync/push",
            json={"changes": [{**change, "f": values}]},
            headers=self.headers(),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        if body["applied"]:
            return p.APPLIED
        self.answers.append(body["answers"][0])
        return str(body["answers"][0]["s"])

    def session(
        self, unit_code: str = VILLAGE_EAST, lead: str | None = None, co: tuple[str, ...] = ()
    ) -> str:
        session_id = new_id()
        status = self.push(
            p.SESSION,
            session_id,
            {
                "kind": "large_training",
                "title": "马铃薯晚疫病防治培训",
                "unit_code": unit_code,
                "starts_at": "2026-05-01T01:00:00Z",
                "ends_at": "2026-05-01T04:00:00Z",
                "lead_envoy_id": lead or self.envoy_id,
                "co_envoy_ids": list(co),
                "reported_headcount": 40,
            },
        )
        assert status == p.APPLIED, self.answers
        return session_id

    def photo(
        self,
        subject_id: str,
        data: bytes,
        *,
        photo_kind: str = "site",
        subject_kind: str = "session",
        size: int | None = None,
        expect: str = p.APPLIED,
    ) -> str:
        """Push a photo record of these bytes (its id)."""
        photo_id = new_id()
        image = Image.open(io.BytesIO(data)) if data[:2] == b"\xff\xd8" else None
        status = self.push(
            p.PHOTO,
            photo_id,
            {
                "subject_kind": subject_kind,
                "subject_id": subject_id,
                "photo_kind": photo_kind,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size_bytes": size if size is not None else len(data),
                "width": image.width if image else 100,
                "height": image.height if image else 100,
                "taken_at": "2026-05-01T02:15:00Z",
                "recorded_at": "2026-05-01T02:16:00Z",
                "latitude": 25.0412,
                "longitude": 102.7123,
                "accuracy_m": 8.0,
            },
        )
        assert status == expect, self.answers
        return photo_id

    def status(self, sha256: str) -> requests.Response:
        return requests.get(f"{self.url}/api/v1/media/{sha256}", headers=self.headers(), timeout=10)

    def put(
        self,
        data: bytes,
        offset: int,
        chunk: bytes,
        *,
        size: int | None = None,
        chunk_sha: str | None = None,
    ) -> requests.Response:
        """PUT one chunk of `data` (the whole picture) at `offset`."""
        sha = hashlib.sha256(data).hexdigest()
        return requests.put(
            f"{self.url}/api/v1/media/{sha}",
            params={"offset": offset, "size": len(data) if size is None else size},
            data=chunk,
            headers=self.headers(
                **{
                    "Content-Type": "application/octet-stream",
                    "X-Chunk-SHA256": chunk_sha or hashlib.sha256(chunk).hexdigest(),
                }
            ),
            timeout=30,
        )

    def send(self, data: bytes, start: int | None = None, stop: int | None = None) -> Any:
        """Send the picture from what the server holds (or `start`), chunk by chunk, up to
        `stop` bytes; the last answer's body."""
        sha = hashlib.sha256(data).hexdigest()
        offset = self.status(sha).json()["received"] if start is None else start
        end = len(data) if stop is None else stop
        body: Any = None
        while offset < end:
            answer = self.put(data, offset, data[offset : min(offset + CHUNK, end)])
            assert answer.status_code == 200, answer.text
            body = answer.json()
            offset = body["received"]
        return body


def add_photo(
    envoy: Any,
    subject_id: str,
    data: bytes,
    photo_kind: str = "site",
    taken_at: str | None = "2026-05-01T02:15:00Z",
    subject_kind: str = "session",
) -> str:
    """Push a photo record straight into the sync engine (tests/server/fieldwork.py Envoy)."""
    photo_id = new_id()
    image = Image.open(io.BytesIO(data))
    envoy.push(
        p.PHOTO,
        {
            "subject_kind": subject_kind,
            "subject_id": subject_id,
            "photo_kind": photo_kind,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_bytes": len(data),
            "width": image.width,
            "height": image.height,
            "taken_at": taken_at,
            "recorded_at": "2026-05-01T02:16:00Z",
            "latitude": 25.0412,
            "longitude": 102.7123,
            "accuracy_m": 8.0,
        },
        photo_id,
    )
    return photo_id
