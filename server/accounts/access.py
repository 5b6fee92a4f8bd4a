"""Who is asking: the signed-in user of a page session, or a report API token; roles checked here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, redirect, request, session, url_for

from server.accounts import signins, users
from server.store.db import get_db
from shared.errors import TianjianError

F = TypeVar("F", bound=Callable[..., Any])

# The page session's token (server/accounts/signins.py): the cookie opens pages only while its row lives.
SESSION_TOKEN = "session"


class SignInRequired(TianjianError):
    status = 401
    message = "请先登录 / please sign in"


class NotAllowed(TianjianError):
    status = 403
    message = "您的角色无权执行此操作 / your role may not do this"


def current_user() -> users.User | None:
    """The signed-in user of this request's page session, loaded once per request."""
    if "user" not in g:
        token = session.get(SESSION_TOKEN)
        user_id = signins.session_user(get_db(), token) if isinstance(token, str) else None
        g.user = users.active_user(get_db(), user_id) if user_id is not None else None
        if token is not None and g.user is None:
            session.pop(SESSION_TOKEN, None)
    return g.user


def signed_in() -> users.User:
    """The signed-in user of a page that `requires` a role (so there is one)."""
    user = current_user()
    if user is None:
        raise SignInRequired()
    return user


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def report_reader() -> users.User | None:
    """Who reads the report API: None for a holder of an admin-issued API token (they read as
    the bureau does), else the signed-in user. Which rows an envoy user sees is
    server/api/scope.py's one policy."""
    token = bearer_token()
    if token is not None:
        if users.api_token_valid(get_db(), token):
            return None
        raise SignInRequired("API 令牌无效或已撤销 / API token unknown or revoked")
    user = current_user()
    if user is None:
        raise SignInRequired("需要登录或 API 令牌 / sign in or send an API token")
    return user


def require_report_reader() -> None:
    """The report API is for signed-in users and holders of an admin-issued API token."""
    report_reader()


def requires(*roles: str) -> Callable[[F], F]:
    """A page for these roles: signed-out people are sent to sign in, other roles refused."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if request.method == "GET":
                    return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
                raise SignInRequired()
            if not user.may(*roles):
                raise NotAllowed()
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


ANYONE = (users.ADMIN, users.STAFF, users.ENVOY)
BUREAU = (users.ADMIN, users.STAFF)
ADMIN_ONLY = (users.ADMIN,)
