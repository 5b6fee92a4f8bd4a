"""tianjian-server: set up the bureau's database, load reference data, enrol devices, serve, report.

Each command parses its options, calls one function of the server's modules and prints; every
error raised on purpose reaches the user as one line through FRIENDLY_ERRORS.
"""

from __future__ import annotations

import json
import sqlite3
import sys

import click
from marshmallow import ValidationError
from sqlite_utils import Database

from server import settings
from server.accounts import audit
from server.cli_store import store_commands
from server.cli_upstream import upstream
from server.cli_users import users_group
from server.farmers import merges
from server.farmers.candidates import candidate_pairs
from server.files import exports
from server.files.page_tables import china_time_text
from server.plan.report import build_report
from server.plan.target_files import load_targets_file
from server.reference import lists as listings
from server.reference import load as reference
from server.store.db import init_db, pg_errors
from server.store.dialect import is_url
from server.sync import devices
from server.sync.conflicts import latest_conflicts
from shared import cli_errors
from shared.choices import (
    CANDIDATE_REASONS,
    COMPARATORS,
    RECORD_KINDS,
    words,
)
from shared.cli_numbers import WHOLE
from shared.clock import local_date, utc_now
from shared.errors import TianjianError
from shared.marshmallow_zh import one_line
from shared.private_files import write_owner_only

FRIENDLY_ERRORS: dict[type[Exception], cli_errors.Describe] = {
    TianjianError: "{exc}",
    FileNotFoundError: "找不到文件 / file not found: {exc.filename}",
    OSError: "无法读写文件 / cannot read or write file: {exc.filename}: {exc.strerror}",
    ValidationError: lambda exc: f"数据无效 / invalid data: {one_line(exc.messages)}",
    sqlite3.Error: "数据库出错 / database error: {exc}",
}


def friendly_errors() -> dict[type[Exception], cli_errors.Describe]:
    """FRIENDLY_ERRORS, and PostgreSQL's errors once a command opened it: its drivers are
    imported only then, so commands on a county's SQLite file never load them."""
    return {
        **FRIENDLY_ERRORS,
        **dict.fromkeys(
            pg_errors(),
            lambda exc: f"数据库出错 / database error: {str(exc).strip().splitlines()[0]}",
        ),
    }


@click.group(
    cls=cli_errors.friendly_group(friendly_errors),
    commands=[upstream, users_group, *store_commands],
)
@settings.option("DATABASE", "--db", "db_path")
@click.pass_context
def cli(ctx: click.Context, db_path: str) -> None:
    """田间 Tianjian server: the county bureau's record of extension work against its targets."""
    ctx.obj = {"db_path": db_path}


def _db(ctx: click.Context, create: bool = False) -> Database:
    """The database named by --db, brought up to date; only commands that set it up create it."""
    return init_db(ctx.obj["db_path"], create=create)


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """建立数据库（或升级到最新迁移）/ Create the database (or bring it up to date with the latest migrations)."""
    _db(ctx, create=True).close()
    click.echo(f"数据库已就绪 / database ready: {ctx.obj['db_path']}")


@cli.group()
def units() -> None:
    """组织单位：县、乡镇、村 / Organisation units: county, townships, villages."""


@units.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_context
def units_load(ctx: click.Context, path: str) -> None:
    """从 CSV 导入单位 / Load units from a CSV with columns code, name, parent_code, level."""
    count = reference.load_units(_db(ctx, create=True), path)
    click.echo(f"已载入 {count} 个单位 / loaded {count} units")


@cli.group()
def envoys() -> None:
    """科技特派员 / Technology envoys (科技特派员)."""


@envoys.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_context
def envoys_load(ctx: click.Context, path: str) -> None:
    """从 CSV 导入特派员 / Load envoys from a CSV with columns name, mobile, township_codes (space-separated)."""
    count = reference.load_envoys(_db(ctx, create=True), path)
    click.echo(f"已载入 {count} 位特派员 / loaded {count} envoys")


@cli.group()
def catalog() -> None:
    """技术、品种和资料名称 / Technologies, varieties and leaflet titles."""


