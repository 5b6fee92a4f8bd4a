"""Photos' bytes after the push: sent in chunks to /api/v1/media, resumed from what the server
holds after any cut, never sent again once it holds them whole (docs/sync.md "Photo bytes")."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

import requests

from field_client import photos

# The module, not its names: field_client.sync imports this one while it is being loaded.
from field_client import sync as sync_module
from shared import protocol as p
from shared.errors import ClientTooOld, TianjianError

if TYPE_CHECKING:
    from field_client.sync import SyncClient

# 32 KiB a request. On 2G (about 30 kbit/s each way, 600 ms round trip) one takes some 9 s:
# the round trip and the request's head (kept to what the media API reads) add about a twelfth
# to each, where 16 KiB chunks added a sixth: scripts/bench photos measured 1.29x the
# bytes/bandwidth bound with 16 KiB, 1.16x with 32 KiB (the goal is 1.3x). A cut loses about half the chunk in flight (some 4 s), and bytes resent stay
# near half the share of cut exchanges whatever the size. Far bigger chunks would lose more to
# each cut for little gain; the server takes up to 64 KiB.
CHUNK_BYTES = 32 * 1024
# A server asking to slow down (429) is waited for up to this long, then the rest is left for
# the next sync.
LONGEST_WAIT_S = 60.0


class _Skip(TianjianError):
    """This file cannot go now (the server does not know its record yet, or refused it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def send_waiting(client: SyncClient) -> None:
    """Send every photo whose record the server has and whose bytes it lacks, oldest first;
    the figures go into the sync's report (photos_sent, photo_bytes_sent, photo_bytes_resent)."""
    store = client.store
    for upload in photos.uploadable(store):
        data = photos.read_photo(store, upload.sha256)
        if data is None or len(data) != upload.size_bytes:
            photos.note_upload_error(
                store,
                upload.sha256,
                "本机的照片文件缺失或已损坏 / the photo's file on this device is missing or damaged",
            )
            continue
        try:
            _send_file(client, upload.sha256, data)
        except _Skip as skipped:
            photos.note_upload_error(store, upload.sha256, skipped.reason)


def _send_file(client: SyncClient, sha256: str, data: bytes) -> None:
    store = client.store
    status = _request(client, "GET", sha256)
    if status.get("size") is None:
        raise _Skip(
            "服务器还没有这张照片的记录（可能在等所属的培训），下次同步再传 / the server does "
            "not hold this photo's record yet (it may wait for its session): sent next sync"
        )
    offset = int(status.get("received") or 0)
    refusals = 0
    # However the server answers, a file takes a bounded number of requests.
    tries = 3 * (len(data) // CHUNK_BYTES + 1) + 10
    while not status.get("complete"):
        tries -= 1
        if tries < 0:
            raise _Skip("上传未能完成，下次同步再试 / the upload did not finish: tried next sync")
        chunk = data[offset : offset + CHUNK_BYTES]
        try:
            status = _request(
                client,
                "PUT",
                sha256,
                params={"offset": offset, "size": len(data)},
                data=chunk,
                headers={
                    "Content-Type": "application/octet-stream",
                    "X-Chunk-SHA256": hashlib.sha256(chunk).hexdigest(),
                },
            )
        except _Resume as resume:
            # 409: the server holds another amount (after a cut whose answer was lost it has
            # this chunk already): carry on from there. 422: a chunk spoilt on the way is sent
            # again, a whole the server threw away starts again from 0; a few times at most.
            _count_held(client, resume.received - offset)
            if resume.refused:
                refusals += 1
                if refusals > 2:
                    raise _Skip(resume.reason) from None
            offset = resume.received
            status = {"received": offset, "complete": resume.complete}
            continue
        held = int(status["received"])
        _count_held(client, held - offset)
        offset = held
        photos.note_upload(store, sha256, held, bool(status["complete"]))
        if client.progress is not None:
            client.progress(client.report)
    photos.note_upload(store, sha256, len(data), True)
    client.report.photos_sent += 1


def _count_held(client: SyncClient, more: int) -> None:
    """Bytes the server newly holds: sent, no longer counted as sent in vain. Every chunk put
    on the line counts as resent until the server says it kept it (_request)."""
    if more > 0:
        client.report.photo_bytes_sent += more
        client.report.photo_bytes_resent -= more


class _Resume(TianjianError):
    """A chunk not taken as sent (409, a cut, or a 422: `refused`), after which the server holds
    `received` bytes (and may hold them whole: `complete`): carry on from there."""

    def __init__(
        self, received: int, reason: str, refused: bool = False, complete: bool = False
    ) -> None:
        super().__init__(reason)
        self.received = received
        self.reason = reason
        self.refused = refused
        self.complete = complete


def _request(client: SyncClient, method: str, sha256: str, **kwargs: Any) -> dict[str, Any]:
    """One media request, tried again after cuts and server errors as the sync's own are."""
    url = f"{client.store.get('server_url')}/api/v1/media/{sha256}"
    headers = {**_media_headers(client), **kwargs.pop("headers", {})}
    delay = client.backoff
    failures = 0
    while True:
        client.report.photo_bytes_resent += len(kwargs.get("data") or b"")
        try:
            response = client.http.request(
                method, url, headers=headers, timeout=(5.0, client.timeout), **kwargs
            )
            answer = _answer(response)
            if response.status_code == 200 and not _whole(answer):
                # The answer's head arrived and the line dropped in its body: a cut too.
                raise _Garbled()
        except (*sync_module.TRANSIENT, _Garbled) as exc:
            failures += 1
            client.report.requests += 1
            if method == "PUT":
                # A chunk cut off: ask what the server kept (a round trip) rather than send
                # the chunk blind again (32 KiB, some 9 s on 2G) when it may have it already.
                time.sleep(delay)
                raise _resume_from(_request(client, "GET", sha256), "cut") from exc
            if failures > client.retries:
                raise sync_module.unreachable(
                    client.store.get("server_url") or "", isinstance(exc, requests.Timeout)
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 30)
            continue
        client.report.requests += 1
        client.report.bytes_sent += len(kwargs.get("data") or b"")
        if response.status_code == 200:
            return answer
        if response.status_code == 409 and isinstance(answer.get("received"), int):
            raise _Resume(answer["received"], str(answer.get("message") or ""))
        if response.status_code == 429 or response.status_code >= 500:
            failures += 1
            wait = _retry_after(response, delay)
            if failures > client.retries or wait > LONGEST_WAIT_S:
                raise sync_module.SyncFailed(
                    "服务器繁忙，照片下次同步再传，数据都在本机 / the server is busy: photos are "
                    "sent at the next sync, nothing was lost"
                )
            time.sleep(wait)
            delay = min(delay * 2, 30)
            continue
        if response.status_code == 401:
            raise sync_module.DeviceRevoked(str(answer.get("message") or "401"))
        if response.status_code == 426:
            raise ClientTooOld(str(answer.get("message") or "426"))
        reason = str(answer.get("message") or f"HTTP {response.status_code}")
        if response.status_code == 422 and method == "PUT":
            # A chunk spoilt on the way is sent again from where the server stands; a whole
            # the server threw away starts again from 0 (once: see _send_file).
            raise _resume_from(_request(client, "GET", sha256), reason, refused=True)
        raise _Skip(reason)


def _resume_from(status: dict[str, Any], reason: str, refused: bool = False) -> _Resume:
    return _Resume(int(status.get("received") or 0), reason, refused, bool(status.get("complete")))


def _media_headers(client: SyncClient) -> dict[str, str | None]:
    """Only what the media API reads (a header's bytes cross 2G with every chunk): the token
    and the protocol; requests' own defaults (None) are left out."""
    sync_headers = client.auth_headers()
    return {
        p.HEADER_PROTOCOL: sync_headers[p.HEADER_PROTOCOL],
        "Authorization": sync_headers["Authorization"],
        "User-Agent": None,
        "Accept": None,
        "Accept-Encoding": None,
    }


class _Garbled(TianjianError):
    """A 200 whose body is not the answer the media API gives (cut short on the way)."""


def _whole(answer: dict[str, Any]) -> bool:
    received, complete = answer.get("received"), answer.get("complete")
    return type(received) is int and received >= 0 and isinstance(complete, bool)


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


def _answer(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text[:200]}
    return body if isinstance(body, dict) else {}
