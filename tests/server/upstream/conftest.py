"""The province fixture for the upstream tests (tests/server/upstream/provinces.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.upstream.provinces import Province, open_province


@pytest.fixture
def province(db_path: str, tmp_path: Path) -> Iterator[Province]:
    yield from open_province(db_path, tmp_path)
