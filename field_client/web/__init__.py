"""The envoy's web app and farmers' check-in pages, served from the device by `tianjian-field serve`."""

from __future__ import annotations

from typing import Any

from flask import Flask, redirect, request, send_from_directory, url_for
from werkzeug.wrappers import Response

from field_client.web import (
    auth,
    db,
    envoy,
    errors,
    farmer,
    farmers,
    i18n,
    leaflets,
    outbox,
    photos,
    plots,
    posters,
    progress,
    reviews,
    security,
    sessions,
)
from shared import farmer_page
from shared.redirects import same_site_or


def create_app(store_path: str, test_config: dict[str, Any] | None = None) -> Flask:
    """The app over one device store; `test_config` overrides settings (TESTING, limits...)."""
    app = Flask(__name__)
    app.config.from_mapping(
        STORE_PATH=store_path,
        # Forms are small; nothing the pages accept comes near this.
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=64 * 1024,
        IDLE_LOCK_MINUTES=15,
        # A form left open over a long session still submits; a replayed one still does nothing.
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        # Filled by `serve`: the addresses phones on the hotspot can reach and the port.
        LAN_ADDRESSES=[],
        PORT=8080,
    )
    if test_config:
        app.config.update(test_config)
    db.init_app(app)
    i18n.init_app(app)
    photos.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    farmer_page.register(app)
    for blueprint in (
        auth.bp,
        envoy.bp,
        farmer.bp,
        posters.bp,
        sessions.bp,
        farmers.bp,
        leaflets.bp,
        plots.bp,
        outbox.bp,
        progress.bp,
        reviews.bp,
        photos.bp,
    ):
        app.register_blueprint(blueprint)

    @app.get("/")
    def index() -> Response:
        """Farmers who typed the bare address get the code form; a signed-in envoy their pages."""
        if security.signed_in():
            return redirect(url_for("envoy.home"))
        return redirect(url_for("farmer.enter_code"))

    @app.get("/favicon.ico")
    def favicon() -> Response:
        """Browsers ask every page for it: answered, not a 404 in each page's log."""
        return send_from_directory(app.static_folder or "static", "favicon.ico", max_age=7 * 86400)

    @app.get("/lang/<code>")
    def language(code: str) -> Response:
        response = redirect(same_site_or(request.args.get("next"), "/"))
        if code in i18n.LOCALES:
            response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax")
        return response

    return app
