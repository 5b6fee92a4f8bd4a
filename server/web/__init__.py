"""The bureau's pages: sign-in, progress, breakdowns, records, targets, staff and admin pages."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, redirect, request, send_from_directory, session, url_for
from flask_babel import Babel
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

from server.accounts.access import current_user
from server.store.db import get_state, init_db, set_state
from server.web import errors, formatting, navigation
from shared import farmer_page
from shared.redirects import same_site_or
from shared.web_headers import add_security_headers

LANGUAGES = ("zh_CN", "en")
csrf = CSRFProtect()


def _secret_key(app: Flask) -> str:
    """The configured key, or one made on first start and kept in the database."""
    if app.config.get("SECRET_KEY"):
        return str(app.config["SECRET_KEY"])
    db = init_db(app.config["DATABASE"])
    try:
        key = get_state(db, "secret_key")
        if key is None:
            key = secrets.token_urlsafe(48)
            db.execute("BEGIN IMMEDIATE")
            # Another process may have made one meanwhile: keep the first.
            set_state(db, "secret_key", get_state(db, "secret_key") or key)
            db.execute("COMMIT")
            key = get_state(db, "secret_key")
        return str(key)
    finally:
        db.close()


def select_locale() -> str:
    lang = session.get("lang")
    return str(lang) if lang in LANGUAGES else "zh_CN"


def this_page(**changes: Any) -> str:
    """This page's address with some query arguments changed (None drops one). A query
    argument named like one of the address's own parts (/records/sessions?what=x) is dropped:
    the address says which page this is."""
    path_args = request.view_args or {}
    args = {**request.args.to_dict(), **changes}
    args = {k: v for k, v in args.items() if v is not None and k not in path_args}
    return url_for(request.endpoint or "root", **path_args, **args)


def register_web(app: Flask, api: Api) -> None:
    app.config["SECRET_KEY"] = _secret_key(app)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=int(app.config["SESSION_IDLE_MINUTES"])),
        # Re-sent on every request, so the lifetime counts from the last request: idle expiry.
        SESSION_REFRESH_EACH_REQUEST=True,
        # Checked per page blueprint (below), not on the device and token API.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
    )
    Babel(app, locale_selector=select_locale)
    csrf.init_app(app)
    formatting.register(app)
    farmer_page.register(app)

    from server.web import (
        admin,
        audit,
        auth,
        breakdowns,
        farmer_checkin,
        flags,
        ledger,
        media,
        performance,
        progress,
        reconciliation,
        records,
        reference,
        review,
        staff,
        summary,
        targets,
    )

    pages = (
        auth,
        progress,
        breakdowns,
        records,
        reconciliation,
        flags,
        summary,
        performance,
        targets,
        staff,
        reference,
        review,
        audit,
        admin,
        ledger,
        media,
        farmer_checkin,
    )
    for module in pages:
        app.register_blueprint(module.bp)
    page_blueprints = {module.bp.name for module in pages}

    @app.before_request
    def check_csrf() -> None:
        # Every form on a page; the API answers devices and token holders, not browsers' forms.
        if request.blueprint in page_blueprints or not request.path.startswith("/api/"):
            csrf.protect()

    @app.get("/")
    def root() -> Response:
        return redirect(url_for("progress.overview"))

    @app.get("/favicon.ico")
    def favicon() -> Response:
        """Browsers ask every page for it: answered, not a 404 in each page's log."""
        return send_from_directory(app.static_folder or "static", "favicon.ico", max_age=7 * 86400)

    @app.get("/lang/<lang>")
    def switch_language(lang: str) -> Response:
        if lang in LANGUAGES:
            session["lang"] = lang
        target = request.args.get("next", "")
        return redirect(same_site_or(target, url_for("progress.overview")))

    @app.after_request
    def security_headers(response: Response) -> Response:
        add_security_headers(response.headers)
        return response

    @app.context_processor
    def page_context() -> dict[str, Any]:
        return {
            "current_user": current_user(),
            "current_lang": select_locale(),
            "nav_menus": navigation.menus_for(current_user(), request.endpoint),
            "role_label": formatting.role_label,
            "this_page": this_page,
        }

    errors.register(app, api)
