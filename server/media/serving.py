"""Opening a photo on the pages: the whole picture or a thumbnail (made once, kept in the media
folder), only for a user allowed to see a record that names it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageOps
from sqlite_utils import Database

from server.accounts.access import NotAllowed
from server.accounts.users import User
from server.media.errors import BytesNotArrived, PhotoNotFound
from server.media.photos import may_see, photos_of_sha
from server.media.store import SHA256, MediaStore

# The long side of a thumbnail: enough for a list on a 1366 px screen or a phone, some 15 KB.
THUMB_PIXELS = 320
THUMB_QUALITY = 80
# What the first bytes of a stored picture say it is (devices send JPEG; check_image also
# takes PNG and WebP).
_MAGIC = ((b"\x89PNG", "image/png"), (b"RIFF", "image/webp"))
# How a page finds the file it sends: the whole picture or its thumbnail.
Picker = Callable[[Database, MediaStore, User, str], Path]


def _allowed(db: Database, store: MediaStore, user: User, sha256: str) -> Path:
    """The stored file of a picture this user may see; PhotoNotFound, NotAllowed or
    BytesNotArrived (a record names it, but not all its bytes have come) otherwise."""
    if not SHA256.fullmatch(sha256):
        raise PhotoNotFound()
    named = photos_of_sha(db, sha256)
    if not named:
        raise PhotoNotFound()
    if not any(may_see(db, user, photo) for photo in named):
        raise NotAllowed("特派员只能查看自己记录的照片 / envoys see only their own records' photos")
    path = store.final_path(sha256)
    if not any(photo.complete for photo in named) or not path.is_file():
        raise BytesNotArrived()
    return path


def mimetype_of(path: Path) -> str:
    with open(path, "rb") as stored:
        head = stored.read(12)
    for magic, mimetype in _MAGIC:
        if head.startswith(magic):
            return mimetype
    return "image/jpeg"


def full_picture(db: Database, store: MediaStore, user: User, sha256: str) -> Path:
    return _allowed(db, store, user, sha256)


def thumbnail(db: Database, store: MediaStore, user: User, sha256: str) -> Path:
    """The picture's thumbnail, made on first asking and kept beside the pictures."""
    source = _allowed(db, store, user, sha256)
    target = store.thumb_path(sha256, THUMB_PIXELS)
    if not target.is_file():
        _make_thumbnail(source, target)
    return target


def _make_thumbnail(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        # A JPEG decoded at the smallest of 1/2, 1/4, 1/8 that still covers the thumbnail.
        image.draft("RGB", (THUMB_PIXELS, THUMB_PIXELS))
        upright = ImageOps.exif_transpose(image).convert("RGB")
        upright.thumbnail((THUMB_PIXELS, THUMB_PIXELS), Image.Resampling.LANCZOS)
        # Written aside and renamed: two requests at once never serve a half-written file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                upright.save(out, "JPEG", quality=THUMB_QUALITY, optimize=True)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
