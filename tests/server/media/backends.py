"""The two media stores the media tests run against: the folder, and S3-compatible object
storage served by moto's server mode on loopback (real HTTP; MinIO's server cannot be installed
on the build machines). Each case gives the settings a server is started with and its store."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from server.media.backend import MediaBackend
from server.media.chosen import media_store
from server.media.s3 import S3Store
from server.media.store import MediaStore
from server.settings import BY_NAME
from tests import pg
from tests.helpers import LiveServer

KINDS = ("folder", "s3")
REGION = "us-east-1"
# moto takes any keys; given explicitly so the server's own environment never matters.
KEYS = {"MEDIA_S3_ACCESS_KEY_ID": "tianjian-test", "MEDIA_S3_SECRET_ACCESS_KEY": "not-a-secret"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoS3:
    """moto's S3 server in a thread of the test process, on a loopback port; stopped and
    started again on the same port it keeps its buckets (they live in the process)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> MotoS3:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=KEYS["MEDIA_S3_ACCESS_KEY_ID"],
            aws_secret_access_key=KEYS["MEDIA_S3_SECRET_ACCESS_KEY"],
        )

    def new_bucket(self) -> str:
        name = f"photos-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


@dataclass(frozen=True)
class Backend:
    """One media store under test: its settings (config keys) and where its database is."""

    kind: str
    settings: dict[str, str]

    def env(self) -> dict[str, str]:
        return {BY_NAME[name].env: value for name, value in self.settings.items()}

    def store(self, database: str) -> MediaBackend:
        return media_store({**self.settings, "DATABASE": database})


def s3_settings(endpoint: str, bucket: str) -> dict[str, str]:
    return {
        "MEDIA_BACKEND": "s3",
        "MEDIA_S3_ENDPOINT": endpoint,
        "MEDIA_S3_BUCKET": bucket,
        # A prefix, as a province sharing one bucket between servers would give each.
        "MEDIA_S3_PREFIX": "county-530102/",
        "MEDIA_S3_REGION": REGION,
        **KEYS,
    }


def backend_of(kind: str, request: pytest.FixtureRequest) -> Backend:
    """The folder (beside the database, the county default) or a fresh bucket on moto."""
    if kind == "folder":
        if pg.wanted():
            # A database on PostgreSQL has no folder beside it: the setting names one.
            folder = str(request.getfixturevalue("tmp_path_factory").mktemp("media"))
            return Backend(kind, {"MEDIA_BACKEND": "folder", "MEDIA_DIR": folder})
        return Backend(kind, {"MEDIA_BACKEND": "folder"})
    moto: MotoS3 = request.getfixturevalue("moto_s3")
    return Backend(kind, s3_settings(moto.url, moto.new_bucket()))


def read(store: MediaBackend, sha256: str) -> bytes | None:
    """A whole picture's bytes as stored, None when it is not."""
    opened = store.open(sha256)
    if opened is None:
        return None
    try:
        return b"".join(opened.blocks())
    finally:
        opened.close()


def names_of(backend: Backend, database: str, sha256: str) -> dict[str, object]:
    """Every name in the store that holds something of this picture, with when it was written."""
    store = backend.store(database)
    if isinstance(store, MediaStore):
        return {
            str(path.relative_to(store.root)): path.stat().st_mtime_ns
            for path in store.root.rglob(f"*{sha256}*")
            if path.is_file()
        }
    assert isinstance(store, S3Store)
    settings = store.settings
    found = (
        boto3.client(
            "s3",
            endpoint_url=settings.endpoint,
            region_name=REGION,
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
        )
        .list_objects_v2(Bucket=settings.bucket, Prefix=settings.prefix)
        .get("Contents", [])
    )
    return {
        item["Key"][len(settings.prefix) :]: (item["LastModified"], item["ETag"])
        for item in found
        if sha256 in item["Key"]
    }


class MediaServer(LiveServer):
    """The real server in its own process, keeping photos in the given store."""

    def __init__(self, db_path: str, backend: Backend) -> None:
        super().__init__(db_path)
        self.backend = backend

    def start(self) -> MediaServer:
        with environment(self.backend.env()):
            super().start()
        return self

    def store(self) -> MediaBackend:
        return self.backend.store(self.db_path)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        yield