@catalog.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_context
def catalog_load(ctx: click.Context, path: str) -> None:
    """从 CSV 导入目录 / Load a CSV with columns type (technology|variety|leaflet), name, crop, category."""
    counts = reference.load_catalogue(_db(ctx, create=True), path)
    for kind, count in counts.items():
        click.echo(f"{kind}: {count}")


@cli.group()
def targets() -> None:
    """年度目标 / The year's targets."""


@targets.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--year",
    type=WHOLE,
    default=None,
    help="无“年度”列的 CSV/XLSX 的年份 / Year of a CSV/XLSX without a 年度 column.",
)
@click.pass_context
def targets_load(ctx: click.Context, path: str, year: int | None) -> None:
    """导入目标 / Load targets: YAML/JSON (year, unit_code, targets: [{indicator, comparator, value}]) or
    CSV/XLSX with the headers 指标, 比较, 目标值, 单位代码 (and 年度, 特派员 if wanted)."""
    count = load_targets_file(_db(ctx, create=True), path, year, audit.cli_actor())
    click.echo(f"已载入 {count} 项目标 / loaded {count} targets")


@cli.command()
@click.option(
    "--envoy",
    "envoy_name",
    required=True,
    help="特派员姓名（重名时用其 id）/ The envoy's name, as loaded (their id where several share it).",
)
@click.option(
    "--township",
    "townships",
    multiple=True,
    help="特派员不存在时新建，服务这些乡镇代码 / Create the envoy if unknown, serving these township codes.",
)
@click.option(
    "--minutes",
    type=WHOLE,
    default=None,
    help="登记码有效分钟数 / Minutes the code stays valid (default: TIANJIAN_ENROLMENT_MINUTES, a day).",
)
@click.option(
    "--qr",
    "qr_path",
    type=click.Path(dir_okay=False),
    help="同时把登记码写成二维码 PNG / Also write the code as a QR PNG.",
)
@click.option(
    "--server-url",
    default="",
    help="写入二维码的服务器地址 / Server address to put in the QR code.",
)
@click.pass_context
def enroll(
    ctx: click.Context,
    envoy_name: str,
    townships: tuple[str, ...],
    minutes: int | None,
    qr_path: str | None,
    server_url: str,
) -> None:
    """为特派员的设备生成一次性登记码 / Print a one-time enrolment code for one of an envoy's devices."""
    if qr_path and not server_url:
        # A QR without the server's address cannot enrol anything: say so before issuing a code.
        raise click.ClickException(
            "二维码需要服务器地址，请加 --server-url http://… / --qr needs --server-url http://…"
        )
    db = _db(ctx)
    issued = devices.issue_enrolment_code(db, envoy_name, townships, minutes, server_url)
    if qr_path:
        write_owner_only(qr_path, issued.qr_png())
    click.echo(issued.code)
    click.echo(
        f"{issued.envoy['name']} · {issued.minutes} 分钟内有效，仅可使用一次 / "
        f"valid {issued.minutes} min, once",
        err=True,
    )


@cli.group("devices")
def devices_group() -> None:
    """已登记的现场设备 / Enrolled field devices."""


@devices_group.command("list")
@click.pass_context
def devices_list(ctx: click.Context) -> None:
    """列出设备及最后联系时间和时钟偏差 / List devices with their last contact and clock skew."""
    for row in devices.list_devices(_db(ctx)):
        skew = "" if row["skew_ms"] is None else f"{row['skew_ms'] / 1000:+.0f}s"
        state = "已撤销 revoked" if row["revoked_at"] else "有效 active"
        click.echo(
            f"{row['id']}  {row['envoy']}  {row['name']}  "
            f"{china_time_text(row['last_seen_at']) or '-'}  {skew}  {state}"
        )


@devices_group.command("revoke")
@click.argument("device_id")
@click.pass_context
def devices_revoke(ctx: click.Context, device_id: str) -> None:
    """吊销设备令牌，设备不能再同步 / Revoke a device's token: it can no longer sync."""
    devices.revoke(_db(ctx), device_id, audit.cli_actor())
    click.echo(f"已撤销 / revoked {device_id}")


@cli.group("farmers")
def farmers_group() -> None:
    """重复登记的农户：待合并 / Farmers registered twice: candidates to merge."""


