"""The media store the settings choose (TIANJIAN_MEDIA_BACKEND): the folder, a county's
default, or S3-compatible object storage for several app machines."""

from __future__ import annotations

from typing import Any

from server.media.backend import MediaBackend
from server.media.errors import MediaStoreUnavailable
from server.media.store import MediaStore, media_dir

FOLDER, S3 = "folder", "s3"


def media_store(config: Any) -> MediaBackend:
    """The media store the settings choose: TIANJIAN_MEDIA_BACKEND `folder` (the default: the
    folder TIANJIAN_MEDIA_DIR, or beside the database) or `s3` (TIANJIAN_MEDIA_S3_*)."""
    kind = str(config.get("MEDIA_BACKEND") or FOLDER).strip().lower()
    if kind == FOLDER:
        return MediaStore(media_dir(config))
    if kind == S3:
        # Imported here: boto3 takes some 125 ms to import, which a county's server never needs.
        from server.media.s3 import S3Store, s3_settings

        return S3Store(s3_settings(config))
    raise MediaStoreUnavailable(
        f"照片存储设置有误：TIANJIAN_MEDIA_BACKEND 应为 folder 或 s3，而不是“{kind}” / the "
        f"photo store is misconfigured: TIANJIAN_MEDIA_BACKEND must be folder or s3, not {kind!r}",
        {"TIANJIAN_MEDIA_BACKEND": f"{kind!r}"},
    )
