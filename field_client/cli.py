"""tianjian-field: record trainings, check-ins, leaflets and plots offline; sync when in signal.

Each command parses its options, calls one function of field_client.operations (or listing)
and prints; the rules live there, so the web pages behave the same.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import sys
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import click
import requests

from field_client import listing as listings
from field_client import operations as ops
from field_client import pin as web_pin
from field_client.listing import KIND_NAMES
from field_client.store import FieldStore
from field_client.sync import DeviceRevoked, SyncFailed
from shared import cli_errors
from shared import protocol as p
from shared.choices import (
    CHECKIN_METHOD_LABELS,
    GENDER_LABELS,
    PLOT_STAGE_LABELS,
    SESSION_KIND_LABELS,
    InvalidChoice,
    choice_help,
    parse_choice,
)
from shared.errors import InvalidRecord, TianjianError

__all__ = ["KIND_NAMES", "cli"]


def _errors_text(errors: Mapping[str, object]) -> str:
    return "; ".join(f"{field}: {reason}" for field, reason in errors.items())


FRIENDLY_ERRORS: dict[type[Exception], Callable[[Any], str]] = {
    InvalidRecord: lambda exc: f"记录无效 / invalid {exc.kind}: {_errors_text(exc.errors)}",
    SyncFailed: lambda exc: f"同步未完成，数据仍在本机待发 / sync incomplete, changes kept: {exc}",
    DeviceRevoked: lambda exc: f"设备已被撤销，请重新登记 / device revoked: {exc}",
    TianjianError: str,
    UnicodeError: lambda exc: (
        f"文字含无法保存的字符 / the text has characters that cannot be stored: {exc.reason}"
    ),
    sqlite3.Error: lambda exc: (
        f"无法打开或读写本机数据库（--db） / cannot use the database file: {exc}"
    ),
    OSError: lambda exc: f"无法读写文件 / cannot read or write a file: {exc}",
    requests.RequestException: lambda exc: f"无法连接服务器 / cannot reach the server: {exc}",
}


class FieldGroup(click.Group):
    """The root group: `--json` may come anywhere, and every command's errors are one line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `tianjian-field list farmers --json` as well as `tianjian-field --json list farmers`.
        end = args.index("--") if "--" in args else len(args)
        if "--json" in args[:end]:
            args = ["--json", *(a for i, a in enumerate(args) if a != "--json" or i >= end)]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        return cli_errors.friendly_errors(FRIENDLY_ERRORS)(super().invoke)(ctx)


class Labelled(click.ParamType):
    """A coded choice typed as its Chinese name or its code (进村培训 or village_training)."""

    def __init__(self, labels: Mapping[str, str], field: str) -> None:
        self.labels = labels
        self.field = field
        self.name = field

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self.labels.values()) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return parse_choice(self.labels, str(value), self.field)
        except InvalidChoice as exc:
            self.fail(str(exc), param, ctx)


KIND = Labelled(SESSION_KIND_LABELS, "kind")
GENDER = Labelled(GENDER_LABELS, "gender")
STAGE = Labelled(PLOT_STAGE_LABELS, "stage")
METHOD = Labelled(CHECKIN_METHOD_LABELS, "method")
TIME_HELP = "如 2026-11-20 09:00、2026/11/20 9:00、11月20日 9:00（中国时间）"
DAY_HELP = "如 2026-11-20、11月20日、今天"


class Context:
    def __init__(self, db_path: str, as_json: bool) -> None:
        self.db_path = db_path
        self.as_json = as_json
        self._store: FieldStore | None = None

    @property
    def store(self) -> FieldStore:
        if self._store is None:
            self._store = FieldStore(self.db_path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def out(self, data: Any, text: str) -> None:
        click.echo(json.dumps(data, ensure_ascii=False) if self.as_json else text)


pass_ctx = click.make_pass_decorator(Context)


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


def _printed_id(ctx: Context, record_id: str) -> None:
    ctx.out({"id": record_id}, record_id)


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
        "设置网页登录 PIN（至少4位） / set the PIN for the web pages (4+ characters)",
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
    help="Address to listen on (all by default, so phones on the hotspot reach it).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8080,
    show_default=True,
    help="Port (80 spares farmers typing one, where allowed).",
)
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True)
@pass_ctx
def serve(ctx: Context, host: str, port: int, threads: int) -> None:
    """在本机热点上提供特派员页面和学员扫码签到（Windows 也可） / serve the web pages."""
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
    run(ctx.db_path, host, port, threads, echo=click.echo)


# ------------------------------------------------------------------ farmers


@cli.group()
def farmer() -> None:
    """农民（学员）登记与修改 / farmers: register and edit."""


