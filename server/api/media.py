"""Photo bytes from field devices: ask what the server holds of a picture, send the rest in
chunks (server/media/chunks.py); only for pictures the device's envoy's photo records name."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from server.api.protocol import DEVICE_TOKEN, Blueprint, add_protocol_headers, authenticate_device
from server.media.chunks import MAX_CHUNK_BYTES, Chunk, media_status, receive_chunk
from server.media.errors import ChunkTooLarge, PhotoNotFound
from server.media.limits import PerDevice
from server.media.store import SHA256, MediaStore, media_dir
from server.quality.photo_hashes import hash_if_missing
from server.store.db import get_db

blp = Blueprint("media_upload", __name__, description="照片上传 / Photo bytes, sent in chunks")
CHUNK_HEADER = "X-Chunk-SHA256"
SHA256_PATTERN = f"^{SHA256.pattern}$"
_limits = PerDevice()


def _authenticate_and_count() -> None:
    authenticate_device()
    _limits.take(g.device.id, int(current_app.config["MEDIA_REQUESTS_PER_MINUTE"]))


blp.before_request(_authenticate_and_count)
blp.after_request(add_protocol_headers)

SHA256_PARAMETER = {
    "in": "path",
    "name": "sha256",
    "required": True,
    "schema": {"type": "string", "pattern": SHA256_PATTERN},
    "description": "照片字节的 SHA-256（64位小写十六进制）/ the picture's SHA-256, 64 lowercase hex",
}


class MediaStatusSchema(Schema):
    sha256 = fields.String(required=True)
    size = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "照片记录所写的字节数；未知为 null / the photo record's size"},
    )
    received = fields.Integer(
        required=True, metadata={"description": "服务器已收到的字节 / bytes held, 0 when unknown"}
    )
    complete = fields.Boolean(
        required=True, metadata={"description": "已全部收到并检查 / all arrived and checked"}
    )


class ChunkAnswerSchema(Schema):
    received = fields.Integer(required=True)
    complete = fields.Boolean(required=True)


class ChunkQuerySchema(Schema):
    offset = fields.Integer(
        required=True,
        validate=validate.Range(0, 2**40),
        metadata={"description": "本块在照片中的起始字节 / where this chunk starts"},
    )
    size = fields.Integer(
        required=True,
        validate=validate.Range(1, 2**40),
        metadata={"description": "照片的总字节数 / the whole picture's size"},
    )


class ChunkHeaderSchema(Schema):
    chunk_sha256 = fields.String(
        required=True,
        data_key=CHUNK_HEADER,
        validate=validate.Regexp(SHA256_PATTERN),
        metadata={"description": "本块字节的 SHA-256 / SHA-256 of this chunk's bytes"},
    )


class OffsetMismatchSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    errors = fields.Dict()
    received = fields.Integer(
        required=True, metadata={"description": "从此处续传 / resume from here"}
    )


def _sha(sha256: str) -> str:
    if not SHA256.fullmatch(sha256):
        raise PhotoNotFound(
            "不是 SHA-256（64位小写十六进制）/ not a SHA-256 (64 lowercase hex digits)",
            {"sha256": "格式不符 / malformed"},
        )
    return sha256


def _store() -> MediaStore:
    return MediaStore(media_dir(current_app.config))


@blp.route("/<sha256>", parameters=[SHA256_PARAMETER])
class Media(MethodView):
    @blp.doc(security=[{DEVICE_TOKEN: []}])
    @blp.response(200, MediaStatusSchema)
    def get(self, sha256: str) -> dict[str, Any]:
        """What the server holds of a picture this device's envoy's photos name (received 0
        when none does, or nothing has arrived): resume sending from `received`."""
        found = media_status(get_db(), _store(), g.device.envoy_id, _sha(sha256))
        return {
            "sha256": found.sha256,
            "size": found.size,
            "received": found.received,
            "complete": found.complete,
        }

    @blp.doc(
        security=[{DEVICE_TOKEN: []}],
        requestBody={
            "required": True,
            "description": f"一块照片字节，至多 {MAX_CHUNK_BYTES} 字节 / one chunk of the "
            f"picture, at most {MAX_CHUNK_BYTES} bytes, starting at `offset`",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
    )
    @blp.arguments(ChunkQuerySchema, location="query", as_kwargs=True)
    @blp.arguments(ChunkHeaderSchema, location="headers", as_kwargs=True)
    @blp.response(200, ChunkAnswerSchema)
    @blp.alt_response(409, schema=OffsetMismatchSchema, description="offset is not `received`")
    def put(self, sha256: str, offset: int, size: int, chunk_sha256: str) -> dict[str, Any]:
        """Keep one chunk at `offset` of a picture of `size` bytes. 409 with `received` when
        the server holds a different amount (resume from there); 422 for a corrupt chunk, a
        size over the cap, or a whole that does not match its SHA-256 or is not an image (then
        thrown away); already whole, answered complete without storing again."""
        declared = request.content_length
        if declared is not None and declared > MAX_CHUNK_BYTES:
            raise ChunkTooLarge(
                f"分块太大（最多 {MAX_CHUNK_BYTES} 字节）/ chunk too large (at most "
                f"{MAX_CHUNK_BYTES} bytes)"
            )
        data = request.stream.read(MAX_CHUNK_BYTES + 1)
        chunk = Chunk(_sha(sha256), offset, size, data, chunk_sha256)
        store = _store()
        held = receive_chunk(
            get_db(),
            store,
            g.device.envoy_id,
            chunk,
            int(current_app.config["MAX_PHOTO_BYTES"]),
        )
        if held.complete:
            # The picture's perceptual hash, once, for the reused-photo flag.
            hash_if_missing(get_db(), chunk.sha256, str(store.final_path(chunk.sha256)))
        return {"received": held.received, "complete": held.complete}
