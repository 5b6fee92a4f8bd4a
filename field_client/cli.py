"""tianjian-field: record trainings, check-ins, leaflets and plots offline; sync when in signal."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import click

from field_client.store import AppendOnly, FieldStore, NotEnrolled, UnknownRecord
from field_client.sync import DeviceRevoked, SyncClient, SyncFailed, enrol
from shared import cli_errors
from shared import protocol as p
from shared.errors import ClientTooOld, InvalidRecord, TianjianError
from shared.ids import is_uuid
from shared.mobile import mask_mobile
from shared.schemas.field import CHECKIN_METHODS, GENDERS, PLOT_STAGES, SESSION_KINDS

KIND_NAMES = {
    "farmers": p.FARMER,
    "sessions": p.SESSION,
    "attendances": p.ATTENDANCE,
    "receipts": p.LEAFLET_RECEIPT,
    "handouts": p.LEAFLET_HANDOUT,
    "plots": p.PLOT,
    "observations": p.PLOT_OBSERVATION,
    "units": p.UNIT,
    "technologies": p.TECHNOLOGY,
    "varieties": p.VARIETY,
    "leaflet-titles": p.LEAFLET_TITLE,
    "targets": p.TARGET,
    "envoys": p.ENVOY,
}


class UnknownName(TianjianError):
    """A name typed on the command line matches nothing this device knows."""


def _errors_text(errors: dict[str, object]) -> str:
    return "; ".join(f"{field}: {reason}" for field, reason in errors.items())


FRIENDLY_ERRORS: dict[type[Exception], Callable[[Any], str]] = {
    InvalidRecord: lambda exc: f"记录无效 / invalid {exc.kind}: {_errors_text(exc.errors)}",
    NotEnrolled: str,
    UnknownRecord: lambda exc: f"找不到记录 / no such record: {exc}",
    AppendOnly: str,
    UnknownName: str,
    SyncFailed: lambda exc: f"同步未完成，数据仍在本机待发 / sync incomplete, changes kept: {exc}",
    DeviceRevoked: lambda exc: f"设备已被撤销，请重新登记 / device revoked: {exc}",
    ClientTooOld: str,
    TianjianError: str,
}


friendly_errors = cli_errors.friendly_errors(FRIENDLY_ERRORS)


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

    def out(self, data: Any, text: str) -> None:
        click.echo(json.dumps(data, ensure_ascii=False) if self.as_json else text)


pass_ctx = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--db",
    "db_path",
    envvar="TIANJIAN_FIELD_DB",
    default="tianjian-field.db",
    show_default=True,
    help="This device's database file (or set TIANJIAN_FIELD_DB).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def cli(ctx: click.Context, db_path: str, as_json: bool) -> None:
    """田间 Tianjian field client: works with no signal; `sync` when back in range."""
    ctx.obj = Context(db_path, as_json)


def resolve(store: FieldStore, kind: str, text: str) -> str:
    """An id as given, or the id of the one reference entry with that name."""
    if is_uuid(text):
        return text.lower()
    name_field = "title" if kind == p.LEAFLET_TITLE else "name"
    matches = [entry["id"] for entry in store.reference(kind) if entry.get(name_field) == text]
    if len(matches) != 1:
        raise UnknownName(
            f"本机没有名为“{text}”的{kind} / no {kind} named {text!r} on this device (sync first?)"
        )
    return matches[0]


def unit_code(store: FieldStore, text: str) -> str:
    if text.isdigit():
        return text
    matches = [u["code"] for u in store.reference(p.UNIT) if u["name"] == text]
    if len(matches) != 1:
        raise UnknownName(f"本机没有名为“{text}”的村/乡镇 / no unit named {text!r} (use its code)")
    return matches[0]


@cli.command()
@click.argument("server_url")
@click.argument("code")
@click.option(
    "--name", "device_name", default=None, help="A name for this device (default: host name)."
)
@pass_ctx
@friendly_errors
def enroll(ctx: Context, server_url: str, code: str, device_name: str | None) -> None:
    """Enrol this device with SERVER_URL using a one-time CODE from the bureau, then sync."""
    answer = enrol(ctx.store, server_url, code, device_name or socket.gethostname())
    report = SyncClient(ctx.store).sync()
    ctx.out(
        {"device_id": answer["device_id"], "envoy": answer["envoy"], "pulled": report.pulled},
        f"已登记 / enrolled: {answer['envoy']['name']} · 设备 {answer['device_id']}",
    )


@cli.group()
def farmer() -> None:
    """Farmers (学员)."""


@farmer.command("add")
@click.option("--name", required=True)
@click.option("--village", required=True, help="Village code or name.")
@click.option("--mobile", default=None)
@click.option("--gender", type=click.Choice(GENDERS), default="unspecified")
@click.option("--birth-year", type=int, default=None)
@pass_ctx
@friendly_errors
def farmer_add(
    ctx: Context, name: str, village: str, mobile: str | None, gender: str, birth_year: int | None
) -> None:
    """Register a farmer; prints the new id."""
    values = {
        "name": name,
        "village_code": unit_code(ctx.store, village),
        "mobile": mobile,
        "gender": gender,
        "birth_year": birth_year,
    }
    record_id = ctx.store.create(p.FARMER, values)
    ctx.out({"id": record_id}, record_id)


@cli.group()
def session() -> None:
    """Training sessions, lectures, field days and events."""


@session.command("new")
@click.option(
    "--kind", type=click.Choice(SESSION_KINDS), default="village_training", show_default=True
)
@click.option("--title", required=True)
@click.option(
    "--unit", "unit", required=True, help="Village code (or township/county code) or name."
)
@click.option(
    "--start",
    "starts_at",
    default=None,
    help="Start, ISO time (default now, China time if no zone).",
)
@click.option("--end", "ends_at", default=None)
@click.option("--place", default=None)
@click.option(
    "--tech", "technologies", multiple=True, help="Technology taught (name or id); repeatable."
)
@click.option("--co-envoy", "co_envoys", multiple=True, help="Co-envoy id; repeatable.")
@click.option(
    "--headcount", type=int, default=None, help="Typed headcount (or TV audience estimate)."
)
@click.option("--boards", type=int, default=0, help="Display boards (展板).")
@pass_ctx
@friendly_errors
def session_new(
    ctx: Context,
    kind: str,
    title: str,
    unit: str,
    starts_at: str | None,
    ends_at: str | None,
    place: str | None,
    technologies: tuple[str, ...],
    co_envoys: tuple[str, ...],
    headcount: int | None,
    boards: int,
) -> None:
    """Open a session; prints the new id."""
    store = ctx.store
    _device, envoy = store.identity()
    values = {
        "kind": kind,
        "title": title,
        "unit_code": unit_code(store, unit),
        "place": place,
        "starts_at": starts_at or store.best_now_iso(),
        "ends_at": ends_at,
        "lead_envoy_id": envoy,
        "co_envoy_ids": list(co_envoys),
        "technology_ids": [resolve(store, p.TECHNOLOGY, t) for t in technologies],
        "reported_headcount": headcount,
        "display_boards": boards,
    }
    record_id = store.create(p.SESSION, values)
    ctx.out({"id": record_id}, record_id)


@session.command("close")
@click.argument("session_id")
@click.option("--end", "ends_at", default=None, help="End time (default now).")
@click.option("--headcount", type=int, default=None)
@pass_ctx
@friendly_errors
def session_close(
    ctx: Context, session_id: str, ends_at: str | None, headcount: int | None
) -> None:
    """Close a session, recording its end time."""
    values: dict[str, Any] = {"closed": True, "ends_at": ends_at or ctx.store.best_now_iso()}
    if headcount is not None:
        values["reported_headcount"] = headcount
    ctx.store.update(p.SESSION, session_id, values)
    ctx.out({"id": session_id, "closed": True}, f"已结束 / closed {session_id}")


@cli.command()
@click.option("--session", "session_id", required=True)
@click.option("--farmer", "farmer_id", required=True)
@click.option("--method", type=click.Choice(CHECKIN_METHODS), default="roster", show_default=True)
@click.option("--at", "at", default=None, help="Check-in time (default now).")
@pass_ctx
@friendly_errors
def checkin(ctx: Context, session_id: str, farmer_id: str, method: str, at: str | None) -> None:
    """Check a farmer into a session (the same check-in twice counts once)."""
    if ctx.store.record(p.SESSION, session_id) is None:
        raise UnknownRecord(f"session {session_id}")
    if ctx.store.record(p.FARMER, farmer_id) is None:
        raise UnknownRecord(f"farmer {farmer_id}")
    record_id, new = ctx.store.checkin(session_id, farmer_id, method, at)
    ctx.out(
        {"id": record_id, "new": new},
        record_id if new else f"{record_id} (已签到 / already checked in)",
    )


@cli.group()
def leaflets() -> None:
    """Technical leaflets (技术资料): stock received and copies handed out."""


@leaflets.command("receive")
@click.option("--title", required=True, help="Leaflet title or id.")
@click.option("--copies", type=int, required=True)
@click.option(
    "--on", "received_on", default=None, help="Date received, YYYY-MM-DD (default today)."
)
@click.option("--correction-of", default=None, help="Id of the receipt this one corrects.")
@pass_ctx
@friendly_errors
def leaflets_receive(
    ctx: Context, title: str, copies: int, received_on: str | None, correction_of: str | None
) -> None:
    """Record copies received from the bureau's stock."""
    values = {
        "leaflet_title_id": resolve(ctx.store, p.LEAFLET_TITLE, title),
        "copies": copies,
        "received_on": received_on or _today(ctx.store),
        "correction_of": correction_of,
    }
    record_id = ctx.store.create(p.LEAFLET_RECEIPT, values)
    ctx.out({"id": record_id}, record_id)


