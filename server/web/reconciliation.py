"""The reconciliation page (数据核对): headcounts, leaflet stock, doubtful check-ins, silent devices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, current_app, request, url_for

from server.accounts.access import ANYONE, requires
from server.api.scope import ViewScope, page_scope
from server.figures import receipts
from server.figures.counted import Scope
from server.files.page_tables import BOOL, CODE, NUMBER, TIME, Column, Table
from server.quality import reconciliation
from server.quality.flags import rules_of
from server.reference import lists as listings
from server.store.db import get_db
from server.web.paging import PAGE_SIZE, Page, asked_page, page_of
from server.web.render import table_page
from shared.choices import SESSION_KINDS, words
from shared.clock import to_iso, utc_now

# Past this many envoys the scope form's menu waits for a unit to be chosen: a nation's 10,000
# were a megabyte of every page offering them.
ENVOY_MENU_MOST = 1000

# The page's tables, each turned a page at a time by its own ?page-<name>=.
TABLES = ("headcount-envoys", "headcount-sessions", "leaflets", "receipts", "checkins", "devices")

# "reconciliation" is the JSON API's blueprint.
bp = Blueprint("reconciliation_page", __name__, url_prefix="/reconciliation")

# Why a check-in is listed; a reason not named here is shown as its code.
REASON_WORDS = {
    "outside_window": ("签到时间在场次时间之外", "outside the session's time"),
    "deleted_session": ("场次已删除", "session deleted"),
    "shared_phone": ("多人同一手机", "many farmers from one phone"),
}


def path_link(endpoint: str, path: str, **values: Any) -> str:
    """An agreed address: by its endpoint once that page exists, else by its path."""
    if endpoint in current_app.view_functions:
        return url_for(endpoint, **values)
    query = {k: v for k, v in values.items() if v is not None and f"<{k}>" not in path}
    for key, value in values.items():
        path = path.replace(f"<{key}>", quote(str(value), safe=""))
    return request.script_root + path + (f"?{urlencode(query)}" if query else "")


def ledger_link(row: dict[str, Any]) -> str | None:
    if not row.get("envoy_id"):
        return None
    return path_link("ledger.envoy", "/ledger/<envoy_id>", envoy_id=row["envoy_id"])


def session_link(row: dict[str, Any]) -> str:
    return url_for("records.session", session_id=row["session_id"])


def review_link(session_id: str) -> str:
    return path_link(
        "review.record",
        "/review/<record_kind>/<record_id>",
        record_kind="session",
        record_id=session_id,
    )


def percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


# Which of a table's rows to show, given the table's name and all its rows in order.
Cut = Callable[[str, list[Any]], list[Any]]


def build_tables(
    db: Any,
    result: dict[str, Any],
    scope: Scope,
    unit_name: str,
    as_of: str,
    cut: Cut,
    shared_phones: bool | None = None,
) -> dict[str, Table]:
    """Each section of the page as a table (the same ones the CSV and XLSX files carry), each
    holding the rows `cut` keeps (a page's worth, or every row of a file's table); names and
    labels are looked up only for those. `shared_phones`: whether any of all the check-ins
    (not only those in `result`) is a shared phone's."""

    def table(name: str, zh: str, en: str, columns: tuple[Column, ...], rows: list[Any]) -> Table:
        return Table(name, zh, en, columns, rows, unit_name=unit_name, year=scope.year, as_of=as_of)

    envoys = [
        {**line, "verified_percent": percent(line["verified_share"])}
        for line in cut("headcount-envoys", result["headcounts"]["envoys"])
    ]
    doubtful = cut(
        "headcount-sessions",
        [line for line in result["headcounts"]["sessions"] if line["doubtful"]],
    )
    names = listings.unit_names(db, (line["unit_code"] for line in doubtful))
    sessions = [
        {
            **line,
            "kind_zh": words(SESSION_KINDS, line["kind"]).zh,
            "kind_en": words(SESSION_KINDS, line["kind"]).en,
            "unit": names.get(line["unit_code"], ""),
            "verified_percent": percent(line["verified_share"]),
        }
        for line in doubtful
    ]
    leaflets = [
        {**line, "row_class": "over" if line["over"] else ""}
        for line in cut("leaflets", result["leaflets"])
    ]
    shared = [
        asdict(line)
        for line in cut(
            "receipts",
            receipts.shares(db, scope.prefix, scope.day_start, scope.day_end, scope.envoy_id),
        )
    ]
    listed = cut("checkins", result["checkins"])
    farmers = listings.farmer_names(db, (line["farmer_id"] for line in listed))
    checkins = [
        {
            **line,
            "farmer": farmers.get(line.get("farmer_id") or "", line.get("farmer_id") or ""),
            "reason_zh": REASON_WORDS.get(line["reason"], (line["reason"],))[0],
            "reason_en": REASON_WORDS.get(line["reason"], (line["reason"],) * 2)[-1],
        }
        for line in listed
    ]
    # How many farmers one phone checked in at the session, where a line says so.
    checkin_extra = (
        (Column("phone_farmers", "同一手机签到农户数", "Farmers from that phone", NUMBER),)
        if (
            any(line.get("phone_farmers") for line in result["checkins"])
            if shared_phones is None
            else shared_phones
        )
        else ()
    )
    devices = cut("devices", result["devices"])
    device_columns: tuple[Column, ...] = (
        Column("device", "设备", "Device"),
        Column("envoy", "特派员", "Envoy", link=ledger_link),
        Column("last_seen_at", "最后联系（北京时间）", "Last contact (China time)", TIME),
        Column("days_silent", "未联系天数", "Days silent", NUMBER),
    )
    if any("waiting" in line for line in result["devices"]):
        # The outbox size the device sent with its last sync (None: it never reported one).
        device_columns += (
            Column(
                "waiting", "待上传变更（最后一次报告）", "Changes waiting (last report)", NUMBER
            ),
        )
    if any(line.get("reported_at") for line in result["devices"]):
        device_columns += (
            Column("reported_at", "报告时间（北京时间）", "Reported (China time)", TIME),
        )
    return {
        "headcount-envoys": table(
            "headcount-envoys",
            "人数核对（按特派员）",
            "Headcounts by envoy",
            (
                Column("envoy", "特派员", "Envoy", link=ledger_link),
                Column("sessions", "场次", "Sessions", NUMBER),
                Column("reported", "填报人数", "Reported headcount", NUMBER),
                Column("checked_in", "实名签到人数", "Named check-ins", NUMBER),
                Column("verified_percent", "核实比例 %", "Verified %", NUMBER),
                Column("doubtful_sessions", "存疑场次", "Doubtful sessions", NUMBER),
            ),
            envoys,
        ),
        "headcount-sessions": table(
            "headcount-sessions",
            "人数存疑的场次",
            "Sessions with a doubtful headcount",
            (
                Column("starts_at", "时间（北京时间）", "When (China time)", TIME),
                Column("title", "主题", "Title", link=session_link),
                Column("kind_zh", "类型", "Kind", en_key="kind_en"),
                Column("unit", "地点（单位）", "Unit"),
                Column("envoy", "主讲特派员", "Lead envoy", link=ledger_link),
                Column("reported", "填报人数", "Reported headcount", NUMBER),
                Column("checked_in", "实名签到人数", "Named check-ins", NUMBER),
                Column("verified_percent", "核实比例 %", "Verified %", NUMBER),
                Column("unit_code", "区划代码", "Unit code", CODE),
            ),
            sessions,
        ),
        "leaflets": table(
            "leaflets",
            "资料核对（按特派员和资料）",
            "Leaflets by envoy and title",
            (
                Column("envoy", "特派员", "Envoy", link=ledger_link),
                Column("title", "资料名称", "Title"),
                Column("received", "领取份数（截至年底）", "Received (to year end)", NUMBER),
                Column("handed_out", "发放份数（截至年底）", "Handed out (to year end)", NUMBER),
                Column("in_hand", "结存", "In hand", NUMBER),
                Column("over", "超发", "Over-distributed", BOOL),
            ),
            leaflets,
        ),
        "receipts": table(
            "receipts",
            "本年领取计入本单位",
            "This year's receipts counted toward this unit",
            (
                Column("envoy", "特派员", "Envoy", link=ledger_link),
                Column("received", "本年领取份数", "Received this year", NUMBER),
                Column("townships", "服务乡镇数", "Townships served", NUMBER),
                Column("share", "计入本单位份数", "Counted toward this unit", NUMBER),
            ),
            shared,
        ),
        "checkins": table(
            "checkins",
            "签到核对",
            "Check-ins to look at",
            (
                Column("checked_in_at", "签到时间（北京时间）", "Checked in (China time)", TIME),
                Column("farmer", "学员", "Trainee"),
                Column("session", "场次", "Session", link=session_link),
                Column("starts_at", "场次开始（北京时间）", "Session starts (China time)", TIME),
                Column("envoy", "特派员", "Envoy", link=ledger_link),
                Column("reason_zh", "原因", "Reason", en_key="reason_en"),
                Column("minutes_off", "超出时间（分钟）", "Minutes outside", NUMBER),
                *checkin_extra,
            ),
            checkins,
        ),
        "devices": table(
            "devices",
            "失联设备",
            "Silent devices",
            device_columns,
            devices,
        ),
    }


