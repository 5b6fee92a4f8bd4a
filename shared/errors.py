"""One exception tree for everything this project refuses on purpose, with status and message."""

from __future__ import annotations

from collections.abc import Mapping


class TianjianError(Exception):
    """Base of every error this project raises on purpose.

    Each carries the HTTP status it answers with and a message for people, Chinese first then
    English ("中文 / English"). Raise it with that message, or set `status` and `message` on a
    subclass for a fixed one. `errors` maps field or header names to reasons (HTTP 400/422
    bodies carry it). The API, the pages and both command lines turn it into a user message in
    one place each; no traceback reaches a user.
    """

    status: int = 400
    message: str = "请求无法完成 / the request cannot be completed"

    def __init__(
        self, message: str | None = None, errors: Mapping[str, object] | None = None
    ) -> None:
        if message is not None:
            self.message = message
        self.errors: dict[str, object] = dict(errors or {})
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class InvalidMobile(TianjianError, ValueError):
    """The text cannot be a mainland China mobile number."""

    status = 422


class InvalidRecord(TianjianError, ValueError):
    """A record failed validation; `errors` maps field names to reasons."""

    status = 422

    def __init__(self, kind: str, errors: Mapping[str, object]) -> None:
        from shared.marshmallow_zh import bilingual, one_line

        self.kind = kind
        # marshmallow's own English messages get their Chinese here, on either side.
        errors = bilingual(dict(errors))
        super().__init__(f"记录无效 / invalid {kind}: {one_line(errors)}", errors)


class ProtocolError(TianjianError):
    """The other side spoke a protocol this side cannot follow."""


class ClientTooOld(ProtocolError):
    """The client's protocol version is older than the server accepts."""

    status = 426


class PhotoRefused(TianjianError, ValueError):
    """A file given as a photo cannot be taken (shared/photos.py); each subclass says why."""

    status = 422
    message = "无法接收此照片 / this photo cannot be taken"


class PhotoTooLarge(PhotoRefused):
    """The file is bigger than a photo may be."""

    status = 413


class NotAnImage(PhotoRefused):
    """The file is not a JPEG, PNG or WebP image (a PDF named .jpg, a text file, nothing)."""

    message = (
        "文件不是照片（只收 JPEG、PNG、WebP 图片） / "
        "the file is not a photo (only JPEG, PNG and WebP images are taken)"
    )


class ImageDamaged(PhotoRefused):
    """The image is cut short or corrupt."""

    message = (
        "照片文件不完整或已损坏，请重新拍摄或复制 / "
        "the photo file is cut short or damaged: take or copy it again"
    )


class ImageBomb(PhotoRefused):
    """The image claims more pixels than Pillow's own limit (a decompression bomb)."""

    status = 413
