"""Where the folder store keeps photos: beside a SQLite file, or where the setting says; a
database on PostgreSQL has no folder beside it, so there the setting is required."""

from __future__ import annotations

import pytest

from server.media.errors import MediaStoreUnavailable
from server.media.store import media_dir


def test_beside_a_sqlite_file() -> None:
    assert str(media_dir({"DATABASE": "/srv/tianjian.db"})) == "/srv/tianjian-media"


def test_a_postgresql_database_needs_the_folder_named() -> None:
    url = "postgresql://tianjian@db.example/province"
    with pytest.raises(MediaStoreUnavailable) as raised:
        media_dir({"DATABASE": url})
    assert "TIANJIAN_MEDIA_DIR" in str(raised.value) and "须设置" in str(raised.value)
    assert str(media_dir({"DATABASE": url, "MEDIA_DIR": "/shared/photos"})) == "/shared/photos"
