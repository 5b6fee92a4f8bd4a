"""tianjian-field's commands for the records an envoy makes: farmers, sessions, check-ins,
leaflets and plots. Each parses its options, calls one operation and prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from field_client import operations as ops
from field_client import pickers
from field_client.cli_support import (
    DAY_HELP,
    GENDER,
    KIND,
    METHOD,
    STAGE,
    TIME_HELP,
    Context,
    pass_ctx,
    printed_id,
)
from shared.choices import PLOT_STAGE_LABELS, SESSION_KIND_LABELS, choice_help
from shared.cli_numbers import NUMBER, WHOLE

# ------------------------------------------------------------------ farmers


@click.group()
def farmer() -> None:
    """农民（学员）登记与修改 / farmers: register and edit."""


@farmer.command("add")
@click.option("--name", required=True, help="姓名 / name.")
@click.option("--village", required=True, help="村名或区划代码 / village name or code.")
@click.option("--mobile", default=None, help="手机号（可不填） / mobile (optional).")
@click.option("--gender", type=GENDER, default=None, help="性别 男/女 / gender.")
@click.option("--birth-year", type=WHOLE, default=None, help="出生年份 / year of birth.")
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
    printed_id(ctx, record_id)


@farmer.command("edit")
@click.argument("farmer_ref", metavar="FARMER")
@click.option("--name", default=None, help="新姓名 / new name.")
@click.option("--village", default=None, help="新村名或代码 / new village.")
@click.option("--mobile", default=None, help="新手机号（空字符串清除） / new mobile ('' clears).")
@click.option("--gender", type=GENDER, default=None, help="性别 男/女 / gender.")
@click.option("--birth-year", type=WHOLE, default=None, help="出生年份 / year of birth.")
@pass_ctx
def farmer_edit(ctx: Context, farmer_ref: str, **options: Any) -> None:
    """修改农民信息（编号、姓名或手机尾号四位） / edit a farmer, named by id, name or last 4 digits."""
    changes = {key: value for key, value in options.items() if value is not None}
    record_id = ops.edit_farmer(ctx.store, farmer_ref, **changes)
    ctx.out({"id": record_id, "changed": sorted(changes)}, f"已修改 / edited {record_id}")


# ------------------------------------------------------------------ sessions


@click.group()
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
            type=WHOLE,
            default=None,
            help=f"报告人数（{SESSION_KIND_LABELS['tv_lecture']}为观众估计） / reported headcount.",
        ),
        click.option("--boards", type=WHOLE, default=None, help="展板数 / display boards."),
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
    printed_id(ctx, record_id)


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
@click.option("--headcount", type=WHOLE, default=None, help="报告人数 / reported headcount.")
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


@click.group(invoke_without_command=True)
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


@click.group()
def leaflets() -> None:
    """技术资料：领取与发放 / technical leaflets: stock received and copies handed out."""


@leaflets.command("receive")
@click.option("--title", required=True, help="资料名称或编号 / leaflet title or id.")
@click.option("--copies", type=WHOLE, required=True, help="份数 / copies.")
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
    printed_id(ctx, record_id)


@leaflets.command("give")
@click.option("--title", required=True, help="资料名称或编号 / leaflet title or id.")
@click.option("--copies", type=WHOLE, required=True, help="份数 / copies.")
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
    """记录在培训或村里发放的资料 / record copies handed out at a session or in a village.

    多于库存也照录（科技局会看到），并提示 / more than held is recorded too, and said so."""
    # Judged before the hand-out counts against the stock, as the page judges it.
    over = None if correction_of else pickers.over_stock(ctx.store, title, copies)
    record_id = ops.give_leaflets(
        ctx.store,
        title=title,
        copies=copies,
        session=session_ref,
        village=village,
        at=at,
        correction_of=correction_of,
    )
    if over is None:
        ctx.out({"id": record_id, "over_stock": None}, record_id)
        return
    ctx.out(
        {
            "id": record_id,
            "over_stock": {"title": over.title, "held": over.held, "copies": copies},
        },
        record_id,
    )
    if not ctx.as_json:
        click.echo(
            f"注意：你持有“{over.title}”{over.held} 份，本次发放 {copies} 份，多于库存；"
            f"已照录，科技局会看到 / note: you held {over.held} copies of “{over.title}” and "
            f"handed out {copies}: recorded, and the bureau will see it",
            err=True,
        )


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


@click.group()
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
@click.option("--area", "area_mu", type=NUMBER, required=True, help="面积（亩） / area in mu.")
@click.option("--lat", "latitude", type=NUMBER, default=None, help="纬度 / latitude.")
@click.option("--lon", "longitude", type=NUMBER, default=None, help="经度 / longitude.")
@click.option(
    "--altitude", "altitude_m", type=NUMBER, default=None, help="海拔（米） / altitude, m."
)
@click.option(
    "--target-yield", type=NUMBER, default=None, help="目标亩产（公斤） / target kg per mu."
)
@click.option(
    "--established", "established_on", default=None, help=f"建立日期（默认今天），{DAY_HELP}."
)
@pass_ctx
def plot_new(ctx: Context, **options: Any) -> None:
    """建立示范田，输出编号 / set up a demonstration plot; prints the new id."""
    printed_id(ctx, ops.new_plot(ctx.store, **options))


@plot.command("edit")
@click.argument("plot_ref", metavar="PLOT")
@click.option("--village", default=None, help="村名或代码 / village.")
@click.option("--host", "host_name", default=None, help="承担户 / household hosting the plot.")
@click.option("--crop", default=None, help="作物 / crop.")
@click.option("--variety", default=None, help="品种名称或编号 / variety.")
@click.option("--area", "area_mu", type=NUMBER, default=None, help="面积（亩） / area in mu.")
@click.option(
    "--target-yield", type=NUMBER, default=None, help="目标亩产（公斤） / target kg per mu."
)
@click.option("--established", "established_on", default=None, help=f"建立日期，{DAY_HELP}.")
@pass_ctx
def plot_edit(ctx: Context, plot_ref: str, **options: Any) -> None:
    """修改示范田（只改给出的项），输出编号 / change a plot's fields (only those given); prints its id."""
    given = {name: value for name, value in options.items() if value is not None}
    printed_id(ctx, ops.edit_plot(ctx.store, plot_ref, **given))


@plot.command("observe")
@click.argument("plot_ref", metavar="PLOT")
@click.option(
    "--stage", type=STAGE, required=True, help=f"阶段 / stage: {choice_help(PLOT_STAGE_LABELS)}"
)
@click.option("--on", "observed_on", default=None, help=f"观察日期（默认今天），{DAY_HELP}.")
@click.option(
    "--survival",
    "survival_rate",
    type=NUMBER,
    default=None,
    help="成活率（%） / survival, percent.",
)
@click.option(
    "--yield", "yield_kg_per_mu", type=NUMBER, default=None, help="亩产（公斤） / yield, kg per mu."
)
@click.option("--notes", default=None, help="备注 / notes.")
@pass_ctx
def plot_observe(ctx: Context, plot_ref: str, **options: Any) -> None:
    """记录示范田观察，输出编号 / record an observation of a plot; prints the new id."""
    printed_id(ctx, ops.observe_plot(ctx.store, plot_ref, **options))
