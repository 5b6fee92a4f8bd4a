"""tianjian-server upstream: a county reporting up to its province (thin callers of server/upstream)."""

from __future__ import annotations

import click
from sqlite_utils import Database

from server import settings
from server.media.chosen import media_store
from server.upstream import codes, forward, merges_up, photos_up, reviews_up
from shared.choices import RECORD_KINDS, words
from shared.cli_numbers import WHOLE


def _db(ctx: click.Context) -> Database:
    """The database as every command opens it (server/cli.py: brought up to date, not created)."""
    from server.cli import _db as open_db

    return open_db(ctx)


def _settings(ctx: click.Context) -> dict[str, object]:
    """The settings a media store is chosen by, as `purge-tombstones` reads them."""
    return {**settings.defaults_from_environment(), "DATABASE": ctx.obj["db_path"]}


@click.group("upstream")
def upstream() -> None:
    """县级向省级上报 / A county reporting its records up to its province."""


@upstream.command("code")
@click.argument("county_code")
@click.option(
    "--minutes",
    type=WHOLE,
    default=codes.DEFAULT_CODE_MINUTES,
    show_default=True,
    help="有效分钟数 / minutes the code stays valid",
)
@click.pass_context
def upstream_code(ctx: click.Context, county_code: str, minutes: int) -> None:
    """（省级运行）为一个县签发一次性上报登记码 / (On the province) issue a county its one-time link code."""
    issued = codes.issue_link_code(_db(ctx), county_code, minutes)
    click.echo(
        f"{issued.county_name} ({issued.county_code}) 上报登记码 / link code: {issued.code}  "
        f"（{issued.minutes} 分钟内有效，只能使用一次 / valid {issued.minutes} minutes, once）"
    )


@upstream.command("enroll")
@click.argument("url")
@click.argument("code")
@click.option("--name", default="", help="本县服务器的名称 / a name for this county's server")
@click.pass_context
def upstream_enroll(ctx: click.Context, url: str, code: str, name: str) -> None:
    """（县级运行）用省级签发的码与省级服务器建立上报链接 / (On a county) link to the province with its code."""
    linked = forward.enroll(_db(ctx), url, code, name)
    click.echo(f"已与省级建立上报链接 / linked to the province as county {linked['county_code']}")


@upstream.command("push")
@click.pass_context
def upstream_push(ctx: click.Context) -> None:
    """（县级运行，可由定时任务调用）上报新记录，取回省级下达的目标和目录 / (On a county, from cron) forward what changed, take the province's targets and catalogue."""
    db = _db(ctx)
    done = forward.push_once(db)
    click.echo(
        f"已上报 {done.sent} 条变更，省级暂存 {done.held} 条，拒收 {len(done.refused)} 条 / "
        f"forwarded {done.sent} changes, {done.held} held, {len(done.refused)} refused "
        f"(cursor {done.cursor})"
    )
    for item in done.refused[:20]:
        click.echo(f"  拒收 refused q={item['q']}: {item.get('r')}")
    merges = merges_up.send_merges(db)
    click.echo(
        f"农户合并：省级合并 {merges.merged} 条，已是同一人 {merges.same} 条，拒收 "
        f"{merges.refused} 条，下次再传 {merges.later} 条 / farmer merges: {merges.merged} "
        f"made, {merges.same} already one, {merges.refused} refused, {merges.later} later"
    )
    reviewed = reviews_up.send_reviews(db)
    click.echo(
        f"审核：省级更新 {reviewed.set} 条，已一致 {reviewed.same} 条，拒收 {reviewed.refused} 条，"
        f"下次再传 {reviewed.later} 条 / reviews: {reviewed.set} set, {reviewed.same} already "
        f"there, {reviewed.refused} refused, {reviewed.later} later"
    )
    sent = photos_up.send_photos(db, media_store(_settings(ctx)))
    click.echo(
        f"照片：上传完成 {sent.whole} 张，省级拒收 {sent.refused} 张，下次再传 {sent.later} 张 / "
        f"photos: {sent.whole} sent whole, {sent.refused} refused, {sent.later} left for next time"
    )
    down = forward.pull_down(db)
    written, removed = down.targets
    click.echo(
        f"省级下达目标：更新 {written} 条，撤销 {removed} 条 / targets from the province: "
        f"{written} set, {removed} removed"
    )
    written, handed_back = down.catalogue
    click.echo(
        f"省级目录：更新 {written} 条，交还本县 {handed_back} 条 / the province's catalogue: "
        f"{written} written, {handed_back} handed back to this county"
    )


@upstream.command("status")
@click.pass_context
def upstream_status(ctx: click.Context) -> None:
    """（县级运行）显示上报链接和待上报的记录 / (On a county) show the link and what waits to go up."""
    shown = forward.status(_db(ctx))  # the records; the photos' bytes below
    click.echo(
        f"省级 province: {shown.url}  县 county: {shown.county_code}  cursor: {shown.cursor}"
    )
    click.echo(f"上次上报 last forward: {shown.last_forward_at or '-'}")
    if shown.last_error:
        click.echo(f"上次问题 last problem: {shown.last_error}")
    if not shown.waiting:
        click.echo("没有待上报的记录 / nothing waits to go up")
    for kind, count in shown.waiting.items():
        click.echo(f"待上报 waiting: {words(RECORD_KINDS, kind).zh} {kind}: {count}")
    db = _db(ctx)
    photos = len(photos_up.waiting(db, shown.cursor))
    refused = photos_up.refused(db)
    if photos:
        click.echo(f"待上传照片 photos waiting to go up: {photos}")
    for sha256, note in refused[:20]:
        click.echo(f"  省级拒收照片 photo refused {sha256[:12]}…: {note}")
