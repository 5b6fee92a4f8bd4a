"""Photos on the pages: /media/<sha256> the whole picture, /media/<sha256>/thumb a thumbnail,
each only to a signed-in user allowed to see a record that names it (server/media/serving.py)."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from werkzeug.wrappers import Response

from server.accounts.access import ANYONE, requires, signed_in
from server.media import serving
from server.media.chosen import media_store
from server.store.db import get_db
from server.web.formatting import chosen_words
from shared.choices import PHOTO_KINDS

bp = Blueprint("media", __name__, url_prefix="/media")
# Content-addressed, so a picture never changes; private, since who may see it is checked.
CACHE_SECONDS = 7 * 86400


def _send(pick: serving.Picker, sha256: str) -> Response:
    """Stream the picture from the store (folder or S3) through the app, so who may see it is
    checked on every request; a browser holding it already is answered 304."""
    picture = pick(get_db(), media_store(current_app.config), signed_in(), sha256)
    response = Response(picture.blocks(), mimetype=picture.mimetype, direct_passthrough=True)
    response.call_on_close(picture.close)
    response.content_length = picture.size
    response.set_etag(picture.etag)
    response.cache_control.max_age = CACHE_SECONDS
    response.cache_control.private = True
    return response.make_conditional(request)


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
