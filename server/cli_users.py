"""tianjian-server users: who signs in to the bureau's pages, and the area each sees (thin callers of server/accounts)."""

from __future__ import annotations

import os
from typing import Any

import click
from sqlite_utils import Database

from server.accounts import audit
from server.files.page_tables import china_time_text
from server.reference import lookups
from shared.choices import AREA_LEVELS, ROLES, words


def _db(ctx: click.Context, create: bool = False) -> Database:
    """The database as every command opens it (server/cli.py)."""
    from server.cli import _db as open_db

    return open_db(ctx, create)


@click.group("users")
def users_group() -> None:
    """登录科技局网页的用户 / People who sign in to the bureau's pages (admin, staff, envoy)."""


@users_group.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["admin", "staff", "envoy"]),
    required=True,
    help="角色权限 / What they may do.",
)
@click.option(
    "--envoy",
    "envoy_name",
    default=None,
    help="特派员用户对应的特派员姓名（重名时用其 id）/ For an envoy user: the envoy's name"
    " (their id where several share it).",
)
@click.option(
    "--password-file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="从文件第一行读密码 / Read the password from this file's first line (else TIANJIAN_PASSWORD, else a prompt).",
)
@click.pass_context
def users_add(
    ctx: click.Context, name: str, role: str, envoy_name: str | None, password_file: Any
) -> None:
    """添加用户（第一个管理员也这样建立）/ Add a user who signs in with NAME; the first admin is made this way."""
    from server.accounts import users

    if password_file is not None:
        password = password_file.readline().rstrip("\r\n")
    elif os.environ.get("TIANJIAN_PASSWORD"):
        password = os.environ["TIANJIAN_PASSWORD"]
    else:
        password = click.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    db = _db(ctx, create=True)
    envoy_id = lookups.envoy_by_name(db, envoy_name)["id"] if envoy_name else None
    user = users.add_user(db, name, role, password, envoy_id, audit.cli_actor())
    click.echo(f"已添加用户 / added user {user.name} ({user.role})")


@users_group.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """列出用户、角色和最后登录时间 / List users with their role and last sign-in."""
    from server.accounts import users

    for row in users.list_users(_db(ctx)):
        state = "已停用 disabled" if row["disabled_at"] else "有效 active"
        area = f"{words(AREA_LEVELS, row['level']).zh}{row['area_name'] or ''}" or "全部 all"
        click.echo(
            f"{row['name']}  {words(ROLES, row['role']).zh}  {row['envoy'] or '-'}  {area}  "
            f"{china_time_text(row['last_sign_in_at']) or '-'}  {state}"
        )


@users_group.command("area")
@click.argument("name")
@click.argument("level", required=False, type=click.Choice(["province", "city", "county"]))
@click.argument("area_code", required=False)
@click.pass_context
def users_area(ctx: click.Context, name: str, level: str | None, area_code: str | None) -> None:
    """设置用户的查看范围：省级、市级或县级及其区划代码；不给级别则可看全部 / Set the area a user sees: LEVEL (province, city or county) and its unit code; none: the whole server."""
    from server.accounts import areas, users

    db = _db(ctx)
    user = users.user_by_name(db, name)
    areas.set_area(db, user.id, level, area_code, audit.cli_actor())
    shown = f"{words(AREA_LEVELS, level).zh} {area_code}" if level else "全部 / the whole server"
    click.echo(f"已设置 {user.name} 的查看范围 / area of {user.name} set: {shown}")
