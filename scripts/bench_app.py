"""The phone app on a slow phone: headless Debian Chromium, CPU throttled 4x (DevTools
Emulation.setCPUThrottlingRate), a 360 x 740 screen, against the real server through a
byte-counting proxy.

    scripts/bench app [--json] [--size full|small|tiny] [--runs N] [--keep]

Measures (issue 22, "Measured"): bytes of the first install (gzip, the decoder included),
offline cold start to a usable sessions screen, a card held to the (fake) camera until the
green answer, roster search a keystroke over the envoy's farmers, JS heap after a day's
check-ins, and a sync of those check-ins with a photo a session over the 2G link of the sync
bench (30 kbit/s each way, 600 ms round trip; DevTools Network.emulateNetworkConditions)
against its bound, bytes ÷ bandwidth + requests × round trip (Chromium's emulation overlaps
the round trip with the transfer, so a ratio a little under 1 is possible). Medians over
--runs; a goal missed is reported, never a failure. With --json, one object.

DevTools throttles a page's main thread only ("Operation is only supported for pages, not
workers"): the QR decoder's worker runs at full speed, so card_to_green_ms adds the worker's
decode time × (rate - 1) to what was measured, and says both.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import requests  # noqa: E402
from bench_app_data import new_code, seed_server, write_camera  # noqa: E402
from bench_app_pages import (  # noqa: E402
    CARD_WATCH,
    USABLE_WATCH,
    add_photo,
    checkin_day,
    decode_ms,
    enrol,
    heap_mb,
    installed_urls,
    keystrokes,
    new_session,
    phone,
    throttle,
)
from bench_sync import fresh_server_db, log, server_process  # noqa: E402
from bench_sync_device import VILLAGES  # noqa: E402
from bench_sync_shaped import SHAPED_RATE, SHAPED_RTT  # noqa: E402
from netshape import Proxy  # noqa: E402

from tests.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402

CPU_RATE = 4
GOALS = {
    "install_bytes_gzip": 1.5 * 1024 * 1024,
    "cold_start_offline_ms": 2000,
    "card_to_green_ms": 700,
    "roster_keystroke_ms": 100,
    "heap_after_day_mb": 60,
    # A sync within 1.3x its bound, as the photos bench asks of its uploads.
    "sync_2g_ratio": 1.3,
}


@dataclass(frozen=True)
class Size:
    farmers: int
    checkins: int
    # One photo of the sign-in sheet a session, from a camera file of this long side.
    sessions: int
    photo_side: int
    cards: int


SIZES = {
    "full": Size(farmers=5000, checkins=300, sessions=3, photo_side=2400, cards=6),
    "small": Size(farmers=1000, checkins=100, sessions=2, photo_side=1600, cards=4),
    "tiny": Size(farmers=120, checkins=12, sessions=1, photo_side=320, cards=3),
}
# Where the phone says it is when a photo is placed.
PLACE = {"latitude": 25.0431, "longitude": 102.7089, "accuracy": 12.0}


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1)


def install(browser: Any, url: str, proxy: Proxy) -> tuple[Any, Any, dict[str, Any]]:
    """A new phone opens the app once: bytes on the wire (the server gzips the shell) until
    the service worker holds the whole shell, the decoder included."""
    context, page = phone(browser, permissions=["geolocation"], geolocation=PLACE)
    before = proxy.counters.snapshot()["down"]
    page.goto(f"{url}/app/")
    urls = installed_urls(page)
    wire = proxy.counters.snapshot()["down"] - before
    with requests.Session() as http:
        plain = sum(len(http.get(address, timeout=30).content) for address in urls)
    return (
        context,
        page,
        {"install_bytes_gzip": wire, "install_bytes_plain": plain, "install_requests": len(urls)},
    )


def cold_starts(context: Any, url: str, runs: int) -> list[float]:
    """The installed app opened again with no network, `runs` times: navigation until the
    sessions screen is on the screen (the page's own clock)."""
    context.set_offline(True)
    times = []
    for _ in range(runs):
        page = context.new_page()
        throttle(page, CPU_RATE)
        page.goto(f"{url}/app/")
        page.wait_for_function("() => window.__usableAt", timeout=60_000)
        times.append(page.evaluate("window.__usableAt"))
        page.close()
    return times


def roster_and_day(
    context: Any, url: str, size: Size, farmers: list[dict[str, Any]], runs: int, workdir: Path
) -> dict[str, Any]:
    """Keystrokes in the roster search, then a day's check-ins through the roster screen and a
    photo of each session's sign-in sheet, the heap after them; offline all along."""
    from bench_photos import camera_photo

    page = context.new_page()
    throttle(page, CPU_RATE)
    page.goto(f"{url}/app/")
    page.wait_for_selector("[data-screen=sessions]")
    session = new_session(page, "马铃薯种植技术培训 第1期", VILLAGES[0])
    page.goto(f"{url}/app/#checkin?session={session}")
    page.wait_for_selector("input[name=q]")
    queries = []
    for n in range(runs):
        farmer = farmers[(n * 37) % len(farmers)]
        queries += [farmer["name"], farmer["mobile"][-4:]]
    typed = keystrokes(page, queries)
    started = time.perf_counter()
    per_session = -(-size.checkins // size.sessions)
    done = 0
    for n in range(size.sessions):
        if n:
            session = new_session(page, f"马铃薯种植技术培训 第{n + 1}期", VILLAGES[n % 2])
            page.goto(f"{url}/app/#checkin?session={session}")
            page.wait_for_selector("input[name=q]")
        want = min(per_session, size.checkins - done)
        done += checkin_day(page, farmers[done : done + want])
        photo = workdir / f"IMG_{n:04d}.jpg"
        photo.write_bytes(camera_photo(size.photo_side, seed=n))
        add_photo(page, url, session, photo)
        page.goto(f"{url}/app/#sessions")
        page.wait_for_selector("[data-screen=sessions]")
    day_s = time.perf_counter() - started
    heap = heap_mb(page)
    return {"page": page, "keystrokes": typed, "checkins": done, "day_s": day_s, "heap_mb": heap}


def sync_2g(context: Any, page: Any, url: str, proxy: Proxy) -> dict[str, Any]:
    """Back in signal over 2G: the app's sync (push, the photos' bytes, pull) until it is done;
    bytes and requests from the proxy, the bound from them."""
    context.set_offline(False)
    page.goto(f"{url}/app/#outbox")
    page.wait_for_selector("[data-action=sync]")
    waiting = int(page.inner_text("[data-figure=pending]"))
    cdp = throttle(page, CPU_RATE)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": SHAPED_RTT * 1000,
            "downloadThroughput": SHAPED_RATE,
            "uploadThroughput": SHAPED_RATE,
        },
    )
    before = proxy.counters.snapshot()
    started = time.perf_counter()
    report = page.evaluate("async () => (await import('/app/js/sync.js')).syncNow()")
    seconds = time.perf_counter() - started
    after = proxy.counters.snapshot()
    left = page.evaluate(
        """async () => (await (await import('/app/js/store.js')).outboxEntries())
             .filter((entry) => entry.state === 'pending').length"""
    )
    up, down = after["up"] - before["up"], after["down"] - before["down"]
    exchanges = after["exchanges"] - before["exchanges"]
    bound = (up + down) / SHAPED_RATE + exchanges * SHAPED_RTT
    return {
        "changes": waiting,
        "left": left,
        "photos": report.get("photosSent"),
        "photo_bytes": report.get("photoBytesSent"),
        "seconds": round(seconds, 1),
        "bound_s": round(bound, 1),
        "up_bytes": up,
        "down_bytes": down,
        "requests": exchanges,
    }


