"""Images checked within Pillow's limits and reduced for 2G, on both sides (shared/photos.py)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image

from shared import photos
from shared.errors import ImageBomb, ImageDamaged, NotAnImage, PhotoRefused, PhotoTooLarge


def camera_jpeg(
    width: int = 2400,
    height: int = 1800,
    *,
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    gps: tuple[float, float] | None = None,
) -> bytes:
    """A JPEG as a phone writes one: textured pixels, EXIF time, GPS and orientation."""
    # Fractal and noise: detail like a real scene's, so JPEG quality matters to its size.
    fractal = Image.effect_mandelbrot((width, height), (-2.0, -1.2, 1.0, 1.2), 60)
    noise = Image.effect_noise((width, height), 30)
    image = Image.merge("RGB", (noise, fractal, Image.blend(fractal, noise, 0.5)))
    # A hard-edged block in the top-left corner shows which way the photo was turned.
    image.paste((255, 0, 0), (0, 0, width // 4, height // 8))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    exif[ExifTags.Base.ImageDescription] = "farmer Zhang's field"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    inner = exif.get_ifd(ExifTags.IFD.Exif)
    if taken:
        inner[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        inner[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:
        place = exif.get_ifd(ExifTags.IFD.GPSInfo)
        place[ExifTags.GPS.GPSLatitudeRef] = "N" if gps[0] >= 0 else "S"
        place[ExifTags.GPS.GPSLatitude] = _dms(abs(gps[0]))
        place[ExifTags.GPS.GPSLongitudeRef] = "E" if gps[1] >= 0 else "W"
        place[ExifTags.GPS.GPSLongitude] = _dms(abs(gps[1]))
        place[ExifTags.GPS.GPSHPositioningError] = 8.0
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif, comment=b"owner: Zhang San 13812345678")
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width×height 1-bit pixels: a few dozen bytes on disk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_truncated_jpeg_is_refused_as_damaged() -> None:
    whole = camera_jpeg(800, 600)
    photos.check_image(whole)
    with pytest.raises(ImageDamaged) as caught:
        photos.check_image(whole[: len(whole) // 2])
    assert caught.value.status == 422
    assert "损坏" in caught.value.message and "damaged" in caught.value.message
    with pytest.raises(ImageDamaged):
        photos.reduce_photo(whole[: len(whole) // 2])


def test_a_fifty_thousand_pixel_square_png_bomb_is_refused_before_decoding() -> None:
    bomb = png_header_only(50_000, 50_000)
    assert len(bomb) < 200
    for call in (photos.check_image, photos.reduce_photo):
        with pytest.raises(ImageBomb) as caught:
            call(bomb)
        assert caught.value.status == 413
        assert "像素" in caught.value.message and "pixels" in caught.value.message


def test_an_image_between_pillows_warning_and_its_error_is_refused_too() -> None:
    """Pillow only warns from MAX_IMAGE_PIXELS to twice that; it is refused here all the same."""
    side = int((Image.MAX_IMAGE_PIXELS or 0) ** 0.5) + 100
    with pytest.raises(ImageBomb), pytest.warns(Image.DecompressionBombWarning):
        photos.check_image(png_header_only(side, side))


def test_a_pdf_named_jpg_is_not_an_image(tmp_path: object) -> None:
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
    for data in (pdf, b"", b"GIF89a" + b"\x00" * 40):
        with pytest.raises(NotAnImage) as caught:
            photos.check_image(data)
        assert "JPEG" in caught.value.message and "不是照片" in caught.value.message


def test_other_formats_pillow_reads_are_refused() -> None:
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, "BMP")
    with pytest.raises(NotAnImage):
        photos.check_image(out.getvalue())


def test_size_limits_refuse_a_file_too_large_and_keep_reduced_photos_small() -> None:
    with pytest.raises(PhotoTooLarge) as caught:
        photos.check_image(b"\xff\xd8" + b"\x00" * 2000, max_bytes=1000)
    assert caught.value.status == 413
    assert isinstance(caught.value, PhotoRefused)

    reduced = photos.reduce_photo(camera_jpeg(4000, 3000))
    assert max(reduced.width, reduced.height) == photos.MAX_SIDE
    assert (reduced.width, reduced.height) == (1600, 1200)
    assert len(reduced.jpeg) <= photos.TARGET_BYTES
    # Near the target, not far below it: quality is searched, not fixed.
    assert len(reduced.jpeg) > photos.TARGET_BYTES * 0.6
    # The server checks received bytes the same way, within the reduced photo's cap.
    info = photos.check_image(reduced.jpeg, max_bytes=photos.MAX_REDUCED_BYTES)
    assert (info.format, info.width, info.height) == ("JPEG", 1600, 1200)
    assert info.size_bytes == len(reduced.jpeg)


def test_a_small_photo_is_not_enlarged() -> None:
    reduced = photos.reduce_photo(camera_jpeg(640, 480))
    assert (reduced.width, reduced.height) == (640, 480)


def test_exif_time_and_gps_are_kept_as_fields_and_stripped_from_the_bytes() -> None:
    original = camera_jpeg(
        2400, 1800, taken="2026:12:05 10:30:00", gps=(30.2741, 120.1551), orientation=1
    )
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    reduced = photos.reduce_photo(original)
    # No offset: China time, so 10:30 in Hangzhou is 02:30 UTC.
    assert reduced.taken_at == "2026-12-05T02:30:00Z"
    assert reduced.latitude == pytest.approx(30.2741, abs=1e-4)
    assert reduced.longitude == pytest.approx(120.1551, abs=1e-4)
    assert reduced.accuracy_m == 8.0

    kept = Image.open(io.BytesIO(reduced.jpeg))
    assert not kept.getexif()
    assert not {"exif", "icc_profile", "comment", "xmp"} & set(kept.info)
    for trace in (b"Exif", b"TestPhone", b"Zhang", b"13812345678", b"http://ns.adobe.com"):
        assert trace not in reduced.jpeg
    import hashlib

    assert reduced.sha256 == hashlib.sha256(reduced.jpeg).hexdigest()


def test_an_exif_offset_is_honoured_and_a_photo_without_exif_has_no_time_or_place() -> None:
    with_offset = photos.reduce_photo(
        camera_jpeg(800, 600, taken="2026:12:05 10:30:00", offset="+05:00")
    )
    assert with_offset.taken_at == "2026-12-05T05:30:00Z"
    bare = photos.reduce_photo(camera_jpeg(800, 600))
    assert (bare.taken_at, bare.latitude, bare.longitude, bare.accuracy_m) == (None,) * 4
    zeroes = photos.reduce_photo(camera_jpeg(800, 600, taken="0000:00:00 00:00:00"))
    assert zeroes.taken_at is None


def test_exif_orientation_is_applied() -> None:
    # Orientation 6: the camera was turned; the upright picture is tall, not wide.
    reduced = photos.reduce_photo(camera_jpeg(2400, 1800, orientation=6))
    assert (reduced.width, reduced.height) == (1200, 1600)
    upright = Image.open(io.BytesIO(reduced.jpeg)).convert("RGB")
    # The red block, top-left before turning, is at the top-right after a 90° clockwise turn.
    red, green, blue = upright.getpixel((upright.width - 5, 5))  # type: ignore[misc]
    assert red > 180 and green < 90


def test_a_transparent_png_is_flattened_on_white() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 0, 0)).save(out, "PNG")
    reduced = photos.reduce_photo(out.getvalue())
    darkest, _lightest = Image.open(io.BytesIO(reduced.jpeg)).convert("L").getextrema()
    assert darkest > 250  # type: ignore[operator]


def test_a_corrupt_png_checksum_is_refused() -> None:
    out = io.BytesIO()
    Image.new("RGB", (50, 50), (10, 200, 10)).save(out, "PNG")
    data = bytearray(out.getvalue())
    data[40] ^= 0xFF
    with pytest.raises(PhotoRefused):
        photos.check_image(bytes(data))