@leaflets.command("give")
@click.option("--title", required=True, help="Leaflet title or id.")
@click.option("--copies", type=int, required=True)
@click.option("--session", "session_id", default=None)
@click.option("--village", default=None, help="Village code or name, when not at a session.")
@click.option("--at", "at", default=None)
@click.option("--correction-of", default=None, help="Id of the hand-out this one corrects.")
@pass_ctx
@friendly_errors
def leaflets_give(
    ctx: Context,
    title: str,
    copies: int,
    session_id: str | None,
    village: str | None,
    at: str | None,
    correction_of: str | None,
) -> None:
    """Record copies handed out at a session or in a village."""
    values = {
        "leaflet_title_id": resolve(ctx.store, p.LEAFLET_TITLE, title),
        "copies": copies,
        "session_id": session_id,
        "unit_code": unit_code(ctx.store, village) if village else None,
        "handed_out_at": at or ctx.store.best_now_iso(),
        "correction_of": correction_of,
    }
    record_id = ctx.store.create(p.LEAFLET_HANDOUT, values)
    ctx.out({"id": record_id}, record_id)


@cli.group()
def plot() -> None:
    """Demonstration plots (示范田) and their observations."""


@plot.command("new")
@click.option("--village", required=True)
@click.option("--host", "host_name", required=True, help="Household hosting the plot.")
@click.option("--crop", required=True)
@click.option("--variety", default=None, help="Variety name or id.")
@click.option("--tech", "technologies", multiple=True)
@click.option("--area", "area_mu", type=float, required=True, help="Area in mu (亩).")
@click.option("--lat", "latitude", type=float, default=None)
@click.option("--lon", "longitude", type=float, default=None)
@click.option("--altitude", "altitude_m", type=float, default=None)
@click.option("--target-yield", type=float, default=None, help="Target yield, kg per mu.")
@click.option("--established", "established_on", default=None, help="YYYY-MM-DD (default today).")
@pass_ctx
@friendly_errors
def plot_new(ctx: Context, **options: Any) -> None:
    """Set up a demonstration plot; prints the new id."""
    store = ctx.store
    values = {
        "village_code": unit_code(store, options["village"]),
        "host_name": options["host_name"],
        "crop": options["crop"],
        "variety_id": resolve(store, p.VARIETY, options["variety"]) if options["variety"] else None,
        "technology_ids": [resolve(store, p.TECHNOLOGY, t) for t in options["technologies"]],
        "area_mu": options["area_mu"],
        "latitude": options["latitude"],
        "longitude": options["longitude"],
        "altitude_m": options["altitude_m"],
        "target_yield_kg_per_mu": options["target_yield"],
        "established_on": options["established_on"] or _today(store),
    }
    record_id = store.create(p.PLOT, values)
    ctx.out({"id": record_id}, record_id)


