"""What the chunk upload and the photo pages refuse, each with its status and both languages."""

from __future__ import annotations

from shared.errors import TianjianError


class NotYourPhoto(TianjianError):
    """No live photo record of this device's envoy names these bytes (or none at all: the same
    answer, so a device cannot learn what other envoys photographed)."""

    status = 404
    message = (
        "没有本人的照片记录使用这些字节，请先同步照片记录 / no live photo record of this "
        "envoy names this SHA-256: sync the photo record first"
    )


class OffsetMismatch(TianjianError):
    """The chunk does not start where the bytes held end: the device resumes from `received`."""

    status = 409

    def __init__(self, offset: int, received: int) -> None:
        super().__init__(
            f"分块位置不符：服务器已收到 {received} 字节，请从该处续传 / chunk starts at {offset} "
            f"but the server holds {received} bytes: resume from there",
            {"offset": f"应为 {received} / must be {received}"},
        )
        self.received = received
        # Beside the error body's four keys (server/errors.py), where to resume.
        self.extra = {"received": received}


class BadChunk(TianjianError):
    """A chunk or upload the server will not keep: corrupt, too big, or not what was named."""

    status = 422


class ChunkTooLarge(TianjianError):
    status = 413


class TooManyRequests(TianjianError):
    """A device asked more often than MEDIA_REQUESTS_PER_MINUTE allows."""

    status = 429

    def __init__(self, seconds: int) -> None:
        super().__init__(
            f"照片上传请求过于频繁，请 {seconds} 秒后再试 / too many photo-upload requests: "
            f"try again in {seconds} s"
        )
        self.headers = {"Retry-After": str(seconds)}


class PhotoNotFound(TianjianError):
    status = 404
    message = "找不到该照片 / no such photo"


class BytesNotArrived(TianjianError):
    """The record is here but its bytes are not all: shown as such, never as a broken image."""

    status = 404
    message = "照片尚未全部上传 / the photo's bytes have not all arrived yet"
