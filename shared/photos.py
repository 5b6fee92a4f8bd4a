"""Photos as evidence: check an image within Pillow's limits, and reduce it for a 2G link."""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from datetime import datetime

from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

from shared.clock import CHINA, to_iso
from shared.errors import ImageBomb, ImageDamaged, NotAnImage, PhotoRefused, PhotoTooLarge

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
# What an envoy may hand in: a phone's full-size photo is 3-15 MB; 30 MB leaves room for a
# 50-megapixel one and stops a stray video or disk image before it is read.
MAX_PHOTO_BYTES = 30 * 1024 * 1024
# The long side kept. On 2G (about 30 kbit/s) every 100 KB costs half a minute: 1600 px still
# shows a sign-in sheet's handwriting and faces in a room, and at JPEG quality ~75 lands near
# TARGET_BYTES, so twenty photos of a training go in about two hours of 2G, not a day.
MAX_SIDE = 1600
TARGET_BYTES = 200 * 1024
# Quality is searched between these: below 40 text on a sign-in sheet smears; above 90 costs
# bytes nobody sees.
MIN_QUALITY = 40
MAX_QUALITY = 90
# What a reduced photo can weigh at most (1600 px of noise at MIN_QUALITY stays well below):
# the server takes no more for one photo (it checks received bytes with `check_image`).
MAX_REDUCED_BYTES = 2 * 1024 * 1024
# The most pixels a reduced photo has (its long side MAX_SIDE): the server decodes no more, so
# a small file claiming many pixels (a 230 KB PNG of 9000×9000 takes 330 MB to decode) is
# refused from its header.
MAX_REDUCED_PIXELS = MAX_SIDE * MAX_SIDE

_EXIF_DATETIME_ORIGINAL = 0x9003
_EXIF_OFFSET_TIME_ORIGINAL = 0x9011
_GPS_LATITUDE_REF, _GPS_LATITUDE = 1, 2
_GPS_LONGITUDE_REF, _GPS_LONGITUDE = 3, 4
_GPS_H_POSITIONING_ERROR = 31


@dataclass(frozen=True)
class ImageInfo:
    """An image that passed `check_image`: its format (JPEG, PNG or WEBP) and size."""

    format: str
    width: int
    height: int
    size_bytes: int


@dataclass(frozen=True)
class ReducedPhoto:
    """A photo reduced for sending: JPEG bytes with no metadata, and what EXIF said, as fields.

    `taken_at` is UTC ISO text or None; latitude/longitude in degrees (WGS 84, as the phone's
    GPS writes them) or None; `accuracy_m` the GPS's own horizontal error when it wrote one.
    """

    jpeg: bytes
    width: int
    height: int
    taken_at: str | None
    latitude: float | None
    longitude: float | None
    sha256: str
    accuracy_m: float | None = None


def check_image(
    data: bytes, max_bytes: int = MAX_PHOTO_BYTES, max_pixels: int | None = None
) -> ImageInfo:
    """The image's format and size, once it is whole and within limits; raises PhotoRefused.

    Refused: more than `max_bytes` (PhotoTooLarge), not JPEG/PNG/WebP (NotAnImage), more
    pixels than Pillow's Image.MAX_IMAGE_PIXELS or `max_pixels` (ImageBomb: judged from the
    header, before any pixel is decoded), cut short or corrupt (ImageDamaged: every pixel is
    decoded to find out).
    """
    image = _open_whole(data, max_bytes, draft_side=None, max_pixels=max_pixels)
    return ImageInfo(str(image.format), image.width, image.height, len(data))


def reduce_photo(data: bytes, max_bytes: int = MAX_PHOTO_BYTES) -> ReducedPhoto:
    """Check the image as `check_image` does, then make the JPEG that is sent and kept.

    Turned upright by its EXIF orientation, long side at most MAX_SIDE, quality chosen to
    land near TARGET_BYTES; every metadata (EXIF, GPS, XMP, comments, ICC profile) is left out
    of the bytes, its time and place returned as fields instead.
    """
    image = _open_whole(data, max_bytes, draft_side=MAX_SIDE)
    exif = image.getexif()
    taken_at = _taken_at(exif)
    latitude, longitude, accuracy = _place(exif)
    icc = image.info.get("icc_profile")
    try:
        upright = ImageOps.exif_transpose(image)
        rgb = _flatten(upright)
        if isinstance(icc, bytes) and icc:
            rgb = _to_srgb(rgb, icc)
        rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageDamaged() from exc
    # A new image from the bare pixels: nothing of the original's info can ride along.
    clean = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    jpeg = _encode_near(clean, TARGET_BYTES)
    return ReducedPhoto(
        jpeg=jpeg,
        width=clean.width,
        height=clean.height,
        taken_at=taken_at,
        latitude=latitude,
        longitude=longitude,
        sha256=hashlib.sha256(jpeg).hexdigest(),
        accuracy_m=accuracy,
    )


