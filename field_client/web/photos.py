"""Photos on the envoy's pages: taken on a session or an observation, shown as thumbnails."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, send_file
from flask import url_for as url
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from field_client import photos
from field_client.web.db import get_store
from field_client.web.i18n import say
from field_client.web.security import require_envoy
from shared import protocol as p
from shared.choices import PHOTO_KINDS
from shared.errors import TianjianError
from shared.photos import MAX_PHOTO_BYTES
from shared.schemas.field import PHOTO_KINDS_OF_SUBJECT

bp = Blueprint("photos", __name__, url_prefix="/envoy/photos")
bp.before_request(require_envoy)

# The one request allowed past the app's 64 KiB: a photo as the phone's camera makes it, with
# the form's few fields beside it.
MAX_UPLOAD_BYTES = MAX_PHOTO_BYTES + 64 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _subject_page(subject_kind: str, subject_id: str) -> str:
    if subject_kind == "session":
        return url("envoy.session_page", session_id=subject_id)
    return url("photos.observation", observation_id=subject_id)


def gallery(subject_kind: str, subject_id: str) -> dict[str, Any]:
    """What the photos part of a subject's page shows: its photos and the kinds it takes."""
    codes = PHOTO_KINDS_OF_SUBJECT[subject_kind]
    return {
        "subject_kind": subject_kind,
        "subject_id": subject_id,
        "photos": photos.photos_of(get_store(), subject_kind, subject_id),
        "photo_kinds": {code: PHOTO_KINDS[code] for code in codes},
        "max_mb": MAX_PHOTO_BYTES // (1024 * 1024),
    }


@bp.post("/<any(session, observation):subject_kind>/<subject_id>")
def upload(subject_kind: str, subject_id: str) -> Response:
    """One photo from the page's file field (the phone's camera or a file), reduced and kept;
    refused with the reason when it is not an image it can take, nothing written."""
    back = _subject_page(subject_kind, subject_id)
    given = request.files.get("photo")
    data = given.read(MAX_PHOTO_BYTES + 1) if given is not None else b""
    if not data:
        flash(_("Choose or take a photo first."), "refused")
        return redirect(back, 303)
    try:
        added = photos.add_photo(
            get_store(),
            subject_kind,
            subject_id,
            data,
            request.form.get("photo_kind") or None,
            request.form.get("note", "").strip() or None,
        )
    except TianjianError as exc:
        flash(say(exc.message), "refused")
        return redirect(back, 303)
    if added.new:
        flash(_("Photo added; it is sent at the next sync."), "done")
    else:
        flash(_("This photo was there already."), "warn")
    return redirect(back, 303)


@bp.post("/<photo_id>/delete")
def delete(photo_id: str) -> Response:
    """Take a photo off its subject; deleting twice deletes once."""
    store = get_store()
    record = store.record(p.PHOTO, photo_id)
    if record is None or record.get("subject_kind") not in PHOTO_KINDS_OF_SUBJECT:
        abort(404)
    back = _subject_page(record["subject_kind"], record.get("subject_id") or "")
    if not record.get("deleted"):
        try:
            photos.delete_photo(store, photo_id)
        except TianjianError as exc:
            flash(say(exc.message), "refused")
            return redirect(back, 303)
    flash(_("Photo deleted."), "done")
    return redirect(back, 303)


def _kept(sha256: str, thumbnail: bool) -> Response:
    if not _SHA256.fullmatch(sha256):
        abort(404)
    store = get_store()
    known = store.db.execute("SELECT 1 FROM photos WHERE sha256 = ? LIMIT 1", [sha256]).fetchone()
    path = (photos.thumb_path if thumbnail else photos.photo_path)(store, sha256)
    if known is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=86400, conditional=True)
    # Photos of people: kept by this browser only, never by a cache between.
    response.cache_control.private = True
    response.cache_control.public = False
    return response


@bp.get("/<sha256>.jpg")
def full(sha256: str) -> Response:
    return _kept(sha256, thumbnail=False)


@bp.get("/<sha256>/thumb.jpg")
def thumb(sha256: str) -> Response:
    return _kept(sha256, thumbnail=True)


@bp.get("/observation/<observation_id>")
def observation(observation_id: str) -> str:
    """A plot observation with its photos and the form to add one."""
    store = get_store()
    record = store.record(p.PLOT_OBSERVATION, observation_id)
    if record is None or record.get("deleted"):
        abort(404)
    plot = store.record(p.PLOT, record.get("plot_id") or "") or {}
    return render_template(
        "photos/observation.html",
        observation=record,
        plot=plot,
        gallery=gallery("observation", observation_id),
    )


def _upload_cap() -> None:
    # Set before CSRF reads the form, so only this endpoint takes a photo-sized body. The
    # multipart parser also holds each block it reads (64 KiB) against the form-memory cap,
    # so that is raised here too; the text fields themselves stay tiny.
    if request.endpoint == "photos.upload":
        request.max_content_length = MAX_UPLOAD_BYTES
        request.max_form_memory_size = 256 * 1024


def init_app(app: Flask) -> None:
    """Before security.init_app: the upload's size cap must be set before CSRF parses it."""
    app.before_request(_upload_cap)
    app.jinja_env.globals["photo_gallery"] = gallery
    app.jinja_env.globals["photos_waiting"] = lambda: photos.waiting(get_store())
