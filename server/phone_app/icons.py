"""The phone app's icons, drawn with Pillow when first asked for (no binary kept in git)."""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageDraw

SIZES = (192, 512)
GREEN = (46, 125, 50)
LIGHT = (200, 230, 201)
SUN = (255, 193, 7)


@functools.cache
def icon_png(size: int) -> bytes:
    """A field under the sun: furrows on green, the same bytes every time for a size.

    Drawn inside the middle 80% so a "maskable" crop to a circle keeps all of it.
    """
    image = Image.new("RGB", (size, size), GREEN)
    draw = ImageDraw.Draw(image)
    unit = size / 10
    draw.ellipse((6 * unit, 1.6 * unit, 7.8 * unit, 3.4 * unit), fill=SUN)
    for row in range(4):
        top = 4.6 * unit + row * 1.0 * unit
        inset = (3 - row) * 0.5 * unit
        draw.rounded_rectangle(
            (1.4 * unit + inset, top, 8.6 * unit - inset, top + 0.5 * unit),
            radius=max(1, int(unit * 0.2)),
            fill=LIGHT,
        )
    out = io.BytesIO()
    # No timestamp or metadata in PNG: the bytes, and so the shell's version, stay fixed.
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