def card_to_green(
    pw: Any, url: str, db_path: str, workdir: Path, farmers: list[dict[str, Any]], size: Size
) -> dict[str, Any]:
    """Cards held to the camera one after another (an empty table between them): from the
    first camera frame showing a card to its green answer."""
    from field_client.checkin_codes import new_card_code

    cards = {new_card_code(): farmer["id"] for farmer in farmers[-size.cards :]}
    video = write_camera(workdir / "cards.y4m", list(cards))
    browser = pw.chromium.launch(
        executable_path=chromium_path(),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context, page = phone(browser, permissions=["camera"])
        page.goto(f"{url}/app/")
        enrol(page, new_code(db_path), len(farmers))
        page.evaluate(
            "async (cards) => (await import('/app/js/store.js')).setMeta('cards', cards)", cards
        )
        session = new_session(page, "苹果修剪培训", VILLAGES[0])
        page.close()
        page = context.new_page()
        throttle(page, CPU_RATE)
        page.add_init_script(CARD_WATCH)
        page.goto(f"{url}/app/#checkin-card?session={session}")
        # Every card comes round once in (empty + card) seconds each.
        page.wait_for_function(
            "(n) => window.__greenAt.length >= n", arg=size.cards, timeout=120_000
        )
        shown = page.evaluate("window.__cardAt")
        greens = page.evaluate("window.__greenAt")
        decoded = decode_ms(page)
    finally:
        browser.close()
    latencies = []
    for n, at in enumerate(shown):
        until = shown[n + 1] if n + 1 < len(shown) else float("inf")
        answered = [green for green in greens if at <= green < until]
        if answered:
            latencies.append(answered[0] - at)
    measured = median(latencies)
    return {
        "measured_ms": measured,
        "samples": len(latencies),
        "worker_decode_ms": round(decoded, 1),
        "ms": None if measured is None else round(measured + decoded * (CPU_RATE - 1), 1),
    }


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    size = SIZES[args.size]
    db_path = str(workdir / "server.db")
    fresh_server_db(db_path)
    with server_process(db_path, str(workdir)) as (_process, port):
        proxy = Proxy(port).start_in_thread()
        url = f"http://127.0.0.1:{proxy.port}"
        try:
            log(f"{size.farmers} farmers from a laptop to the server")
            farmers = seed_server(db_path, url, workdir, size.farmers)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
                )
                try:
                    log("first install")
                    context, page, installed = install(browser, url, proxy)
                    context.add_init_script(USABLE_WATCH)
                    log("enrolment and the first pull")
                    enrol(page, new_code(db_path), len(farmers))
                    page.close()
                    log("offline cold starts")
                    cold = cold_starts(context, url, args.runs)
                    log("roster search and a day's check-ins")
                    day = roster_and_day(context, url, size, farmers, args.runs, workdir)
                    log("sync over 2G")
                    synced = sync_2g(context, day["page"], url, proxy)
                finally:
                    browser.close()
                log("cards to the camera")
                card = card_to_green(pw, url, db_path, workdir, farmers, size)
        finally:
            proxy.stop()
    result = {
        "size": args.size,
        "farmers": size.farmers,
        "cpu_throttle": CPU_RATE,
        "viewport": "360x740",
        **installed,
        "cold_start_offline_ms": median(cold),
        "cold_start_runs_ms": [round(ms, 1) for ms in cold],
        "card_to_green_ms": card["ms"],
        "card_to_green_measured_ms": card["measured_ms"],
        "card_worker_decode_ms": card["worker_decode_ms"],
        "card_samples": card["samples"],
        "roster_keystroke_ms": median(day["keystrokes"]),
        "roster_keystroke_p95_ms": p95(day["keystrokes"]),
        "roster_keystrokes": len(day["keystrokes"]),
        "checkins": day["checkins"],
        "heap_after_day_mb": day["heap_mb"],
        f"sync_{day['checkins']}_2g": synced,
        "sync_300_2g_s": synced["seconds"],
        "sync_2g_bound_s": synced["bound_s"],
        "sync_2g_ratio": round(synced["seconds"] / synced["bound_s"], 2)
        if synced["bound_s"]
        else None,
    }
    result["goals"] = {
        key: {"goal": goal, "met": result[key] is not None and result[key] < goal}
        for key, goal in GOALS.items()
    }
    return result