@farmer.command("add")
@click.option("--name", required=True, help="姓名 / name.")
@click.option("--village", required=True, help="村名或区划代码 / village name or code.")
@click.option("--mobile", default=None, help="手机号（可不填） / mobile (optional).")
@click.option("--gender", type=GENDER, default=None, help="性别 男/女 / gender.")
@click.option("--birth-year", type=int, default=None, help="出生年份 / year of birth.")
@pass_ctx
def farmer_add(
    ctx: Context,
    name: str,
    village: str,
    mobile: str | None,
    gender: str | None,
    birth_year: int | None,
) -> None:
    """登记农民，输出编号 / register a farmer; prints the new id."""
    record_id = ops.register_farmer(
        ctx.store, name=name, village=village, mobile=mobile, gender=gender, birth_year=birth_year
    )
    _printed_id(ctx, record_id)


@farmer.command("edit")
@click.argument("farmer_ref", metavar="FARMER")
@click.option("--name", default=None, help="新姓名 / new name.")
@click.option("--village", default=None, help="新村名或代码 / new village.")
@click.option("--mobile", default=None, help="新手机号（空字符串清除） / new mobile ('' clears).")
@click.option("--gender", type=GENDER, default=None, help="性别 男/女 / gender.")
@click.option("--birth-year", type=int, default=None, help="出生年份 / year of birth.")
@pass_ctx
def farmer_edit(ctx: Context, farmer_ref: str, **options: Any) -> None:
    """修改农民信息（编号、姓名或手机尾号四位） / edit a farmer, named by id, name or last 4 digits."""
    changes = {key: value for key, value in options.items() if value is not None}
    record_id = ops.edit_farmer(ctx.store, farmer_ref, **changes)
    ctx.out({"id": record_id, "changed": sorted(changes)}, f"已修改 / edited {record_id}")


# ------------------------------------------------------------------ sessions


@cli.group()
def session() -> None:
    """培训、讲座、观摩与活动 / training sessions, lectures, field days and events."""


