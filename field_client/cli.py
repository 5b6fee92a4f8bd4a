"""tianjian-field: record trainings, check-ins, leaflets and plots offline; sync when in signal.

Each command parses its options, calls one function of field_client.operations (or listing)
and prints; the rules live there, so the web pages behave the same.
"""

from __future__ import annotations

import os
import socket
import sys

import click

from field_client import listing as listings
from field_client import operations as ops
from field_client import photos as photo_store
from field_client import pin as web_pin
from field_client.cli_photos import observation_photo, session_photo
from field_client.cli_records import checkin, farmer, leaflets, plot, session
from field_client.cli_support import (
    Context,
    FieldGroup,
    errors_text,
    pass_ctx,
    table_text,
)
from field_client.listing import KIND_NAMES
from field_client.store import FieldStore
from shared import protocol as p
from shared import serving

__all__ = ["KIND_NAMES", "cli"]


@click.group(cls=FieldGroup)
@click.option(
    "--db",
    "db_path",
    envvar="TIANJIAN_FIELD_DB",
    default="tianjian-field.db",
    show_default=True,
    help="本机数据库文件（或设 TIANJIAN_FIELD_DB） / this device's database file.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="输出 JSON（可放在命令后） / machine-readable output."
)
@click.pass_context
def cli(ctx: click.Context, db_path: str, as_json: bool) -> None:
    """田间 Tianjian 特派员端：无信号也能记录，有信号时 sync 同步 / field client: works offline."""
    ctx.obj = Context(db_path, as_json)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.argument("server_url")
@click.argument("code")
@click.option("--name", "device_name", default=None, help="设备名（默认主机名） / device name.")
@pass_ctx
def enroll(ctx: Context, server_url: str, code: str, device_name: str | None) -> None:
    """用科技局给的一次性码登记本设备，然后同步 / enrol this device with a one-time CODE."""
    answer, report = ops.enrol_device(
        ctx.store, server_url, code, device_name or socket.gethostname()
    )
    ctx.out(
        {"device_id": answer["device_id"], "envoy": answer["envoy"], "pulled": report.pulled},
        f"已登记 / enrolled: {answer['envoy']['name']} · 设备 {answer['device_id']}",
    )
    if not web_pin.has_pin(ctx.store) and sys.stdin.isatty() and not ctx.as_json:
        _ask_pin(ctx.store)


def _ask_pin(store: FieldStore) -> None:
    """Ask for the web pages' PIN at the terminal (typed twice, never echoed)."""
    value = click.prompt(
        f"设置网页登录 PIN（至少{web_pin.MIN_LENGTH}位） / set the PIN for the web pages "
        f"({web_pin.MIN_LENGTH}+ digits)",
        hide_input=True,
        confirmation_prompt=True,
    )
    web_pin.set_pin(store, value)
    click.echo("PIN 已设置 / PIN set")


@cli.command("pin")
@pass_ctx
def set_pin_command(ctx: Context) -> None:
    """设置或更改网页登录 PIN / set or change the PIN that opens the envoy's web pages."""
    _ask_pin(ctx.store)


@cli.command()
@click.option(
    "--host",
    default="0.0.0.0",
    show_default=True,
    help="监听地址（默认全部，热点上的手机才能连上） / address to listen on (all, so phones on the hotspot reach it).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8080,
    show_default=True,
    help="端口（能用80时学员输入地址不必带端口） / port (80 spares farmers typing one, where allowed).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    envvar=serving.THREADS_ENV,
    show_envvar=True,
    help="处理请求的线程数（空闲或慢速连接不占线程） / threads serving requests; idle or slow "
    "connections need none.",
)
@click.option(
    "--connection-limit",
    type=click.IntRange(1, 100_000),
    default=serving.DEFAULT_CONNECTION_LIMIT,
    show_default=True,
    envvar=serving.CONNECTION_LIMIT_ENV,
    show_envvar=True,
    help="同时保持的最多连接数（含空闲、慢速连接；Windows 上至多 500） / most connections kept "
    "open at once, idle and slow ones included (at most 500 on Windows).",
)
@click.option(
    "--channel-timeout",
    type=click.IntRange(1, 86_400),
    default=serving.DEFAULT_CHANNEL_TIMEOUT,
    show_default=True,
    envvar=serving.CHANNEL_TIMEOUT_ENV,
    show_envvar=True,
    help="连接无数据多少秒后关闭 / seconds a connection may stay silent before it is closed.",
)
@pass_ctx
def serve(
    ctx: Context, host: str, port: int, threads: int, connection_limit: int, channel_timeout: int
) -> None:
    """在本机热点上提供特派员页面和学员扫二维码签到（Windows 也可） / serve the web pages."""
    from field_client.web.serve import serve as run

    store = ctx.store
    if not web_pin.has_pin(store):
        preset = os.environ.get("TIANJIAN_FIELD_PIN")
        if preset:
            web_pin.set_pin(store, preset)
        elif sys.stdin.isatty():
            _ask_pin(store)
        else:
            click.echo(
                f"尚未设置 PIN：请在本机打开 http://127.0.0.1:{port}/setup 设置 / "
                f"no PIN yet: open http://127.0.0.1:{port}/setup on this computer to set one"
            )
    ctx.close()
    run(ctx.db_path, host, port, threads, connection_limit, channel_timeout, echo=click.echo)


