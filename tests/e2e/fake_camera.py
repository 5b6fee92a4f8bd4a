"""A fake phone camera for browser tests: QR pictures written as .y4m video for Chromium to play."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qrcode
from PIL import Image, ImageDraw

from tests.browser import CHROMIUM_ARGS, chromium_path

WIDTH, HEIGHT = 640, 480
# An init script keeping every stream the page opens, so a test sees whether tracks stopped.
WATCH_CAMERA = """
window.__streams = [];
if (navigator.mediaDevices) {
  const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.__constraints = constraints;
    const stream = await open(constraints);
    window.__streams.push(stream);
    return stream;
  };
}
"""
LIVE_TRACKS = (
    "window.__streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live').length"
)
# Chromium's fake capture device plays the file in a loop at its frame rate.
FPS = 15


def card_frame(text: str | None, qr_pixels: int = 260) -> Image.Image:
    """A camera picture of a white card on a grey table, with the QR of `text` (none if None)."""
    frame = Image.new("L", (WIDTH, HEIGHT), 150)
    card = Image.new("L", (qr_pixels + 60, qr_pixels + 100), 245)
    if text is not None:
        code = qrcode.make(text, border=2).get_image().convert("L")
        card.paste(code.resize((qr_pixels, qr_pixels), Image.Resampling.NEAREST), (30, 30))
    ImageDraw.Draw(card).text((30, qr_pixels + 50), "TIANJIAN CARD", fill=30)
    frame.paste(card, ((WIDTH - card.width) // 2, (HEIGHT - card.height) // 2))
    return frame.convert("RGB")


def write_y4m(path: Path, frames: list[Image.Image], repeat: int = 1) -> Path:
    """YUV4MPEG2 4:2:0, each frame shown `repeat` times (Chromium reads nothing else)."""
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            y, cb, cr = frame.resize((WIDTH, HEIGHT)).convert("YCbCr").split()
            half = (WIDTH // 2, HEIGHT // 2)
            planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
            for _ in range(repeat):
                out.write(b"FRAME\n" + planes)
    return path


@pytest.fixture
def fake_camera(browser: Any, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """open(frames) -> a phone-sized page in a Chromium whose only camera shows `frames`.

    A second Chromium from the shared one's playwright (one playwright per thread): the video
    file is a launch flag, so each picture needs its own browser; the shared one keeps its flags.
    """
    launched: list[Any] = []

    def open_page(frames: list[Image.Image] | None, repeat: int = FPS, allowed: bool = True) -> Any:
        """frames=None: a phone with no camera; allowed=False: the envoy refuses the camera."""
        args = list(CHROMIUM_ARGS)
        if frames is not None:
            video = write_y4m(tmp_path / f"camera-{len(launched)}.y4m", frames, repeat)
            args += [
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ]
            if allowed:
                args.append("--use-fake-ui-for-media-stream")
        camera_browser = browser.browser_type.launch(
            executable_path=chromium_path(), headless=True, args=args
        )
        launched.append(camera_browser)
        context = camera_browser.new_context(
            viewport={"width": 360, "height": 740},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            permissions=["camera"] if allowed else [],
        )
        return context.new_page()

    yield open_page
    for camera_browser in launched:
        camera_browser.close()
