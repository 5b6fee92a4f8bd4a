"""The phone app bench's steps in the page: a slow phone, enrolling, a session, keystrokes,
check-ins, the heap, the decoder's own time, and watchers on the page's clock."""

from __future__ import annotations

from typing import Any

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}

# When the sessions screen is first on the page, by the page's clock (from navigation).
USABLE_WATCH = """
new MutationObserver((_, observer) => {
  if (document.querySelector("[data-screen=sessions]")) {
    window.__usableAt = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""

# Each moment a camera frame first shows a card (its corner mark turns dark after light),
# and each green answer's appearance.
CARD_WATCH = """
window.__cardAt = [];
window.__greenAt = [];
function watchVideo(video) {
  const canvas = new OffscreenCanvas(1, 1);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let before = null;
  const step = (now) => {
    context.drawImage(video, 0, 0, 16, 16, 0, 0, 1, 1);
    const dark = context.getImageData(0, 0, 1, 1).data[0] < 100;
    if (before === false && dark) window.__cardAt.push(now);
    before = dark;
    if (video.isConnected) video.requestVideoFrameCallback(step);
  };
  video.requestVideoFrameCallback(step);
}
new MutationObserver(() => {
  const video = document.querySelector("video.scan-video");
  if (video && !video.__watched) {
    video.__watched = true;
    watchVideo(video);
  }
  for (const green of document.querySelectorAll("[data-answer=green]")) {
    if (!green.__seen) {
      green.__seen = true;
      window.__greenAt.push(performance.now());
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


def phone(browser: Any, **options: Any) -> tuple[Any, Any]:
    context = browser.new_context(**PHONE, **options)
    page = context.new_page()
    throttle(page, 4)
    return context, page


def throttle(page: Any, rate: int) -> Any:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    return cdp


def installed_urls(page: Any) -> list[str]:
    """Every address fetched for the first install: the page's own loads, then the service
    worker's (it fetches the whole shell again, past the HTTP cache)."""
    return page.evaluate(
        """async () => {
          await navigator.serviceWorker.ready;
          for (let i = 0; i < 600 && !navigator.serviceWorker.controller; i += 1) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          const own = performance.getEntriesByType("navigation")
            .concat(performance.getEntriesByType("resource"))
            .map((entry) => entry.name)
            .filter((name) => name.startsWith(location.origin));
          const names = await caches.keys();
          const cache = await caches.open(names[0]);
          const cached = (await cache.keys()).map((request) => request.url);
          return own.concat(cached);
        }"""
    )


def enrol(page: Any, code: str, farmers: int) -> None:
    """Type the code, then wait for the first pull to bring every farmer."""
    page.wait_for_selector("input[name=code]", timeout=60_000)
    page.fill("input[name=code]", code)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-screen=sessions]", timeout=300_000)
    page.wait_for_function(
        """async (n) => (await (await import('/app/js/store.js')).listRecords('farmer')).length >= n""",
        arg=farmers,
        timeout=600_000,
        polling=1000,
    )


def new_session(page: Any, title: str, village: str) -> str:
    """A session started on the sessions screen; its id."""
    page.goto(page.url.split("#")[0] + "#sessions")
    page.click("[data-action=new-session]")
    page.fill("input[name=title]", title)
    page.select_option("select[name=unit_code]", village)
    page.check("input[name=technology_ids] >> nth=0")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-screen=session] [data-action=roster]")
    return page.evaluate("new URLSearchParams(location.hash.split('?')[1]).get('id')")


def keystrokes(page: Any, queries: list[str]) -> list[float]:
    """Each query typed a character at a time into the roster search: from the keystroke until
    the frame after the results are drawn."""
    return page.evaluate(
        """async (queries) => {
          const input = document.querySelector("input[name=q]");
          const painted = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
          const times = [];
          for (const query of queries) {
            input.value = "";
            input.dispatchEvent(new Event("input", { bubbles: true }));
            await painted();
            for (let i = 1; i <= query.length; i += 1) {
              const started = performance.now();
              input.value = query.slice(0, i);
              input.dispatchEvent(new Event("input", { bubbles: true }));
              await painted();
              times.push(performance.now() - started);
            }
          }
          return times;
        }""",
        queries,
    )


def checkin_day(page: Any, farmers: list[dict[str, Any]]) -> int:
    """Each farmer found by the last four digits of the mobile and checked in by tapping."""
    done = 0
    for farmer in farmers:
        page.fill("input[name=q]", farmer["mobile"][-4:])
        button = page.locator(f"li[data-farmer='{farmer['id']}'] [data-action=checkin]")
        if button.is_enabled():
            button.click()
            page.wait_for_selector(
                f"li[data-farmer='{farmer['id']}'] [data-action=checkin][disabled]"
            )
            done += 1
    return done


def add_photo(page: Any, url: str, session: str, path: Any) -> None:
    """A photo of the session's sign-in sheet, chosen as the phone's camera gives it."""
    page.goto(f"{url}/app/#photos?subject_kind=session&subject_id={session}")
    page.wait_for_selector("#photo-file")
    page.select_option("#photo-kind", "signin_sheet")
    page.set_input_files("#photo-file", str(path))
    page.wait_for_selector("#photo-gallery li img", timeout=120_000)


def heap_mb(page: Any) -> float:
    """The page's JS heap in use after a full garbage collection."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("HeapProfiler.enable")
    cdp.send("HeapProfiler.collectGarbage")
    used = cdp.send("Runtime.getHeapUsage")["usedSize"]
    return round(used / 1024 / 1024, 1)


def decode_ms(page: Any, runs: int = 9) -> float:
    """The decoder worker's time for one camera frame showing a card (median round trip)."""
    return page.evaluate(
        """async (runs) => {
          const video = document.querySelector("video.scan-video");
          const canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight);
          const context = canvas.getContext("2d", { willReadFrequently: true });
          for (let i = 0; i < 100; i += 1) {
            context.drawImage(video, 0, 0);
            if (context.getImageData(0, 0, 1, 1).data[0] < 100) break;
            await new Promise((r) => video.requestVideoFrameCallback(r));
          }
          const frame = context.getImageData(0, 0, canvas.width, canvas.height);
          const worker = new Worker("/app/js/scan_worker.js");
          const ask = (message) => new Promise((resolve) => {
            worker.onmessage = (event) => resolve(event.data);
            worker.postMessage(message);
          });
          await ask({ id: 0, type: "warm" });
          const times = [];
          for (let i = 1; i <= runs; i += 1) {
            const copy = frame.data.slice().buffer;
            const started = performance.now();
            const answer = await ask({ id: i, type: "decode", width: frame.width, height: frame.height, buffer: copy });
            if (!answer.text) throw new Error("the decoder read no card");
            times.push(performance.now() - started);
          }
          worker.terminate();
          times.sort((a, b) => a - b);
          return times[Math.floor(times.length / 2)];
        }""",
        runs,
    )
