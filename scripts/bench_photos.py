"""Photos over 2G: N photos of about 200 KB from one device through the shaped link the sync
bench uses (30 kbit/s each way, 600 ms round trip, 5% of exchanges cut), against the real
server: total time against the bytes ÷ bandwidth bound, bytes sent again after cuts, nothing
lost or doubled, and the server's memory over the run.

    scripts/bench photos [--json] [--photos 20] [--side 2400] [--rate BYTES_PER_S] [--drop 0.05]

Prints figures (or one JSON line with --json: seconds, bound_seconds, resent_bytes,
photos_stored, expected, and the rest); a goal missed is reported, never a failure.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from bench_sync import SHAPED_DROP, fresh_server_db, log, server_process  # noqa: E402
from bench_sync_shaped import SHAPED_RATE, SHAPED_RTT  # noqa: E402
from netshape import Proxy, Shape  # noqa: E402

# Goals from issue 21, "Measured".
GOAL_RATIO = 1.3
GOAL_RESENT_SHARE = 0.05
# "Server memory flat": the second half of the run may not need more than the first.
GOAL_MEMORY_GROWTH_MB = 10.0


def camera_photo(side: int, seed: int) -> bytes:
    """A phone-sized JPEG with detail like a real scene's (fractal and noise), so reducing it
    lands near 200 KB as a photo of a training does."""
    from PIL import Image

    width, height = side, side * 3 // 4
    fractal = Image.effect_mandelbrot(
        (width, height), (-2.0 + seed * 0.01, -1.2, 1.0, 1.2), 60 + seed % 20
    )
    noise = Image.effect_noise((width, height), 30)
    image = Image.merge("RGB", (noise, fractal, Image.blend(fractal, noise, 0.5)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    """The server's resident memory, read every half second while the photos go up."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), rss_mb(self.pid)))
            except OSError:
                return
            self._stop.wait(0.5)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def halves(self) -> tuple[float, float]:
        """Peak resident memory (MB) in the first and in the second half of the run."""
        if not self.samples:
            return 0.0, 0.0
        middle = (self.samples[0][0] + self.samples[-1][0]) / 2
        first = [mb for at, mb in self.samples if at <= middle] or [0.0]
        second = [mb for at, mb in self.samples if at > middle] or first
        return round(max(first), 1), round(max(second), 1)


