"""Photos on the pages: /media/<sha256> the whole picture, /media/<sha256>/thumb a thumbnail,
each only to a signed-in user allowed to see a record that names it (server/media/serving.py)."""

from __future__ import annotations

from flask import Blueprint, current_app, send_file
from werkzeug.wrappers import Response

from server.accounts.access import ANYONE, requires, signed_in
from server.media import serving
from server.media.store import MediaStore, media_dir
from server.store.db import get_db
from server.web.formatting import chosen_words
from shared.choices import PHOTO_KINDS

bp = Blueprint("media", __name__, url_prefix="/media")
# Content-addressed, so a picture never changes; private, since who may see it is checked.
CACHE_SECONDS = 7 * 86400


def _send(path_of: serving.Picker, sha256: str) -> Response:
    store = MediaStore(media_dir(current_app.config))
    path = path_of(get_db(), store, signed_in(), sha256)
    response = send_file(path, mimetype=serving.mimetype_of(path), max_age=CACHE_SECONDS)
    response.cache_control.private = True
    response.cache_control.public = False
    return response


@bp.get("/<sha256>")
@requires(*ANYONE)
def picture(sha256: str) -> Response:
    return _send(serving.full_picture, sha256)


@bp.get("/<sha256>/thumb")
@requires(*ANYONE)
def thumb(sha256: str) -> Response:
    return _send(serving.thumbnail, sha256)


@bp.app_template_global()
def photo_kind_label(code: str) -> str:
    """A photo kind's name in the page's language (shared/choices.py PHOTO_KINDS)."""
    return chosen_words(PHOTO_KINDS[code]) if code in PHOTO_KINDS else code