@farmers_group.command("candidates")
@click.pass_context
def farmers_candidates(ctx: click.Context) -> None:
    """列出可能是同一人的记录对 / List pairs that may be the same person (phone numbers masked)."""
    for row in candidate_pairs(_db(ctx)):
        click.echo(
            f"#{row['id']} {words(CANDIDATE_REASONS, row['reason']).zh}: {row['name_a']} {row['mobile_a']} "
            f"({row['farmer_a']})  ~  {row['name_b']} {row['mobile_b']} ({row['farmer_b']})"
        )


@farmers_group.command("merge")
@click.argument("losing_id")
@click.argument("canonical_id")
@click.pass_context
def farmers_merge(ctx: click.Context, losing_id: str, canonical_id: str) -> None:
    """记录两条农户记录为同一人 / Record that LOSING_ID is the same person as CANONICAL_ID."""
    merges.merge(_db(ctx), losing_id, canonical_id, audit.cli_actor())
    click.echo(f"已合并 / merged {losing_id} → {canonical_id}")


@farmers_group.command("dismiss")
@click.argument("candidate_id", type=int)
@click.pass_context
def farmers_dismiss(ctx: click.Context, candidate_id: int) -> None:
    """记录候选对为不同的人 / Record that candidate pair CANDIDATE_ID (#N in `candidates`) are different people."""
    merges.dismiss(_db(ctx), candidate_id, audit.cli_actor())
    click.echo(f"已标记为不同的人 / marked as different people: #{candidate_id}")


@cli.command()
@click.option(
    "--limit", default=50, show_default=True, help="显示条数 / How many conflicts to show."
)
@click.pass_context
def conflicts(ctx: click.Context, limit: int) -> None:
    """显示被同时修改覆盖的最近修改 / Show the latest edits that lost to a concurrent edit of the same field."""
    found = latest_conflicts(_db(ctx), limit)
    if not found:
        click.echo("没有编辑冲突 / no conflicting edits")
    for row in found:
        kind = words(RECORD_KINDS, row["kind"]).zh
        click.echo(
            f"{china_time_text(row['recorded_at'])} {kind} {row['record_id']} {row['field']}: "
            f"保留 {row['winning_value']}，未采用 {row['losing_value']} / "
            f"kept {row['winning_value']} over {row['losing_value']}"
        )


@cli.group(invoke_without_command=True)
@click.pass_context
def held(ctx: click.Context) -> None:
    """显示等待尚未到达记录的变更 / Show changes waiting for a record that has not arrived (a check-in before its session)."""
    if ctx.invoked_subcommand is not None:
        return
    from server.sync import list_held

    found = list_held(_db(ctx))
    if not found:
        click.echo("没有暂存的变更 / no held changes")
    for row in found:
        waiting = words(RECORD_KINDS, row["waiting_kind"]).zh
        click.echo(
            f"#{row['id']} {china_time_text(row['held_at'])} {row['envoy']} {row['device_id']} "
            f"#{row['seq']}: 等待{waiting} / waiting for {row['waiting_kind']} {row['waiting_id']}"
        )


@held.command("drop")
@click.argument("ids", nargs=-1, type=int)
@click.option(
    "--device",
    "device_id",
    default=None,
    help="删除该设备所有等待中的变更 / Drop every held change of this device.",
)
@click.pass_context
def held_drop(ctx: click.Context, ids: tuple[int, ...], device_id: str | None) -> None:
    """删除等待中的变更 / Drop held changes by ID (#N in `held`), or all of one --device; the device is told why."""
    from server.sync import drop_held

    if not ids and device_id is None:
        raise click.UsageError("请给出编号或 --device / give IDs or --device")
    count = drop_held(_db(ctx), list(ids), device_id, audit.cli_actor())
    click.echo(f"已删除 {count} 条暂存的变更 / dropped {count} held changes")