def stored_on_server(server_db: str, shas: list[str]) -> dict[str, Any]:
    """What the server holds: complete media rows and files whose bytes match their name."""
    media = Path(server_db).with_name(Path(server_db).stem + "-media")
    conn = sqlite3.connect(server_db)
    try:
        rows = dict(conn.execute("SELECT sha256, complete FROM media").fetchall())
        photos = conn.execute("SELECT count(*) FROM photos WHERE deleted = 0").fetchone()[0]
    finally:
        conn.close()
    sound = 0
    for sha in shas:
        path = media / sha[:2] / sha[2:4] / f"{sha}.jpg"
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha:
            sound += 1
    return {
        "complete_rows": sum(1 for sha in shas if rows.get(sha) == 1),
        "media_rows": len(rows),
        "files_sound": sound,
        "photo_records": photos,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from field_client import media_upload, photos
    from field_client.operations import open_session
    from field_client.store import FieldStore
    from field_client.sync import SyncClient, SyncFailed, SyncReport, enrol

    workdir = tempfile.mkdtemp(prefix="bench-photos-")
    server_db = os.path.join(workdir, "server.db")
    code = fresh_server_db(server_db)
    with server_process(server_db, workdir) as (process, port):
        store = FieldStore(os.path.join(workdir, "field.db"))
        enrol(store, f"http://127.0.0.1:{port}", code, "bench device")
        session_id = open_session(store, title="马铃薯晚疫病防治培训", unit="530102001001")
        started = time.perf_counter()
        added = [
            photos.add_photo(store, "session", session_id, camera_photo(args.side, n), "site")
            for n in range(args.photos)
        ]
        reduce_seconds = time.perf_counter() - started
        shas = sorted({photo.sha256 for photo in added})
        total = photos.waiting(store).bytes_total
        log(
            f"photos: {len(added)} reduced to {total / len(added) / 1024:.0f} KB on average in "
            f"{reduce_seconds:.1f}s; records first, on the plain link"
        )
        with mock.patch.object(media_upload, "send_waiting", lambda client: None):
            SyncClient(store).sync()
        shape = Shape(rate_bps=args.rate, rtt_s=args.rtt, drop=args.drop, seed=args.seed)
        proxy = Proxy(port, shape).start_in_thread()
        store.set("server_url", f"http://127.0.0.1:{proxy.port}")
        store.db.conn.commit()
        bound = total / args.rate
        log(f"photos: {total} bytes through the shaped link; the bound is {bound:.0f}s")
        report = SyncReport()
        runs, failures = 0, []
        with Sampler(process.pid) as memory:
            started = time.perf_counter()
            while photos.waiting(store).photos and time.perf_counter() - started < args.cap:
                runs += 1
                client = SyncClient(store)
                try:
                    client.sync()
                except SyncFailed as exc:
                    failures.append(exc.message[:120])
                for name in ("photos_sent", "photo_bytes_sent", "photo_bytes_resent"):
                    setattr(report, name, getattr(report, name) + getattr(client.report, name))
            seconds = time.perf_counter() - started
        proxy.stop()
        wire = proxy.counters.snapshot()
        first_half, second_half = memory.halves()
        store.close()
    held = stored_on_server(server_db, shas)
    ratio = seconds / bound if bound else 0.0
    resent_share = report.photo_bytes_resent / total if total else 0.0
    return {
        "seconds": round(seconds, 1),
        "bound_seconds": round(bound, 1),
        "ratio": round(ratio, 3),
        "resent_bytes": report.photo_bytes_resent,
        "resent_share": round(resent_share, 4),
        "photos_stored": held["files_sound"],
        "expected": len(shas),
        "bytes_total": total,
        "average_kb": round(total / len(shas) / 1024, 1),
        "reduce_seconds": round(reduce_seconds, 1),
        "runs": runs,
        "run_failures": failures,
        "wire": wire,
        "server": held,
        "server_rss_mb": {"first_half": first_half, "second_half": second_half},
        "link": {"rate_bytes_per_s": args.rate, "rtt_s": args.rtt, "drop": args.drop},
        "goals": {
            "ratio": {"value": round(ratio, 3), "goal": f"<= {GOAL_RATIO}", "met": ratio <= 1.3},
            "resent_share": {
                "value": round(resent_share, 4),
                "goal": f"< {GOAL_RESENT_SHARE}",
                "met": resent_share < GOAL_RESENT_SHARE,
            },
            "nothing_lost_or_doubled": {
                "value": f"{held['files_sound']}/{len(shas)} files, {held['media_rows']} rows",
                "met": held["files_sound"]
                == held["complete_rows"]
                == held["media_rows"]
                == len(shas),
            },
            "server_memory_flat": {
                "value": round(second_half - first_half, 1),
                "goal": f"<= {GOAL_MEMORY_GROWTH_MB} MB more in the second half",
                "met": second_half - first_half <= GOAL_MEMORY_GROWTH_MB,
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON line on stdout")
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument(
        "--side", type=int, default=2400, help="long side of each photo before reduction (px)"
    )
    parser.add_argument("--rate", type=float, default=SHAPED_RATE, help="bytes per second")
    parser.add_argument("--rtt", type=float, default=SHAPED_RTT, help="round trip (s)")
    parser.add_argument("--drop", type=float, default=SHAPED_DROP, help="share of exchanges cut")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cap", type=float, default=3 * 3600, help="give up after (s)")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    goals = result["goals"]
    print(
        f"{result['expected']} photos, {result['bytes_total'] / 1024:.0f} KB "
        f"(~{result['average_kb']} KB each) over {args.rate * 8 / 1000:.0f} kbit/s, "
        f"{args.rtt * 1000:.0f} ms, {args.drop:.0%} cuts\n"
        f"  time {result['seconds']}s against the bound {result['bound_seconds']}s: "
        f"{result['ratio']}x (goal <= {GOAL_RATIO}, met: {goals['ratio']['met']})\n"
        f"  sent again {result['resent_bytes']} bytes = {result['resent_share']:.2%} "
        f"(goal < 5%, met: {goals['resent_share']['met']}); {result['wire']['cuts']} cuts, "
        f"{result['runs']} sync runs\n"
        f"  stored {result['photos_stored']}/{result['expected']} "
        f"(met: {goals['nothing_lost_or_doubled']['met']})\n"
        f"  server memory {result['server_rss_mb']['first_half']} MB then "
        f"{result['server_rss_mb']['second_half']} MB (met: {goals['server_memory_flat']['met']})"
    )


if __name__ == "__main__":
    main()