def envoy_choices(db: Any, scope: ViewScope) -> tuple[list[dict[str, Any]], bool]:
    """The envoy menu of the scope form: the envoys serving the unit chosen (else the reader's
    area), the one chosen kept; and whether the menu leaves them out, there being more than
    ENVOY_MENU_MOST (a unit is to be chosen first)."""
    if scope.own:
        return [], False
    choices = listings.envoys(db, scope.prefix if scope.unit else scope.area)
    chosen = [row for row in choices if row["id"] == scope.envoy]
    if scope.envoy and not chosen:
        chosen = [{"id": scope.envoy, "label": scope.envoy_name or scope.envoy}]
        choices = [*chosen, *choices]
    if len(choices) > ENVOY_MENU_MOST:
        return chosen, True
    return choices, False


def leaflets_page(
    db: Any, scope: Scope, number: int
) -> tuple[Page, list[reconciliation.LeafletLine]]:
    """The leaflet lines of page `number`, the last page's where it is past the end."""
    lines, total = reconciliation.leaflet_page(db, scope, PAGE_SIZE, (number - 1) * PAGE_SIZE)
    page = page_of("page-leaflets", total, number)
    if page.number != number:
        lines, total = reconciliation.leaflet_page(db, scope, PAGE_SIZE, page.offset)
    return page, lines


