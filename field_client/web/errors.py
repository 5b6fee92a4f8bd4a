"""One way every page refuses: a short page in the reader's language, never a traceback."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from field_client.web.i18n import say
from shared.errors import TianjianError
from shared.photos import MAX_PHOTO_BYTES


def _page(title: str, message: str, status: int) -> tuple[str, int]:
    return render_template("error.html", title=title, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(TianjianError)
    def refused(exc: TianjianError) -> tuple[str, int]:
        return _page(_("Cannot do that"), say(exc.message), exc.status)

    @app.errorhandler(CSRFError)
    def stale_form(_exc: CSRFError) -> tuple[str, int]:
        return _page(
            _("Form expired"),
            _(
                "This form is too old or did not come from this device. Go back, reload the page and try again."
            ),
            400,
        )

    @app.errorhandler(413)
    def too_large(_exc: HTTPException) -> tuple[str, int]:
        if request.endpoint == "photos.upload":
            return _page(
                _("Too much data"),
                _(
                    "The photo file is larger than %(mb)d MB: take it at a lower resolution.",
                    mb=MAX_PHOTO_BYTES // (1024 * 1024),
                ),
                413,
            )
        return _page(_("Too much data"), _("What was sent is too large for this form."), 413)

    @app.errorhandler(404)
    def not_found(_exc: HTTPException) -> tuple[str, int]:
        return _page(_("Not found"), _("There is no such page on this device."), 404)

    @app.errorhandler(405)
    def wrong_method(_exc: HTTPException) -> tuple[str, int]:
        return _page(_("Not allowed"), _("This page cannot be used that way."), 405)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[str, int]:
        if isinstance(exc, HTTPException):
            return _page(exc.name, exc.description or "", exc.code or 500)
        app.logger.exception("unexpected error")
        return _page(
            _("Something went wrong"),
            _("The page could not be shown. Nothing was half-saved; try again."),
            500,
        )
