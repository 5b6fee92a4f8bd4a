"""Photos' bytes in S3-compatible object storage (MinIO on the bureau's own machines), for a
province's several app machines that share no folder; the same names as the media folder.

Uploads under way are kept in the bucket too, one object per chunk, named by the offset it
starts at: `partial/<sha256>/<offset, 12 digits>`. Every app process sees the same upload, so a
device's next chunk may reach any of them (a partial on one machine's disk would be lost to the
others). S3's own multipart upload does not fit: its parts must be at least 5 MB but the last,
where a device sends 16 KiB at a time over 2G, and a part cannot be read back before the upload
completes. When the last chunk arrives the chunks are read in order, the whole is checked
(SHA-256, then shared/photos.py check_image, server/media/chunks.py) and only then put as one
object at `ab/cd/<sha256>.jpg`, and the chunks deleted: the final object never exists
unchecked. Thumbnails are objects at `thumbs/ab/<sha256>-320.jpg`.

Each chunk is written inside the database's write transaction that counts it (one writer at a
time, so two processes never write one upload at once), after a HEAD of the bucket outside it
(`check`), so a store that does not answer fails before the lock is taken. Any failure of the
store (unreachable, bucket missing, refused) is MediaStoreUnavailable, 503: the transaction
rolls back, so nothing is counted as received. Pictures are streamed to the pages through the
server, never by a redirect to the store, so who may see them is checked on every request.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from server.media.backend import (
    SHA256,
    Opened,
    checked,
    final_name,
    thumb_name,
    thumbs_prefix,
)
from server.media.errors import MediaStoreUnavailable

log = logging.getLogger(__name__)
OFFSET_DIGITS = 12
# A store that does not answer fails the request within seconds (the device retries later)
# rather than holding one of the server's few threads.
CONNECT_SECONDS = 3
READ_SECONDS = 30
ATTEMPTS = 2
DELETE_BATCH = 1000
_MISSING = ("NoSuchKey", "404", "NotFound")
NO_BUCKET = (
    "照片存储的存储桶不存在，请告知管理员；本次请求未保存任何内容 / the photo store's bucket "
    "does not exist (tell the administrator): nothing of this request was kept"
)
UNREACHABLE = (
    "无法连接照片存储，本次请求未保存任何内容，请稍后重试 / the photo store cannot be reached: "
    "nothing of this request was kept, try again later"
)


@dataclass(frozen=True)
class S3Settings:
    """Where the objects are: TIANJIAN_MEDIA_S3_* (keys empty: boto3's own environment)."""

    bucket: str
    endpoint: str = ""
    prefix: str = ""
    region: str = "us-east-1"
    access_key_id: str = ""
    # Never in a repr, so never in a log line or an error that prints the settings.
    secret_access_key: str = field(default="", repr=False)


def s3_settings(config: Any) -> S3Settings:
    bucket = str(config.get("MEDIA_S3_BUCKET") or "").strip()
    if not bucket:
        raise MediaStoreUnavailable(
            "照片存储设置有误：使用 S3 时须设置 TIANJIAN_MEDIA_S3_BUCKET / the photo store is "
            "misconfigured: TIANJIAN_MEDIA_S3_BUCKET must be set for the s3 backend",
            {"TIANJIAN_MEDIA_S3_BUCKET": "空 / empty"},
        )
    prefix = str(config.get("MEDIA_S3_PREFIX") or "").strip().strip("/")
    return S3Settings(
        bucket=bucket,
        endpoint=str(config.get("MEDIA_S3_ENDPOINT") or "").strip(),
        prefix=f"{prefix}/" if prefix else "",
        region=str(config.get("MEDIA_S3_REGION") or "us-east-1"),
        access_key_id=str(config.get("MEDIA_S3_ACCESS_KEY_ID") or ""),
        secret_access_key=str(config.get("MEDIA_S3_SECRET_ACCESS_KEY") or ""),
    )


@lru_cache(maxsize=8)
def _client(settings: S3Settings) -> Any:
    """One client per settings in this process (a client is thread-safe and slow to make)."""
    keys = (
        {
            "aws_access_key_id": settings.access_key_id,
            "aws_secret_access_key": settings.secret_access_key,
        }
        if settings.access_key_id
        else {}
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.endpoint or None,
        region_name=settings.region,
        config=Config(
            connect_timeout=CONNECT_SECONDS,
            read_timeout=READ_SECONDS,
            retries={"max_attempts": ATTEMPTS, "mode": "standard"},
            # Checksums only where S3's API asks for them: MinIO and other S3-compatible stores
            # do not all take the newer ones boto3 sends by default.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            # MinIO and most stores on one's own machines name the bucket in the path.
            s3={"addressing_style": "path"},
        ),
        **keys,
    )


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


@dataclass(frozen=True)
class S3Store:
    """The media store in a bucket (server/media/backend.py MediaBackend)."""

    settings: S3Settings

    # -- calls to the store, each failure said the same way ------------------------------

    @contextmanager
    def _answering(self) -> Iterator[None]:
        """Say every failure of the store as MediaStoreUnavailable; a missing key passes."""
        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if _missing(exc):
                raise
            log.error("photo store %s: %s", self.settings.bucket, exc)
            if code == "NoSuchBucket":
                raise MediaStoreUnavailable(NO_BUCKET, {"bucket": "不存在 / missing"}) from exc
            raise MediaStoreUnavailable(
                f"照片存储拒绝了请求（{code}），本次请求未保存任何内容 / the photo store refused "
                f"the request ({code}): nothing of this request was kept"
            ) from exc
        except BotoCoreError as exc:
            log.error("photo store %s: %s", self.settings.endpoint or "S3", exc)
            raise MediaStoreUnavailable(UNREACHABLE) from exc

    def _call(self, operation: str, **arguments: Any) -> Any:
        with self._answering():
            return getattr(_client(self.settings), operation)(
                Bucket=self.settings.bucket, **arguments
            )

    def _key(self, name: str) -> str:
        return self.settings.prefix + name

    def _get(self, key: str) -> Opened | None:
        try:
            found = self._call("get_object", Key=key)
        except ClientError:
            return None
        return Opened(_Body(found["Body"], self), int(found["ContentLength"]))

    def _put(self, key: str, data: bytes) -> None:
        self._call("put_object", Key=key, Body=data)

    def _delete(self, keys: list[str]) -> None:
        """Delete these keys, up to S3's 1,000 a request (absent ones are no error)."""
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            answer = self._call(
                "delete_objects",
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
            if answer.get("Errors"):
                log.error("photo store %s: %s", self.settings.bucket, answer["Errors"][:3])
                raise MediaStoreUnavailable(
                    "照片存储未能删除部分对象 / the photo store did not delete some objects"
                )

    def _listed(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every object whose name starts with the prefix (keys as stored, prefix included)."""
        paginator = _client(self.settings).get_paginator("list_objects_v2")
        with self._answering():
            for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=self._key(prefix)):
                yield from page.get("Contents", [])

    # -- whole pictures -------------------------------------------------------------------

    def check(self) -> None:
        try:
            self._call("head_bucket")
        except ClientError as exc:
            # HEAD answers a missing bucket with a bare 404.
            raise MediaStoreUnavailable(NO_BUCKET, {"bucket": "不存在 / missing"}) from exc

    def has(self, sha256: str) -> bool:
        # A listing, not HEAD: a missing bucket answers HEAD with a bare 404, as if the
        # picture were missing; a listing names it.
        key = self._key(final_name(sha256))
        found = self._call("list_objects_v2", Prefix=key, MaxKeys=1)
        return any(item["Key"] == key for item in found.get("Contents", []))

    def open(self, sha256: str) -> Opened | None:
        return self._get(self._key(final_name(sha256)))

    @contextmanager
    def local_file(self, sha256: str) -> Iterator[Path]:
        opened = self._get(self._key(final_name(sha256)))
        if opened is None:
            raise FileNotFoundError(final_name(sha256))
        handle, temporary = tempfile.mkstemp(suffix=".jpg")
        try:
            with os.fdopen(handle, "wb") as out:
                for block in opened.blocks():
                    out.write(block)
            yield Path(temporary)
        finally:
            opened.close()
            Path(temporary).unlink(missing_ok=True)

    def remove(self, sha256: str) -> None:
        thumbs = [item["Key"] for item in self._listed(thumbs_prefix(sha256))]
        self._delete([self._key(final_name(sha256)), *thumbs])

    # -- uploads under way: one object per chunk --------------------------------------------

    def _chunks(self, sha256: str) -> list[tuple[int, str, int, float]]:
        """(offset, key, size, written) of each chunk object held, by offset."""
        found = []
        for item in self._listed(f"partial/{checked(sha256)}/"):
            offset = item["Key"].rsplit("/", 1)[-1]
            if offset.isdigit():
                found.append(
                    (int(offset), item["Key"], int(item["Size"]), item["LastModified"].timestamp())
                )
        return sorted(found)

    def _chunk_name(self, sha256: str, offset: int) -> str:
        return f"partial/{checked(sha256)}/{offset:0{OFFSET_DIGITS}d}"

    def append(self, sha256: str, offset: int, chunk: bytes) -> None:
        held = self._chunks(sha256)
        self._delete([key for start, key, _, _ in held if start >= offset])
        for start, key, size, _ in held:
            if start < offset < start + size:
                # A chunk running past where the upload resumes keeps only its head.
                opened = self._get(key)
                head = opened.stream.read(offset - start) if opened else b""
                self._put(key, head)
        self._put(self._key(self._chunk_name(sha256, offset)), chunk)

    def partial_size(self, sha256: str) -> int:
        held = 0
        for start, _, size, _ in self._chunks(sha256):
            if start != held:
                break
            held += size
        return held

    def has_partial(self, sha256: str) -> bool:
        return bool(self._chunks(sha256))

    def partial_bytes(self, sha256: str, size: int) -> bytes:
        parts, held = [], 0
        for start, key, _size, _ in self._chunks(sha256):
            if start != held or held >= size:
                break
            opened = self._get(key)
            if opened is None:
                break
            data = opened.stream.read()
            opened.close()
            parts.append(data)
            held += len(data)
        return b"".join(parts)[:size]

    def promote(self, sha256: str, whole: bytes) -> None:
        self._put(self._key(final_name(sha256)), whole)
        self.discard(sha256)

    def discard(self, sha256: str) -> None:
        self._delete([key for _, key, _, _ in self._chunks(sha256)])

    def partial_touched(self, sha256: str) -> float | None:
        chunks = self._chunks(sha256)
        return max(written for *_, written in chunks) if chunks else None

    def partials(self) -> Iterator[tuple[str, float]]:
        latest: dict[str, float] = {}
        for item in self._listed("partial/"):
            parts = item["Key"][len(self.settings.prefix) :].split("/")
            if len(parts) == 3 and SHA256.fullmatch(parts[1]):
                written = item["LastModified"].timestamp()
                latest[parts[1]] = max(written, latest.get(parts[1], written))
        yield from latest.items()

    # -- thumbnails ---------------------------------------------------------------------------

    def open_thumb(self, sha256: str, pixels: int) -> Opened | None:
        return self._get(self._key(thumb_name(sha256, pixels)))

    def put_thumb(self, sha256: str, pixels: int, data: bytes) -> None:
        # One PUT: an object is seen whole or not at all.
        self._put(self._key(thumb_name(sha256, pixels)), data)


class _Body:
    """An object's bytes as they arrive, a store failing midway said like any other failure."""

    def __init__(self, body: Any, store: S3Store) -> None:
        self._body, self._store = body, store

    def read(self, size: int = -1, /) -> bytes:
        with self._store._answering():
            return bytes(self._body.read(None if size < 0 else size))

    def close(self) -> None:
        self._body.close()
