"""The device half of sync: push the outbox in gzip'd batches, then pull pages after the cursor."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3

from field_client import holdings, media_upload, phones, push_body
from field_client.store import FieldStore
from shared import protocol as p
from shared.errors import ClientTooOld, TianjianError
from shared.gc_tuning import fewer_collections

# An outbox change read by column name: a sqlite3.Row from the store, or a plain dict.
# sqlite3.Row read by column name (FieldStore.pending), or a dict in tests.
Entry = Any

DONE_STATUSES = {p.APPLIED, p.DUPLICATE, p.MERGED, p.HELD}
MIN_BATCH_BYTES = 16 * 1024
# zlib levels: the smallest body for a slow link, where bytes cost more than the device's
# time; a level three times quicker for about 3% more bytes once the link has shown it is fast.
SLOW_LINK_LEVEL = push_body.SLOW_LINK_LEVEL
FAST_LINK_LEVEL = 6
FAST_LINK_BYTES_PER_S = 256 * 1024
# How full to aim a batch, judged from the last one: a little under the cap, so a batch
# seldom has to be compressed twice.
BATCH_FILL = 0.92
# The first batch of a run is small: the server starts on it at once while the device
# compresses the next, and its size once compressed tells how many changes the next can hold.
FIRST_BATCH_CHANGES = 500
# What a dropped or stalled link looks like from here: worth another try.
TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


# A server that does not answer at all (refused, no such host, no route): one more try, not
# four over eight seconds; a link that answers and drops keeps the full retries.
UNREACHABLE_TRIES = 2
# How long to wait for a connection to open, as against for an answer to arrive.
CONNECT_TIMEOUT = 5.0


def never_connected(exc: Exception) -> bool:
    """The request never reached the server: refused, unresolvable, no route, connect timeout."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(
        reason,
        urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError,
    )


def unreachable(server_url: str, timed_out: bool = False) -> SyncFailed:
    """The one line an envoy out of signal reads (no library's exception text)."""
    why = "服务器没有应答" if timed_out else "无法连接服务器"
    why_en = "the server did not answer" if timed_out else "cannot reach the server"
    return SyncFailed(
        f"{why}（{server_url}）：数据都在本机，没有丢失，有信号时再同步 / "
        f"{why_en} ({server_url}): nothing was lost, sync again when in signal",
        timed_out=timed_out,
    )


class SyncFailed(TianjianError):
    """The server could not be reached or kept failing; everything unsent is still in the outbox."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class DeviceRevoked(TianjianError):
    """The server no longer accepts this device's token."""