def print_human(result: dict[str, Any]) -> None:
    goals = result["goals"]

    def line(label: str, key: str, unit: str, extra: str = "") -> None:
        mark = "ok" if goals[key]["met"] else "MISSED"
        print(
            f"{label:<34} {result[key]!s:>10} {unit:<3} goal < {goals[key]['goal']:g} {mark} {extra}"
        )

    print(
        f"phone app, {result['size']}: {result['farmers']} farmers, CPU ÷{result['cpu_throttle']}, {result['viewport']}"
    )
    line(
        "first install (bytes on the wire)",
        "install_bytes_gzip",
        "B",
        f"({result['install_requests']} files, {result['install_bytes_plain']} B unzipped)",
    )
    line("offline cold start", "cold_start_offline_ms", "ms", str(result["cold_start_runs_ms"]))
    line(
        "card to green",
        "card_to_green_ms",
        "ms",
        f"(measured {result['card_to_green_measured_ms']} + worker {result['card_worker_decode_ms']} ms x {result['cpu_throttle'] - 1}, {result['card_samples']} cards)",
    )
    line(
        "roster search a keystroke",
        "roster_keystroke_ms",
        "ms",
        f"(p95 {result['roster_keystroke_p95_ms']}, {result['roster_keystrokes']} keys)",
    )
    line(f"JS heap after {result['checkins']} check-ins", "heap_after_day_mb", "MB")
    sync = result[f"sync_{result['checkins']}_2g"]
    line(
        f"sync of {sync['changes']} changes, {sync['photos']} photos over 2G / bound",
        "sync_2g_ratio",
        "x",
        f"({sync['seconds']} s, bound {sync['bound_s']} s = {sync['up_bytes'] + sync['down_bytes']} B ÷ {SHAPED_RATE:g} B/s + {sync['requests']} x {SHAPED_RTT} s)",
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench app", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="One JSON object.")
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--runs", type=int, default=5, help="Runs for each median.")
    parser.add_argument("--keep", action="store_true", help="Keep the working directory.")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    workdir = Path(tempfile.mkdtemp(prefix="tianjian-bench-app-"))
    try:
        result = measure(args, workdir)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print_human(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