def checkins_page(db: Any, scope: Scope, number: int) -> tuple[Page, reconciliation.CheckinPage]:
    """The doubtful check-ins of page `number`, the last page's where it is past the end."""

    def read(offset: int) -> reconciliation.CheckinPage:
        return reconciliation.checkin_page(
            db,
            scope,
            current_app.config["CHECKIN_MARGIN_MINUTES"],
            current_app.config["CHECKIN_SHARED_PHONE_FARMERS"],
            PAGE_SIZE,
            offset,
        )

    found = read((number - 1) * PAGE_SIZE)
    page = page_of("page-checkins", found.total, number)
    if page.number != number:
        found = read(page.offset)
    return page, found


@bp.get("/")
@requires(*ANYONE)
def overview() -> Any:
    scope = page_scope()
    # The page shows each table a page at a time (a bad page number refused before any query);
    # a file (?format=) carries every row.
    wants_file = bool(request.args.get("format"))
    wanted = {} if wants_file else {name: asked_page(f"page-{name}") for name in TABLES}
    db = get_db()
    # An envoy user's own page is headed by the envoy's name, not the login name.
    unit, unit_name, where = scope.place, scope.name, scope.figures()
    now = utc_now()
    result = reconciliation.reconcile(
        db,
        where,
        current_app.config["CHECKIN_MARGIN_MINUTES"],
        current_app.config["SILENT_DEVICE_DAYS"],
        now,
        rules_of(current_app.config),
        shared_phone_farmers=current_app.config["CHECKIN_SHARED_PHONE_FARMERS"],
        whole=wants_file,
    )
    pages: dict[str, Page] = {}
    shared_phones = None
    if not wants_file:
        # Only the page's leaflet lines and check-ins are read (a nation has 55,000 and 50,000).
        pages["leaflets"], lines = leaflets_page(db, where, wanted["leaflets"])
        result["leaflets"] = [reconciliation.as_row(line) for line in lines]
        pages["checkins"], found = checkins_page(db, where, wanted["checkins"])
        result["checkins"] = [reconciliation.as_row(line) for line in found.lines]
        shared_phones = found.shared_phones
    # A file holds one table: the others' names and labels are not looked up.
    in_file = request.args.get("table") or TABLES[0]

    def only_the_file(name: str, rows: list[Any]) -> list[Any]:
        return rows if name == in_file else []

    def one_page(name: str, rows: list[Any]) -> list[Any]:
        if name in ("leaflets", "checkins"):
            return rows  # read a page at a time
        pages[name] = page_of(f"page-{name}", len(rows), wanted[name])
        return pages[name].rows(rows)

    tables = build_tables(
        db,
        result,
        where,
        unit_name,
        to_iso(now),
        only_the_file if wants_file else one_page,
        shared_phones,
    )
    units: list[dict[str, Any]] = []
    if not scope.own:
        current = unit["code"] if unit else None
        units = listings.unit_choices(db, current, scope.area)
        if unit is not None and unit["level"] in ("township", "village"):
            known = {row["code"] for row in units}
            units += [
                row for row in listings.villages_of(db, unit["code"]) if row["code"] not in known
            ]
            units.sort(key=lambda row: row["code"])
    flags = result.get("flags")
    envoys, left_out = envoy_choices(db, scope)
    return table_page(
        "reconciliation.html",
        tables,
        result=result,
        scope=scope,
        unit=unit,
        unit_name=unit_name,
        as_of=to_iso(now),
        units=units,
        pages=pages,
        envoys=envoys,
        envoys_left_out=left_out,
        flag_count=None if flags is None else len(flags),
        flags_link=path_link(
            "flags.listing", "/flags", year=scope.year, unit=scope.unit, envoy=scope.envoy
        ),
        review_link=review_link,
        receipts_total=receipts.received(
            db, where.prefix, where.day_start, where.day_end, where.envoy_id
        ),
        margin=current_app.config["CHECKIN_MARGIN_MINUTES"],
        silent_days=current_app.config["SILENT_DEVICE_DAYS"],
    )
