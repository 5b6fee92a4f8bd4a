"""Opening a photo on the pages: the whole picture or a thumbnail (made once, kept in the media
store), only for a user allowed to see a record that names it; streamed from the store, never
redirected to it, so these access rules hold whichever backend keeps the bytes."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image, ImageOps
from sqlite_utils import Database

from server.accounts.access import NotAllowed
from server.accounts.areas import area_prefix, envoys_in_area
from server.accounts.users import ENVOY, User
from server.media.backend import SHA256, MediaBackend, Opened
from server.media.errors import BytesNotArrived, PhotoNotFound
from server.media.photos import Photo, owners, photos_of_sha

# The long side of a thumbnail: enough for a list on a 1366 px screen or a phone, some 15 KB.
THUMB_PIXELS = 320
THUMB_QUALITY = 80
# What the first bytes of a stored picture say it is (devices send JPEG; check_image also
# takes PNG and WebP).
_MAGIC = ((b"\x89PNG", "image/png"), (b"RIFF", "image/webp"))
HEAD_BYTES = 12


@dataclass
class Picture:
    """Stored bytes to send: what they are, their size, a tag that never changes for them
    (they are content-addressed), and the stream, whose first bytes were read to say what."""

    opened: Opened
    head: bytes
    mimetype: str
    etag: str

    @property
    def size(self) -> int:
        return self.opened.size

    def blocks(self) -> Iterator[bytes]:
        yield self.head
        yield from self.opened.blocks()

    def close(self) -> None:
        self.opened.close()


# How a page finds what it sends: the whole picture or its thumbnail.
Picker = Callable[[Database, MediaBackend, User, str], Picture]


def may_see(db: Database, user: User, photo: Photo) -> bool:
    """Bureau users see every photo of their area (every photo without one), as one record of
    theirs (server/api/scope.py `own_record`); an envoy user only photos of their own records."""
    if user.role != ENVOY:
        return envoys_in_area(db, area_prefix(user) or "", owners(db, photo))
    return user.envoy_id is not None and user.envoy_id in owners(db, photo)


def _allowed(db: Database, user: User, sha256: str) -> None:
    """PhotoNotFound or NotAllowed unless this user may see a record naming the picture, and
    BytesNotArrived when no such record's bytes have all come."""
    if not SHA256.fullmatch(sha256):
        raise PhotoNotFound()
    named = photos_of_sha(db, sha256)
    if not named:
        raise PhotoNotFound()
    if not any(may_see(db, user, photo) for photo in named):
        raise NotAllowed("特派员只能查看自己记录的照片 / envoys see only their own records' photos")
    if not any(photo.complete for photo in named):
        raise BytesNotArrived()


def mimetype_of(head: bytes) -> str:
    for magic, mimetype in _MAGIC:
        if head.startswith(magic):
            return mimetype
    return "image/jpeg"


def _picture(opened: Opened, etag: str) -> Picture:
    head = opened.stream.read(HEAD_BYTES)
    return Picture(opened, head, mimetype_of(head), etag)


def full_picture(db: Database, store: MediaBackend, user: User, sha256: str) -> Picture:
    _allowed(db, user, sha256)
    opened = store.open(sha256)
    if opened is None:
        raise BytesNotArrived()
    return _picture(opened, sha256)


def thumbnail(db: Database, store: MediaBackend, user: User, sha256: str) -> Picture:
    """The picture's thumbnail, made on first asking and kept beside the pictures."""
    _allowed(db, user, sha256)
    etag = f"{sha256}-{THUMB_PIXELS}"
    kept = store.open_thumb(sha256, THUMB_PIXELS)
    if kept is not None:
        return _picture(kept, etag)
    source = store.open(sha256)
    if source is None:
        raise BytesNotArrived()
    try:
        made = make_thumbnail(b"".join(source.blocks()))
    finally:
        source.close()
    store.put_thumb(sha256, THUMB_PIXELS, made)
    return _picture(Opened(io.BytesIO(made), len(made)), etag)


def make_thumbnail(picture: bytes) -> bytes:
    """A JPEG of at most THUMB_PIXELS on the long side, turned upright."""
    with Image.open(io.BytesIO(picture)) as image:
        # A JPEG decoded at the smallest of 1/2, 1/4, 1/8 that still covers the thumbnail.
        image.draft("RGB", (THUMB_PIXELS, THUMB_PIXELS))
        upright = ImageOps.exif_transpose(image).convert("RGB")
        upright.thumbnail((THUMB_PIXELS, THUMB_PIXELS), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        upright.save(out, "JPEG", quality=THUMB_QUALITY, optimize=True)
        return out.getvalue()