@cli.command("purge-tombstones")
@settings.option("TOMBSTONE_RETENTION_DAYS", "--days")
@click.pass_context
def purge_tombstones(ctx: click.Context, days: int) -> None:
    """清除旧墓碑；更落后的设备需全量重新同步 / Delete old tombstones; devices whose cursor is older must then resync in full.

    同时清理照片存储（文件夹或 S3）/ Also tidies the media store (folder or S3): uploads abandoned
    longer than --days, and photos no record names any more.
    """
    from server.media.chosen import media_store
    from server.media.cleanup import tidy_media
    from server.sync.maintenance import purge_tombstones as purge

    db = _db(ctx)
    count = purge(db, days)
    click.echo(f"已清除 {count} 条删除记录 / purged {count} tombstones")
    where = {**settings.defaults_from_environment(), "DATABASE": ctx.obj["db_path"]}
    tidied = tidy_media(db, media_store(where), days)
    click.echo(
        f"已清理 {tidied.abandoned} 个中断的照片上传、{tidied.unnamed} 张无记录的照片 / "
        f"removed {tidied.abandoned} abandoned photo uploads and {tidied.unnamed} photos no "
        "record names"
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@settings.option("THREADS", "--threads", type=click.IntRange(1, 256))
@settings.option("CONNECTION_LIMIT", "--connection-limit", type=click.IntRange(1, 100_000))
@settings.option("CHANNEL_TIMEOUT", "--channel-timeout", type=click.IntRange(1, 86_400))
@settings.option("TRUSTED_PROXIES", "--trusted-proxies", type=click.IntRange(0, 16))
@click.pass_context
def run(
    ctx: click.Context,
    host: str,
    port: int,
    threads: int,
    connection_limit: int,
    channel_timeout: int,
    trusted_proxies: int,
) -> None:
    """用 waitress 提供接口和网页 / Serve the API and pages with waitress."""
    from server import create_app
    from server.sync.maintenance import QuietCheckpointer
    from shared.gc_tuning import tune_for_long_run
    from shared.serving import serve

    _db(ctx, create=True).close()
    app = create_app({"DATABASE": ctx.obj["db_path"], "TRUSTED_PROXIES": trusted_proxies})
    tune_for_long_run()
    quiet = app.config["CHECKPOINT_QUIET_SECONDS"]
    # SQLite's WAL only: PostgreSQL checkpoints by itself.
    wal = quiet > 0 and not is_url(app.config["DATABASE"])
    checkpointer = QuietCheckpointer(app.config["DATABASE"], quiet) if wal else None
    if checkpointer:
        checkpointer.start()
    click.echo(f"田间 server on http://{host}:{port}/  (Ctrl+C to stop)")
    try:
        serve(
            app,
            host,
            port,
            threads,
            connection_limit,
            channel_timeout,
            proxy_headers=trusted_proxies > 0,
        )
    finally:
        if checkpointer:
            checkpointer.stop()


@cli.command()
@click.option(
    "--year",
    type=WHOLE,
    default=None,
    help="年份，按北京时间（默认今年）/ Calendar year in China time (default: this year).",
)
@click.option(
    "--unit",
    "unit_code",
    default=None,
    help="单位代码或名称（默认全县）/ Unit code or name (default: the county).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.pass_context
def report(ctx: click.Context, year: int | None, unit_code: str | None, fmt: str) -> None:
    """年度数字与目标对照 / The year's figures against targets."""
    db = _db(ctx)
    unit = listings.unit_code_of(db, unit_code) if unit_code else None
    data = build_report(db, year or local_date(utc_now()).year, unit)
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        sys.stdout.write(exports.report_csv(data))
        return
    as_of = china_time_text(data["as_of"])
    click.echo(f"{data['unit']['name']} {data['year']} 年 · 截至 {as_of}（北京时间）")
    for line in data["indicators"]:
        comparator = words(COMPARATORS, line["comparator"]).zh
        target = "" if line["target"] is None else f"{comparator} {line['target']:g}"
        met = {True: "✓ 达标", False: "✗ 未达标", None: ""}[line["met"]]
        if line.get("basis_missing"):
            target, met = f"同比增长 {line['growth_percent']:g}%", "无上年数据 / no last-year data"
        extra = (
            f"  (核实 {line['verified']} / 报数 {line['reported']})" if "verified" in line else ""
        )
        click.echo(f"{line['label_zh']:<12} {line['actual']:>10g}  {target:<10} {met}{extra}")


if __name__ == "__main__":
    cli()
