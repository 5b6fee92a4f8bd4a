"""A loopback TCP proxy that counts bytes and can shape them like a poor 2G link."""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
import time
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"
# Small reads when shaping, so a chunk never hogs the link for long and cuts land mid-transfer.
SHAPED_CHUNK = 512
PLAIN_CHUNK = 256 * 1024
# In-flight chunks per direction before we stop reading: the sender then feels backpressure
# instead of the proxy soaking up its whole body at loopback speed.
QUEUE_CHUNKS = 8


@dataclass
class Shape:
    """A link: bytes per second each way (None = unlimited), added round trip, cut chance."""

    rate_bps: float | None = None
    rtt_s: float = 0.0
    drop: float = 0.0
    seed: int = 1


@dataclass
class Counters:
    up: int = 0
    down: int = 0
    connections: int = 0
    exchanges: int = 0
    cuts: int = 0
    cut_log: list[str] = field(default_factory=list)

    def snapshot(self) -> dict[str, int]:
        return {
            "up": self.up,
            "down": self.down,
            "connections": self.connections,
            "exchanges": self.exchanges,
            "cuts": self.cuts,
        }


class _Direction:
    """One direction of the link, shared by every connection: serialisation is per link."""

    def __init__(self, rate: float | None, delay: float) -> None:
        self.rate = rate
        self.delay = delay
        self.free_at = 0.0

    def schedule(self, now: float, size: int) -> float:
        if self.rate is None:
            return now + self.delay
        start = max(now, self.free_at)
        self.free_at = start + size / self.rate
        return self.free_at + self.delay


class _Conn:
    """One proxied connection; it knows where each HTTP exchange starts so it can cut one."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.writers: list[asyncio.StreamWriter] = []
        self.awaiting_request = True
        self.cut_at: tuple[str, int] | None = None
        self.sent = {"up": 0, "down": 0}
        self.closed = False

    def on_up(self) -> None:
        if self.awaiting_request:
            # Client bytes after an answer (or on a new connection): a new request begins.
            self.awaiting_request = False
            self.proxy.counters.exchanges += 1
            self.sent = {"up": 0, "down": 0}
            self.cut_at = self.proxy.draw_cut()

    def on_down(self) -> None:
        self.awaiting_request = True

    def cut(self) -> None:
        if self.closed:
            return
        self.closed = True
        for writer in self.writers:
            writer.transport.abort()


class Proxy:
    """Forwards 127.0.0.1:port to a target; counts payload bytes each way at the socket."""

    def __init__(self, target_port: int, shape: Shape | None = None, port: int = 0) -> None:
        self.target_port = target_port
        self.shape = shape or Shape()
        self.port = port
        self.counters = Counters()
        self._rng = random.Random(self.shape.seed)
        self._links: dict[str, _Direction] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ cuts

    def draw_cut(self) -> tuple[str, int] | None:
        """Decide, per exchange, whether and where this link drops the connection."""
        if self.shape.drop <= 0 or self._rng.random() >= self.shape.drop:
            return None
        if self._rng.random() < 0.5:
            # Mid-request, or — if the request is shorter — just as the answer starts, which is
            # the nasty case: the server may have committed and the device never hears of it.
            return ("up", self._rng.randint(1, 16 * 1024))
        return ("down", self._rng.randint(1, 400))

    # ------------------------------------------------------------ forwarding

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.counters.connections += 1
        conn = _Conn(self)
        try:
            server_r, server_w = await asyncio.open_connection(LOOPBACK, self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        conn.writers = [client_w, server_w]
        try:
            await asyncio.gather(
                self._pump(conn, client_r, server_w, "up"),
                self._pump(conn, server_r, client_w, "down"),
                return_exceptions=True,
            )
        except asyncio.CancelledError:
            # The proxy is stopping: end this connection quietly rather than log a traceback.
            conn.cut()
            return
        for writer in conn.writers:
            writer.close()

    async def _pump(
        self, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, way: str
    ) -> None:
        loop = asyncio.get_running_loop()
        link = self._links[way]
        shaped = self.shape.rate_bps is not None or self.shape.rtt_s > 0
        chunk = SHAPED_CHUNK if shaped else PLAIN_CHUNK
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(QUEUE_CHUNKS)

        async def receive() -> None:
            try:
                while True:
                    data = await reader.read(chunk)
                    if not data:
                        break
                    await queue.put((link.schedule(loop.time(), len(data)), data))
            except (ConnectionError, OSError):
                pass
            await queue.put(None)

        async def deliver() -> None:
            while (item := await queue.get()) is not None:
                due, data = item
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if conn.closed:
                    return
                if way == "up":
                    conn.on_up()
                if conn.cut_at and conn.cut_at[0] == way:
                    room = conn.cut_at[1] - conn.sent[way]
                    if room < len(data):
                        self._count(way, data[: max(room, 0)])
                        writer.write(data[: max(room, 0)])
                        self.counters.cuts += 1
                        self.counters.cut_log.append(f"{way}@{conn.cut_at[1]}")
                        conn.cut()
                        return
                elif conn.cut_at and conn.cut_at[0] == "up" and way == "down":
                    # The request was shorter than the cut point: cut as the answer starts.
                    self.counters.cuts += 1
                    self.counters.cut_log.append("answer-lost")
                    conn.cut()
                    return
                conn.sent[way] += len(data)
                self._count(way, data)
                writer.write(data)
                if way == "down":
                    conn.on_down()
                try:
                    await writer.drain()
                except (ConnectionError, OSError):
                    conn.cut()
                    return
            if not conn.closed:
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass

        await asyncio.gather(receive(), deliver())

    def _count(self, way: str, data: bytes) -> None:
        if way == "up":
            self.counters.up += len(data)
        else:
            self.counters.down += len(data)

    # ------------------------------------------------------------ lifecycle

    async def serve(self) -> None:
        one_way = self.shape.rtt_s / 2
        self._links = {
            "up": _Direction(self.shape.rate_bps, one_way),
            "down": _Direction(self.shape.rate_bps, one_way),
        }
        self._server = await asyncio.start_server(self._handle, LOOPBACK, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def start_in_thread(self) -> Proxy:
        """Run the proxy on its own event loop in a daemon thread; returns once it listens."""
        ready = threading.Event()

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            loop.run_until_complete(self.serve())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="netshape", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def stop(self) -> None:
        """Close the listener, end every open connection, then the loop and its thread."""
        if self._loop is None:
            return
        loop = self._loop

        async def shut() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shut(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--target", type=int, required=True, help="Port on 127.0.0.1 to forward to."
    )
    parser.add_argument("--port", type=int, default=0, help="Port to listen on (0 = any free one).")
    parser.add_argument("--kbit", type=float, default=None, help="Bandwidth each way in kbit/s.")
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="Round trip added, in ms.")
    parser.add_argument("--drop", type=float, default=0.0, help="Share of exchanges cut mid-way.")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rate = args.kbit * 1000 / 8 if args.kbit else None
    proxy = Proxy(args.target, Shape(rate, args.rtt_ms / 1000, args.drop, args.seed), args.port)
    proxy.start_in_thread()
    print(f"listening on {LOOPBACK}:{proxy.port} -> {LOOPBACK}:{args.target}", flush=True)
    try:
        while True:
            time.sleep(5)
            print(proxy.counters.snapshot(), flush=True)
    except KeyboardInterrupt:
        proxy.stop()


if __name__ == "__main__":
    main()