@plot.command("observe")
@click.argument("plot_id")
@click.option("--stage", type=click.Choice(PLOT_STAGES), required=True)
@click.option("--on", "observed_on", default=None, help="YYYY-MM-DD (default today).")
@click.option(
    "--survival", "survival_rate", type=float, default=None, help="Survival rate, percent."
)
@click.option("--yield", "yield_kg_per_mu", type=float, default=None, help="Yield, kg per mu.")
@click.option("--notes", default=None)
@pass_ctx
@friendly_errors
def plot_observe(ctx: Context, plot_id: str, **options: Any) -> None:
    """Record an observation of a plot; prints the new id."""
    if ctx.store.record(p.PLOT, plot_id) is None:
        raise UnknownRecord(f"plot {plot_id}")
    values = {
        "plot_id": plot_id,
        **options,
        "observed_on": options["observed_on"] or _today(ctx.store),
    }
    record_id = ctx.store.create(p.PLOT_OBSERVATION, values)
    ctx.out({"id": record_id}, record_id)


@cli.command()
@click.option(
    "--batch-changes",
    type=int,
    default=p.DEFAULT_BATCH_CHANGES,
    show_default=True,
    help="Most changes sent in one request.",
)
@click.option(
    "--batch-bytes",
    type=int,
    default=p.DEFAULT_BATCH_BYTES,
    show_default=True,
    help="Most compressed bytes sent in one request.",
)
@click.option(
    "--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for an answer."
)
@pass_ctx
@friendly_errors
def sync(ctx: Context, batch_changes: int, batch_bytes: int, timeout: float) -> None:
    """Send unsent changes and fetch what changed on the server."""
    client = SyncClient(
        ctx.store, batch_changes=batch_changes, batch_bytes=batch_bytes, timeout=timeout
    )
    report = client.sync()
    counts = ctx.store.counts()
    summary = {
        **report.as_dict(),
        "pending": counts.get("pending", 0),
        "rejected": counts.get("rejected", 0),
    }
    ctx.out(
        summary,
        f"已发送 {report.pushed} 条，已接收 {report.pulled} 条；待发 {summary['pending']}，"
        f"被拒 {summary['rejected']} / pushed {report.pushed}, pulled {report.pulled}",
    )