@dataclass
class SyncReport:
    pushed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    pulled: int = 0
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    full_resync: bool = False
    photos_sent: int = 0
    photo_bytes_sent: int = 0
    photo_bytes_resent: int = 0

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class SyncClient:
    def __init__(
        self,
        store: FieldStore,
        session: requests.Session | None = None,
        batch_changes: int = p.DEFAULT_BATCH_CHANGES,
        batch_bytes: int = p.DEFAULT_BATCH_BYTES,
        page_size: int = p.DEFAULT_PULL_PAGE,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.5,
        compression_level: int | None = None,
        progress: Callable[[SyncReport], None] | None = None,
    ) -> None:
        self.store = store
        # Told the figures so far after each batch settled and each page applied.
        self.progress = progress
        self.http = session or requests.Session()
        self.batch_changes = batch_changes
        self.batch_bytes = batch_bytes
        self.page_size = page_size
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        # None: choose by how fast the link turns out to be.
        self.compression_level = compression_level
        self.report = SyncReport()
        self._fast_link = False
        # How many changes the next batch should hold to come close to batch_bytes.
        self._batch_fits: int | None = None
        # The server clock's offset from ours, learnt from each answer of a sync.
        self._offset: int | None = None
        # What this device holds, kept in step during a push (field_client/holdings.py), and
        # the report sent with requests that do not carry their own.
        self._tally: holdings.Tally | None = None
        self._counted = False
        self._report = ""
        # What the server said it understands, from its latest answer in this run.
        self._server_capabilities: str | None = None

    # ------------------------------------------------------------ transport

    def auth_headers(self) -> dict[str, str]:
        """What every request of this run carries: protocol, capabilities, device token."""
        return self._headers()

    def _headers(self) -> dict[str, str]:
        headers = {
            p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION),
            p.HEADER_CAPABILITIES: ",".join(p.CAPABILITIES),
            p.HEADER_DEVICE_TIME: str(self.store.device_clock()),
            "Authorization": f"Bearer {self._token}",
            "Accept-Encoding": "gzip",
        }
        if self._report:
            headers[p.HEADER_DEVICE_REPORT] = self._report
        return headers

    def _send(
        self, method: str, path: str, extra_headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """One request; connection failures and 5xx are retried with backoff, then raised."""
        # No database access from here on: a push request runs on the sender thread.
        url = f"{self._server_url}{path}"
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                sent_at = self.store.device_clock()
                response = self.http.request(
                    method,
                    url,
                    headers={**self._headers(), **(extra_headers or {})},
                    timeout=(min(CONNECT_TIMEOUT, self.timeout), self.timeout),
                    **kwargs,
                )
                if response.status_code == 200 and not response.content:
                    raise requests.ConnectionError("only the status line arrived: a cut")
                self.report.requests += 1
                self.report.bytes_sent += len(kwargs.get("data") or b"")
                self.report.bytes_received += int(
                    response.headers.get("Content-Length") or len(response.content)
                )
            except TRANSIENT as exc:
                self.report.requests += 1
                # On a link that drops, a smaller batch loses less when it is cut: the rest of
                # this run sends batches half the size, down to a floor.
                self.batch_bytes = max(MIN_BATCH_BYTES, self.batch_bytes // 2)
                last = attempt == self.retries or (
                    never_connected(exc) and attempt + 1 >= UNREACHABLE_TRIES
                )
                if last:
                    timed_out = isinstance(exc, requests.Timeout)
                    raise unreachable(self._server_url or "", timed_out) from exc
                time.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            if response.status_code >= 500 and attempt < self.retries:
                time.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            self._check(response)
            self._learn_clock(response, sent_at)
            said = response.headers.get(p.HEADER_CAPABILITIES)
            if said is not None:
                self._server_capabilities = said
            return response
        raise SyncFailed(
            "服务器持续出错，数据都在本机待发 / the server kept failing; nothing was lost"
        )

    def _check(self, response: requests.Response) -> None:
        if response.status_code < 400 or response.status_code == 413:
            return
        message = _message(response)
        if response.status_code == 426:
            raise ClientTooOld(message)
        if response.status_code == 401:
            raise DeviceRevoked(message)
        raise SyncFailed(f"HTTP {response.status_code}: {message}")

    def _learn_clock(self, response: requests.Response, sent_at: int) -> None:
        server_time = response.headers.get(p.HEADER_SERVER_TIME)
        if server_time and server_time.isdigit():
            # Offset from the midpoint of the round trip: good to a fraction of the link delay.
            midpoint = (sent_at + self.store.device_clock()) // 2
            self._offset = int(server_time) - midpoint

    # ------------------------------------------------------------ sync

    def sync(self) -> SyncReport:
        self.store.identity()
        self._offset = None
        self._server_url = self.store.get("server_url")
        self._token = self.store.get("token")
        with fewer_collections():
            refused = phones.fields_server_refuses(self.store.get(phones.SERVER_CAPABILITIES))
            if any(self.store.unsent_with(p.ATTENDANCE, name) for name in refused):
                # Not heard from this server since check-ins carried a field it did not take:
                # learn whether it takes it now before sending (an older one would refuse it).
                self.pull()
            self.push()
            self.pull()
            # Bytes after records: the server takes a photo's bytes once it holds its record.
            media_upload.send_waiting(self)
        return self.report

    def _takes_phone(self) -> bool:
        said = self._server_capabilities or self.store.get(phones.SERVER_CAPABILITIES)
        return phones.server_takes_phone(said)

    def _refused_fields(self) -> tuple[str, ...]:
        """Later-added check-in fields the server has not said it takes (all, unheard)."""
        said = self._server_capabilities or self.store.get(phones.SERVER_CAPABILITIES)
        return phones.fields_server_refuses(said)

    def _remember_capabilities(self) -> None:
        said = self._server_capabilities
        if said is not None and said != self.store.get(phones.SERVER_CAPABILITIES):
            with self.store.transaction():
                self.store.set(phones.SERVER_CAPABILITIES, said)

    def push(self) -> None:
        """Send the outbox, preparing and settling batches while the server applies the next.

        Requests go out one at a time, in order, from a sender thread; meanwhile this thread
        settles the batch just answered and compresses the one after, so on a fast link the
        device's work hides behind the server's instead of adding to it. One at a time keeps a
        device's changes arriving in the order it made them: an edit never lands before the
        record it edits, even when a request is cut and sent again.
        """
        # Counted when the first batch is made: an empty outbox sends nothing to report with.
        self._tally = None
        self._counted = False
        self._report = ""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="push") as sender:
            batch = self._next_batch(after_seq=0)
            in_flight = sender.submit(self._post_push, batch[1], batch[2]) if batch else None
            while batch is not None and in_flight is not None:
                entries = batch[0]
                upcoming = self._next_batch(after_seq=entries[-1]["seq"])
                response = self._answer_of(entries, in_flight.result)
                in_flight = None
                if upcoming is not None:
                    in_flight = sender.submit(self._post_push, upcoming[1], upcoming[2])
                if response is not None:
                    self._settle(response.json())
                if upcoming is None:
                    # Changes renumbered along the way sort after everything sent: look again.
                    upcoming = self._next_batch(after_seq=0)
                    if upcoming is not None:
                        in_flight = sender.submit(self._post_push, upcoming[1], upcoming[2])
                batch = upcoming

    def _next_batch(self, after_seq: int) -> tuple[list[Entry], bytes, str] | None:
        """The next unsent changes after `after_seq`, as many as fit the caps, with their body
        and the report to send with them: what the device holds once they are applied."""
        entries = self.store.pending(
            min(self.batch_changes, self._batch_fits or FIRST_BATCH_CHANGES), after_seq
        )
        if not entries:
            return None
        changes = push_body.changes_text(entries, self._refused_fields())
        level = self._level()
        while True:
            half = len(entries) // 2
            body, first = push_body.gzip_halves(changes, half, level)
            if len(body) <= self.batch_bytes or first is None:
                break
            entries, changes = entries[:half], changes[:half]
            if len(first) <= self.batch_bytes:
                body = first
                break
        self._batch_fits = max(1, int(len(entries) * self.batch_bytes * BATCH_FILL / len(body)))
        if not self._counted:
            self._tally = holdings.count_before_push(self.store)
            self._counted = True
        if self._tally is not None:
            self._tally.sent(entries)
            self._report = self._tally.report().encode()
        return entries, body, self._report

    def _level(self) -> int:
        if self.compression_level is not None:
            return self.compression_level
        return FAST_LINK_LEVEL if self._fast_link else SLOW_LINK_LEVEL

    def _post_push(self, body: bytes, report: str) -> requests.Response:
        started = time.perf_counter()
        response = self._send(
            "POST",
            "/api/v1/sync/push",
            data=body,
            extra_headers={
                "Content-Encoding": "gzip",
                "Content-Type": "application/json",
                **({p.HEADER_DEVICE_REPORT: report} if report else {}),
            },
        )
        # Judged on big bodies only: a small one says more about the round trip than the link.
        if len(body) >= MIN_BATCH_BYTES:
            seconds = max(time.perf_counter() - started, 1e-6)
            self._fast_link = len(body) / seconds >= FAST_LINK_BYTES_PER_S
        return response

    def _answer_of(
        self, entries: Sequence[Entry], wait: Callable[[], requests.Response]
    ) -> requests.Response | None:
        """The server's answer to a batch, or None when it had to be sent again in halves."""
        try:
            response = wait()
        except SyncFailed as exc:
            if len(entries) == 1 or not exc.timed_out:
                raise
            # A big batch that keeps timing out on a slow link may pass in smaller pieces.
            self._push_halves(entries)
            return None
        if response.status_code != 413:
            return response
        if len(entries) == 1:
            reason = "变更太大，服务器拒收 / change too large for the server"
            self.store.settle([], [{"q": entries[0]["seq"], "r": reason}])
        else:
            self._push_halves(entries)
        return None

    def _push_batch(self, entries: Sequence[Entry], body: bytes) -> None:
        response = self._answer_of(entries, lambda: self._post_push(body, self._report))
        if response is not None:
            self._settle(response.json())

    def _push_halves(self, entries: Sequence[Entry]) -> None:
        half = len(entries) // 2
        for part in (entries[:half], entries[half:]):
            self._push_batch(part, push_body.encode(part, self._level(), self._refused_fields()))

    def _settle(self, answer: dict[str, Any]) -> None:
        done = [seq for first, last in answer["applied"] for seq in range(first, last + 1)]
        rejected, reused = [], []
        statuses = self.report.statuses
        statuses[p.APPLIED] = statuses.get(p.APPLIED, 0) + len(done)
        for item in answer["answers"]:
            statuses[item["s"]] = statuses.get(item["s"], 0) + 1
            if item["s"] in DONE_STATUSES:
                done.append(item["q"])
            elif item["s"] == p.REJECTED:
                rejected.append(item)
            elif item["s"] == p.SEQ_REUSED:
                reused.append(item["q"])
        self.store.settle(done, rejected)
        if rejected and self._tally is not None:
            # A refused new record leaves the replica for the rejected list: count both again.
            holdings.recount_kept(self.store, self._tally)
        self._remember_capabilities()
        self.report.pushed += len(done) + len(rejected)
        self.store.observe_server(answer.get("server_hlc"), self._offset)
        if reused:
            self.store.renumber(reused, answer["device_max_seq"])
        self.store.note_server_high_water(answer["device_max_seq"])
        if self.progress is not None:
            self.progress(self.report)

    def pull(self) -> None:
        # What the device holds: counted again only after a page of its envoy's records.
        tally: holdings.Tally | None = None
        envoy_id = self.store.get("envoy_id")
        while True:
            include_own = self.store.get("resync_own") == "1"
            cursor = int(self.store.get("cursor", "0") or 0)
            if tally is None:
                tally = holdings.count(self.store)
            tally.cursor = cursor
            self._report = tally.report().encode()
            response = self._send(
                "GET",
                "/api/v1/sync/pull",
                # A device enrolled before posters were signed asks for its key.
                extra_headers=(
                    None if self.store.get("checkin_key") else {p.HEADER_WANT_CHECKIN_KEY: "1"}
                ),
                params={
                    "cursor": cursor,
                    "limit": self.page_size,
                    "include_own": str(include_own).lower(),
                },
            )
            page = response.json()
            self._remember_capabilities()
            if page["full_resync"]:
                self.report.full_resync = True
                self.store.start_full_resync()
                tally = None
                continue
            self.store.apply_pull(page["records"], page["cursor"], page.get("mobile_key"))
            if holdings.brings_own(page["records"], envoy_id):
                holdings.recount_kept(self.store, tally)
            if page.get("checkin_key") and not self.store.get("checkin_key"):
                with self.store.transaction():
                    self.store.set("checkin_key", page["checkin_key"])
            self.report.pulled += len(page["records"])
            if self.progress is not None:
                self.progress(self.report)
            self.store.observe_server(page.get("server_hlc"), self._offset)
            if self.store.note_server_high_water(page["device_max_seq"]):
                # Restored from an old copy: fetch our own records back too.
                self.report.full_resync = True
                self.store.start_full_resync()
                tally = None
                continue
            if not page["more"]:
                if "held" in page:
                    self.store.note_held(page["held"], page.get("held_count", len(page["held"])))
                if include_own:
                    self.store.set("resync_own", 0)
                    self.store.db.conn.commit()
                return


def enrol(
    store: FieldStore,
    server_url: str,
    code: str,
    device_name: str,
    timeout: float = 30,
    session: requests.Session | None = None,
) -> dict[str, Any]:
    """Trade a one-time code for this device's token and remember the server."""
    sent_at = store.device_clock()
    try:
        response = (session or requests.Session()).post(
            f"{server_url.rstrip('/')}/api/v1/enrolments",
            json={"code": code, "device_name": device_name},
            headers={p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)},
            timeout=timeout,
        )
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise unreachable(server_url, isinstance(exc, requests.Timeout)) from exc
    if response.status_code == 426:
        raise ClientTooOld(_message(response))
    if response.status_code != 201:
        raise SyncFailed(_message(response))
    answer = response.json()
    server_time = int(response.headers.get(p.HEADER_SERVER_TIME, "0") or 0)
    offset = server_time - (sent_at + store.device_clock()) // 2 if server_time else 0
    store.save_enrolment(server_url, answer, offset)
    with store.transaction():
        if answer.get("checkin_key"):
            store.set("checkin_key", answer["checkin_key"])
        if p.HEADER_CAPABILITIES in response.headers:
            store.set(phones.SERVER_CAPABILITIES, response.headers[p.HEADER_CAPABILITIES])
    return answer


def _message(response: requests.Response) -> str:
    try:
        return str(response.json().get("message") or response.text[:200])
    except ValueError:
        return response.text[:200] or f"HTTP {response.status_code}"
