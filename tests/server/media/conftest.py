"""Every media test that stores bytes runs on both stores: the folder and S3 (moto's server,
started once per run on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.media.backends import KINDS, Backend, MotoS3, backend_of


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=KINDS)
def media_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend(media_kind: str, request: pytest.FixtureRequest) -> Backend:
    return backend_of(media_kind, request)