@cli.command()
@pass_ctx
def status(ctx: Context) -> None:
    """What is waiting to be sent, and every change the server refused, with its reason."""
    store = ctx.store
    counts = store.counts()
    rejected = [
        {
            "seq": r["seq"],
            "kind": r["kind"],
            "id": r["id"],
            "reason": r["reason"],
            "errors": json.loads(r["errors"] or "{}"),
        }
        for r in store.rejected()
    ]
    data = {
        "enrolled": store.enrolled,
        "server": store.get("server_url"),
        "device_id": store.get("device_id"),
        "pending": counts.get("pending", 0),
        "rejected": rejected,
        "cursor": int(store.get("cursor", "0") or 0),
    }
    lines = [
        f"服务器 / server: {data['server'] or '（未登记 / not enrolled）'}",
        f"待发送 / pending: {data['pending']}",
        f"被拒绝 / rejected: {len(rejected)}",
    ]
    lines += [
        f"  #{r['seq']} {r['kind']} {r['id']}: {r['reason']} {_errors_text(r['errors'])}"
        for r in rejected
    ]
    ctx.out(data, "\n".join(lines))


@cli.command("list")
@click.argument("kind", type=click.Choice(sorted(KIND_NAMES)))
@pass_ctx
def list_records(ctx: Context, kind: str) -> None:
    """List records of one kind held on this device (phone numbers masked)."""
    record_kind = KIND_NAMES[kind]
    if record_kind in p.FIELD_KINDS:
        rows = ctx.store.records(record_kind)
        for row in rows:
            row.pop("_stamps", None)
            if "mobile" in row:
                row["mobile"] = mask_mobile(row["mobile"])
    else:
        rows = ctx.store.reference(record_kind)
    text = "\n".join(
        "  ".join(
            str(row.get(k, ""))
            for k in ("id", "code", "name", "title", "kind")
            if row.get(k) is not None
        )
        for row in rows
    )
    ctx.out(rows, text or "（无 / none）")


def _today(store: FieldStore) -> str:
    from shared.clock import local_date, parse_iso

    return local_date(parse_iso(store.best_now_iso())).isoformat()


if __name__ == "__main__":
    cli()
