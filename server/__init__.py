"""The Tianjian server: the bureau's record of the year's extension work, fed by field devices."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from server.settings import defaults_from_environment
from server.store import db


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The server app on the database in DATABASE (created or migrated on start)."""
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.update(defaults_from_environment())
    app.config.update(
        API_TITLE="Tianjian 田间",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_AS_ASCII=False,
    )
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops > 0:
        # Only behind proxies the admin names (`run --trusted-proxies` refuses fewer than 0):
        # otherwise any phone could choose the address every per-address limit counts it by.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    db.init_db(app.config["DATABASE"]).close()
    db.register(app)

    from server.api import TianjianApi, register_api

    api = TianjianApi(app)
    register_api(api)

    from server.web import register_web

    register_web(app, api)

    from server.phone_app import register_phone_app

    register_phone_app(app)
    return app