def _session_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--kind",
            type=KIND,
            default=None,
            help=f"类型 / kind: {choice_help(SESSION_KIND_LABELS)}",
        ),
        click.option(
            "--start", "starts_at", default=None, help=f"开始时间（默认现在），{TIME_HELP} / start."
        ),
        click.option("--end", "ends_at", default=None, help=f"结束时间，{TIME_HELP} / end."),
        click.option("--place", default=None, help="具体地点 / place."),
        click.option(
            "--tech",
            "technologies",
            multiple=True,
            help="所讲技术（名称或编号，可多次） / technology, repeatable.",
        ),
        click.option(
            "--co-envoy",
            "co_envoys",
            multiple=True,
            help="协办特派员（姓名或编号，可多次） / co-envoy, repeatable.",
        ),
        click.option(
            "--headcount",
            type=int,
            default=None,
            help="报告人数（电视讲座为观众估计） / reported headcount.",
        ),
        click.option("--boards", type=int, default=None, help="展板数 / display boards."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@session.command("new")
@click.option("--title", required=True, help="标题 / title.")
@click.option(
    "--unit", required=True, help="村（或乡镇、县）名或代码 / village (or township) name or code."
)
@_session_options
@pass_ctx
def session_new(ctx: Context, title: str, unit: str, **options: Any) -> None:
    """开始一场培训，输出编号 / open a session; prints the new id."""
    record_id = ops.open_session(
        ctx.store,
        title=title,
        unit=unit,
        kind=options["kind"] or "village_training",
        starts_at=options["starts_at"],
        ends_at=options["ends_at"],
        place=options["place"],
        technologies=options["technologies"],
        co_envoys=options["co_envoys"],
        headcount=options["headcount"],
        boards=options["boards"] or 0,
    )
    _printed_id(ctx, record_id)


@session.command("edit")
@click.argument("session_ref", metavar="SESSION")
@click.option("--title", default=None, help="新标题 / new title.")
@click.option("--unit", default=None, help="村（或乡镇）名或代码 / village name or code.")
@_session_options
@pass_ctx
def session_edit(ctx: Context, session_ref: str, **options: Any) -> None:
    """修改培训（编号、标题或日期） / edit a session, named by id, title or date."""
    changes = {key: value for key, value in options.items() if value is not None and value != ()}
    record_id = ops.edit_session(ctx.store, session_ref, **changes)
    ctx.out({"id": record_id, "changed": sorted(changes)}, f"已修改 / edited {record_id}")


@session.command("close")
@click.argument("session_ref", metavar="SESSION")
@click.option(
    "--end", "ends_at", default=None, help=f"结束时间（默认现在），{TIME_HELP} / end time."
)
@click.option("--headcount", type=int, default=None, help="报告人数 / reported headcount.")
@pass_ctx
def session_close(
    ctx: Context, session_ref: str, ends_at: str | None, headcount: int | None
) -> None:
    """结束培训并记录结束时间 / close a session, recording its end time."""
    record_id = ops.close_session(ctx.store, session_ref, ends_at=ends_at, headcount=headcount)
    ctx.out({"id": record_id, "closed": True}, f"已结束 / closed {record_id}")


@session.command("delete")
@click.argument("session_ref", metavar="SESSION")
@pass_ctx
def session_delete(ctx: Context, session_ref: str) -> None:
    """删除误建的培训及其签到 / delete a session made by mistake, with its check-ins."""
    deleted = ops.delete_session(ctx.store, session_ref)
    ctx.out(
        {"id": deleted.id, "deleted": True, "checkins_removed": deleted.checkins_removed},
        f"已删除 / deleted {deleted.id}（签到 {deleted.checkins_removed} 条 / check-ins）",
    )


# ------------------------------------------------------------------ check-ins


@cli.group(invoke_without_command=True)
@click.option("--session", "session_ref", default=None, help="培训：编号、标题或日期 / session.")
@click.option(
    "--farmer", "farmer_ref", default=None, help="农民：编号、姓名或手机尾号四位 / farmer."
)
@click.option(
    "--village", default=None, help="按姓名找农民时限定村 / village, to tell farmers apart."
)
@click.option(
    "--method", type=METHOD, default="roster", show_default=True, help="签到方式 / method."
)
@click.option("--at", "at", default=None, help=f"签到时间（默认现在），{TIME_HELP} / time.")
@click.pass_context
def checkin(
    click_ctx: click.Context,
    session_ref: str | None,
    farmer_ref: str | None,
    village: str | None,
    method: str,
    at: str | None,
) -> None:
    """农民签到（重复签到只算一次）；checkin undo 撤销 / check a farmer in (twice counts once)."""
    if click_ctx.invoked_subcommand is not None:
        return
    if not session_ref or not farmer_ref:
        raise click.UsageError("请给出 --session 和 --farmer / give --session and --farmer")
    ctx = click_ctx.find_object(Context)
    assert ctx is not None
    done = ops.check_in(ctx.store, session_ref, farmer_ref, method=method, at=at, village=village)
    ctx.out(
        {"id": done.id, "new": done.new},
        done.id if done.new else f"{done.id} (已签到 / already checked in)",
    )


@checkin.command("undo")
@click.option("--session", "session_ref", required=True, help="培训：编号、标题或日期 / session.")
@click.option(
    "--farmer", "farmer_ref", required=True, help="农民：编号、姓名或手机尾号四位 / farmer."
)
@click.option("--reason", default=None, help="撤销原因 / why it is undone.")
@pass_ctx
def checkin_undo(ctx: Context, session_ref: str, farmer_ref: str, reason: str | None) -> None:
    """撤销一次签到 / undo a check-in."""
    record_id = ops.undo_checkin(ctx.store, session_ref, farmer_ref, reason=reason)
    ctx.out({"id": record_id, "undone": True}, f"已撤销 / undone {record_id}")


# ------------------------------------------------------------------ leaflets


@cli.group()
def leaflets() -> None:
    """技术资料：领取与发放 / technical leaflets: stock received and copies handed out."""


@leaflets.command("receive")
@click.option("--title", required=True, help="资料名称或编号 / leaflet title or id.")
@click.option("--copies", type=int, required=True, help="份数 / copies.")
@click.option("--on", "received_on", default=None, help=f"领取日期（默认今天），{DAY_HELP} / date.")
@click.option("--correction-of", default=None, help="所更正的领取记录编号 / receipt corrected.")
@pass_ctx
def leaflets_receive(
    ctx: Context, title: str, copies: int, received_on: str | None, correction_of: str | None
) -> None:
    """记录从科技局领取的资料 / record copies received from the bureau's stock."""
    record_id = ops.receive_leaflets(
        ctx.store, title=title, copies=copies, received_on=received_on, correction_of=correction_of
    )
    _printed_id(ctx, record_id)


@leaflets.command("give")
@click.option("--title", required=True, help="资料名称或编号 / leaflet title or id.")
@click.option("--copies", type=int, required=True, help="份数 / copies.")
@click.option("--session", "session_ref", default=None, help="培训：编号、标题或日期 / session.")
@click.option(
    "--village", default=None, help="不在培训时：村名或代码 / village, when not at a session."
)
@click.option("--at", "at", default=None, help=f"发放时间（默认现在），{TIME_HELP} / time.")
@click.option("--correction-of", default=None, help="所更正的发放记录编号 / hand-out corrected.")
@pass_ctx
def leaflets_give(
    ctx: Context,
    title: str,
    copies: int,
    session_ref: str | None,
    village: str | None,
    at: str | None,
    correction_of: str | None,
) -> None:
    """记录在培训或村里发放的资料 / record copies handed out at a session or in a village."""
    record_id = ops.give_leaflets(
        ctx.store,
        title=title,
        copies=copies,
        session=session_ref,
        village=village,
        at=at,
        correction_of=correction_of,
    )
    _printed_id(ctx, record_id)


@leaflets.command("stock")
@pass_ctx
def leaflets_stock(ctx: Context) -> None:
    """本人各资料库存：领取减发放 / this envoy's stock per title: received minus handed out."""
    stock = ops.leaflet_stock(ctx.store)
    data = [{**s.__dict__, "held": s.held} for s in stock]
    text = "\n".join(
        f"{s.title}: 领取 {s.received} − 发放 {s.handed_out} = 库存 {s.held}" for s in stock
    )
    ctx.out(data, text or "（无 / none）")


# ------------------------------------------------------------------ plots


@cli.group()
def plot() -> None:
    """示范田及其观察记录 / demonstration plots and their observations."""


@plot.command("new")
@click.option("--village", required=True, help="村名或代码 / village.")
@click.option("--host", "host_name", required=True, help="承担户 / household hosting the plot.")
@click.option("--crop", required=True, help="作物 / crop.")
@click.option("--variety", default=None, help="品种名称或编号 / variety.")
@click.option(
    "--tech", "technologies", multiple=True, help="技术（可多次） / technology, repeatable."
)
@click.option("--area", "area_mu", type=float, required=True, help="面积（亩） / area in mu.")
@click.option("--lat", "latitude", type=float, default=None, help="纬度 / latitude.")
@click.option("--lon", "longitude", type=float, default=None, help="经度 / longitude.")
@click.option(
    "--altitude", "altitude_m", type=float, default=None, help="海拔（米） / altitude, m."
)
@click.option(
    "--target-yield", type=float, default=None, help="目标亩产（公斤） / target kg per mu."
)
@click.option(
    "--established", "established_on", default=None, help=f"建立日期（默认今天），{DAY_HELP}."
)
@pass_ctx
def plot_new(ctx: Context, **options: Any) -> None:
    """建立示范田，输出编号 / set up a demonstration plot; prints the new id."""
    _printed_id(ctx, ops.new_plot(ctx.store, **options))


@plot.command("observe")
@click.argument("plot_ref", metavar="PLOT")
@click.option(
    "--stage", type=STAGE, required=True, help=f"阶段 / stage: {choice_help(PLOT_STAGE_LABELS)}"
)
@click.option("--on", "observed_on", default=None, help=f"观察日期（默认今天），{DAY_HELP}.")
@click.option(
    "--survival", "survival_rate", type=float, default=None, help="成活率（%） / survival, percent."
)
@click.option(
    "--yield", "yield_kg_per_mu", type=float, default=None, help="亩产（公斤） / yield, kg per mu."
)
@click.option("--notes", default=None, help="备注 / notes.")
@pass_ctx
def plot_observe(ctx: Context, plot_ref: str, **options: Any) -> None:
    """记录示范田观察，输出编号 / record an observation of a plot; prints the new id."""
    _printed_id(ctx, ops.observe_plot(ctx.store, plot_ref, **options))


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
    report = outcome.report
    ctx.out(
        outcome.as_dict(),
        f"已发送 {report.pushed} 条，已接收 {report.pulled} 条；待发 {outcome.pending}，"
        f"被拒 {outcome.rejected} / pushed {report.pushed}, pulled {report.pulled}",
    )
    if outcome.rejected_now:
        raise click.ClickException(
            f"服务器拒绝了 {outcome.rejected_now} 条更改，运行 status 查看原因 / "
            f"the server refused {outcome.rejected_now} changes: run status for the reasons"
        )


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
        f"  #{r.seq} {r.kind} {r.id}: {r.reason} {_errors_text(r.errors)}" for r in state.rejected
    ]
    lines.append(f"服务器暂存 / held by the server: {state.held_count}")
    lines += [f"  #{h.seq} {h.kind} {h.id or ''}: {h.reason}" for h in state.held]
    ctx.out(state.as_dict(), "\n".join(lines))


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
    ctx.out(None, _table_text(table) if table.rows else "（无 / none）")


def _table_text(table: listings.Listing) -> str:
    headers = [header for _key, header in table.columns]
    cells = [[row.get(key, "") for key, _header in table.columns] for row in table.rows]
    widths = [
        max(_width(text) for text in [header, *(line[i] for line in cells)])
        for i, header in enumerate(headers)
    ]
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(text + " " * (widths[i] - _width(text)) for i, text in enumerate(line)).rstrip()
        for line in lines
    )


def _width(text: str) -> int:
    """Columns a text takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


if __name__ == "__main__":
    cli()