# ------------------------------------------------------------------ sync and state


@cli.command()
@click.option(
    "--batch-changes",
    type=click.IntRange(1),
    default=p.DEFAULT_BATCH_CHANGES,
    show_default=True,
    help="每次请求最多条数 / most changes per request.",
)
@click.option(
    "--batch-bytes",
    type=click.IntRange(1024),
    default=p.DEFAULT_BATCH_BYTES,
    show_default=True,
    help="每次请求最多压缩字节 / most compressed bytes per request.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1),
    default=60.0,
    show_default=True,
    help="等待应答秒数 / seconds to wait for an answer.",
)
@pass_ctx
def sync(ctx: Context, batch_changes: int, batch_bytes: int, timeout: float) -> None:
    """发送待发数据并取回服务器的更新 / send unsent changes and fetch the server's."""
    outcome = ops.sync_device(
        ctx.store, batch_changes=batch_changes, batch_bytes=batch_bytes, timeout=timeout
    )
    report, media = outcome.report, outcome.photos_waiting
    ctx.out(
        outcome.as_dict(),
        f"已发送 {report.pushed} 条，已接收 {report.pulled} 条；待发 {outcome.pending}，"
        f"被拒 {outcome.rejected} / pushed {report.pushed}, pulled {report.pulled}\n"
        f"照片：本次传完 {report.photos_sent} 张（{_kb(report.photo_bytes_sent)}）；待传 "
        f"{media.photos} 张，已传 {_kb(media.bytes_sent)} / {_kb(media.bytes_total)} / photos: "
        f"{report.photos_sent} sent; {media.photos} waiting, "
        f"{_kb(media.bytes_sent)} of {_kb(media.bytes_total)} sent",
    )
    if outcome.rejected_now:
        raise click.ClickException(
            f"服务器拒绝了 {outcome.rejected_now} 条更改，运行 status 查看原因 / "
            f"the server refused {outcome.rejected_now} changes: run status for the reasons"
        )


def _kb(size: int) -> str:
    return f"{size / 1024:.0f} KB"


@cli.command()
@pass_ctx
def status(ctx: Context) -> None:
    """待发送的更改、被拒的更改及原因、服务器暂存的更改 / what waits, what was refused, what is held."""
    state = listings.device_status(ctx.store)
    lines = [
        f"服务器 / server: {state.server or '（未登记 / not enrolled）'}",
        f"待发送 / pending: {state.pending}",
        f"被拒绝 / rejected: {len(state.rejected)}",
    ]
    lines += [
        f"  #{r.seq} {r.kind} {r.id}: {r.reason} {errors_text(r.errors)}" for r in state.rejected
    ]
    lines.append(f"服务器暂存 / held by the server: {state.held_count}")
    lines += [f"  #{h.seq} {h.kind} {h.id or ''}: {h.reason}" for h in state.held]
    media = photo_store.waiting(ctx.store)
    lines.append(
        f"照片待上传 / photos to upload: {media.photos}"
        f"（{_kb(media.bytes_sent)} / {_kb(media.bytes_total)}）"
    )
    ctx.out({**state.as_dict(), "photos_waiting": media.as_dict()}, "\n".join(lines))


@cli.command("list")
@click.argument("kind", type=click.Choice(sorted(KIND_NAMES)))
@pass_ctx
def list_records(ctx: Context, kind: str) -> None:
    """列出本机某类记录（手机号已遮蔽）；--json 给完整记录 / list records of one kind (phones masked)."""
    record_kind = KIND_NAMES[kind]
    if ctx.as_json:
        ctx.out(listings.full_records(ctx.store, record_kind), "")
        return
    table = listings.listing(ctx.store, record_kind)
    ctx.out(None, table_text(table) if table.rows else "（无 / none）")


for group in (farmer, session, checkin, leaflets, plot):
    cli.add_command(group)
session.add_command(session_photo)
plot.add_command(observation_photo)


if __name__ == "__main__":
    cli()