def _open_whole(
    data: bytes, max_bytes: int, draft_side: int | None, max_pixels: int | None = None
) -> Image.Image:
    if len(data) > max_bytes:
        raise PhotoTooLarge(
            f"照片文件太大（{len(data) // 1024} KB，最多 {max_bytes // 1024} KB） / "
            f"the photo file is too large ({len(data) // 1024} KB, at most {max_bytes // 1024} KB)"
        )
    if not data:
        raise NotAnImage()
    try:
        # verify() reads the structure (a PNG's checksums) without decoding; it spends the
        # image, so the pixels are then decoded from a second opening.
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as probe:
            _check_pixels(probe, max_pixels)
            probe.verify()
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        _check_pixels(image, max_pixels)
        if draft_side is not None and image.format == "JPEG":
            # Decode a large JPEG at 1/2, 1/4 or 1/8 scale, never below the side kept: a
            # 50-megapixel photo then needs a sixteenth of the memory and time.
            scale = draft_side / max(image.size)
            if scale < 1:
                image.draft(
                    "RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale))
                )
        image.load()
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb() from exc
    except UnidentifiedImageError as exc:
        raise NotAnImage() from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        raise ImageDamaged() from exc
    return image


def _check_pixels(image: Image.Image, max_pixels: int | None = None) -> None:
    # Pillow raises DecompressionBombError past twice its limit and only warns between once
    # and twice; here the warning's range is refused too.
    limit = min(Image.MAX_IMAGE_PIXELS or math.inf, max_pixels or math.inf)
    if image.width * image.height > limit:
        raise _bomb(image.width, image.height, int(limit))


def _bomb(
    width: int | None = None, height: int | None = None, limit: int | None = None
) -> ImageBomb:
    size = f"{width}×{height}" if width and height else ""
    limit = limit or Image.MAX_IMAGE_PIXELS or 0
    return ImageBomb(
        f"图片像素太多{size}（最多 {limit / 1e6:.1f} 百万像素），请用较低分辨率拍摄 / "
        f"the image has too many pixels {size} (at most {limit / 1e6:.1f} megapixels): "
        "take it at a lower resolution"
    )


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels; transparent parts (a PNG screenshot) on white, as paper shows them."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit greyscale PNG: scale to 8 bits before colour conversion.
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert("RGB")


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """The pixels in sRGB, so leaving the profile out does not shift a P3 photo's colours."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A profile littleCMS cannot read: the pixels as they are beat refusing the photo.
        return image
    return converted if converted is not None else image


def _encode_near(image: Image.Image, target: int) -> bytes:
    """The JPEG at the highest quality not over `target` (MIN_QUALITY when none is)."""
    low, high = MIN_QUALITY, MAX_QUALITY
    best = _jpeg(image, MIN_QUALITY)
    if len(best) > target:
        return best
    while low < high:
        middle = (low + high + 1) // 2
        attempt = _jpeg(image, middle)
        if len(attempt) <= target:
            low, best = middle, attempt
        else:
            high = middle - 1
    return best


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _taken_at(exif: Image.Exif) -> str | None:
    """EXIF DateTimeOriginal as UTC ISO: with its OffsetTimeOriginal when the camera wrote one,
    otherwise read as China time (a phone in China writes its local clock)."""
    inner = exif.get_ifd(ExifTags.IFD.Exif)
    text = _text(inner.get(_EXIF_DATETIME_ORIGINAL))
    if text is None:
        return None
    try:
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = _text(inner.get(_EXIF_OFFSET_TIME_ORIGINAL))
    zone = CHINA
    if offset is not None:
        try:
            zone = datetime.strptime(offset, "%z").tzinfo or CHINA  # type: ignore[assignment]
        except ValueError:
            zone = CHINA
    if not 1990 <= moment.year <= 2200:
        return None
    return to_iso(moment.replace(tzinfo=zone))


def _place(exif: Image.Exif) -> tuple[float | None, float | None, float | None]:
    """Latitude, longitude and horizontal error (m) from the GPS IFD, or Nones."""
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    latitude = _degrees(gps.get(_GPS_LATITUDE), gps.get(_GPS_LATITUDE_REF), "S", 90)
    longitude = _degrees(gps.get(_GPS_LONGITUDE), gps.get(_GPS_LONGITUDE_REF), "W", 180)
    if latitude is None or longitude is None:
        return None, None, None
    error = _number(gps.get(_GPS_H_POSITIONING_ERROR))
    accuracy = error if error is not None and 0 <= error <= 100_000 else None
    return latitude, longitude, accuracy


def _degrees(value: object, ref: object, negative: str, bound: float) -> float | None:
    if not isinstance(value, tuple | list) or len(value) != 3:
        return None
    parts = [_number(part) for part in value]
    if any(part is None for part in parts):
        return None
    degrees, minutes, seconds = (float(part or 0) for part in parts)
    result = degrees + minutes / 60 + seconds / 3600
    if _text(ref) == negative:
        result = -result
    if not -bound <= result <= bound:
        return None
    return round(result, 7)


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip("\x00 ")
    return text or None
