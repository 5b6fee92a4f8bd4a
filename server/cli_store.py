"""tianjian-server commands on the database as a whole: summaries, and copying a county into
PostgreSQL (thin callers of server/summaries and server/store/copy.py)."""

from __future__ import annotations

import click
from sqlite_utils import Database

from server.store.copy import copy_database
from server.summaries import maintain


def _db(ctx: click.Context) -> Database:
    """The database as every command opens it (server/cli.py: brought up to date, not created)."""
    from server.cli import _db as open_db

    return open_db(ctx)


@click.group("summaries")
def summaries_group() -> None:
    """汇总表（写入时维护）/ The summary tables kept on write (figures read from them)."""


@summaries_group.command("rebuild")
@click.pass_context
def summaries_rebuild(ctx: click.Context) -> None:
    """按记录重建全部汇总表 / Rebuild every summary table from the records."""
    counties = maintain.rebuild(_db(ctx))
    click.echo(
        f"已重建 {counties} 个县·年的汇总 / rebuilt the summaries of {counties} county-years"
    )


@summaries_group.command("check")
@click.pass_context
def summaries_check(ctx: click.Context) -> None:
    """按记录重算并与汇总表比对，不符则退出码 1 / Recompute from the records and compare; exit 1 at the first difference."""
    maintain.verify(_db(ctx))
    click.echo("汇总表与记录一致 / the summaries agree with the records")


@click.command("copy")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="postgresql://…",
    help="空的 PostgreSQL 数据库 / an empty PostgreSQL database",
)
@click.pass_context
def copy(ctx: click.Context, target: str) -> None:
    """把本县 SQLite 数据库整库复制到 PostgreSQL / Copy this SQLite database, every record,
    cursor and device token, into an empty PostgreSQL database."""
    source = _db(ctx)
    try:
        copied = copy_database(source, target)
    finally:
        source.close()
    for table in copied:
        click.echo(f"{table.table}: {table.rows}")
    total = sum(t.rows for t in copied)
    click.echo(
        f"已复制 {len(copied)} 张表共 {total} 行 / copied {total} rows of {len(copied)} tables"
    )


store_commands = [summaries_group, copy]
