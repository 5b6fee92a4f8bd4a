"""Admins manage who may sign in (users, roles and the area each sees) and the report API's tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from marshmallow import Schema, fields, validate

from server.accounts import areas, users
from server.accounts.access import ADMIN_ONLY, requires, signed_in
from server.reference import lists as listings
from server.store.db import get_db
from server.web import forms
from server.web.formatting import chosen_words
from shared.choices import AREA_LEVELS

bp = Blueprint("users", __name__, url_prefix="/admin")


class NewUserForm(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 40))
    role = fields.String(required=True, validate=validate.OneOf(users.ROLES))
    password = fields.String(
        required=True, validate=validate.Length(users.MIN_PASSWORD_LENGTH, 200)
    )
    envoy_id = fields.String(load_default=None)


class TokenForm(Schema):
    label = fields.String(required=True, validate=validate.Length(1, 60))


def _form(schema: Schema) -> dict[str, Any]:
    return forms.load(schema, request.form)


def _page(new_token: str | None = None) -> str:
    db = get_db()
    return render_template(
        "users.html",
        users=users.list_users(db),
        tokens=users.list_api_tokens(db),
        envoys=listings.envoys(db),
        roles=users.ROLES,
        levels=AREA_LEVELS,
        chosen_words=chosen_words,
        new_token=new_token,
    )


@bp.get("/users")
@requires(*ADMIN_ONLY)
def list_users() -> str:
    return _page()


@bp.post("/users")
@requires(*ADMIN_ONLY)
def add_user() -> Any:
    form = _form(NewUserForm())
    user = users.add_user(
        get_db(), form["name"], form["role"], form["password"], form["envoy_id"], signed_in()
    )
    flash(gettext("已添加用户 %(name)s", name=user.name), "ok")
    return redirect(url_for("users.list_users"))


@bp.post("/users/<int:user_id>/disable")
@requires(*ADMIN_ONLY)
def disable_user(user_id: int) -> Any:
    users.set_disabled(get_db(), user_id, request.form.get("enable") != "1", signed_in())
    flash(gettext("已更新"), "ok")
    return redirect(url_for("users.list_users"))


class PasswordForm(Schema):
    password = fields.String(
        required=True, validate=validate.Length(users.MIN_PASSWORD_LENGTH, 200)
    )


@bp.post("/users/<int:user_id>/password")
@requires(*ADMIN_ONLY)
def reset_password(user_id: int) -> Any:
    users.set_password(get_db(), user_id, _form(PasswordForm())["password"], signed_in())
    flash(gettext("密码已重设"), "ok")
    return redirect(url_for("users.list_users"))


class AreaForm(Schema):
    level = fields.String(load_default="")
    area = fields.String(load_default="", validate=validate.Length(max=12))


@bp.post("/users/<int:user_id>/area")
@requires(*ADMIN_ONLY)
def set_area(user_id: int) -> Any:
    form = _form(AreaForm())
    areas.set_area(get_db(), user_id, form["level"] or None, form["area"] or None, signed_in())
    flash(gettext("查看范围已更新"), "ok")
    return redirect(url_for("users.list_users"))


@bp.post("/tokens")
@requires(*ADMIN_ONLY)
def issue_token() -> str:
    token = users.issue_api_token(get_db(), _form(TokenForm())["label"], signed_in())
    # Shown once, on this page only: it is stored hashed.
    return _page(new_token=token)


@bp.post("/tokens/<int:token_id>/revoke")
@requires(*ADMIN_ONLY)
def revoke_token(token_id: int) -> Any:
    users.revoke_api_token(get_db(), token_id, signed_in())
    flash(gettext("令牌已撤销"), "ok")
    return redirect(url_for("users.list_users"))
