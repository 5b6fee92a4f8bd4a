"""The ledger page: an envoy's devices' holdings against the server's counts, every difference
explained with its records (server/sync/envoy_ledger.py); envoys see only their own."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import lazy_gettext

from server.accounts.access import ANYONE, requires, signed_in
from server.api.scope import envoy_of_area, held_to, reader_area
from server.reference import lists as listings
from server.store.db import get_db
from server.store.sql_text import in_chunks
from server.sync import envoy_ledger as ledger
from shared import protocol as p

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

KIND_NAMES = {
    p.FARMER: lazy_gettext("农户"),
    p.SESSION: lazy_gettext("培训"),
    p.ATTENDANCE: lazy_gettext("签到"),
    p.LEAFLET_RECEIPT: lazy_gettext("资料领取"),
    p.LEAFLET_HANDOUT: lazy_gettext("资料发放"),
    p.PLOT: lazy_gettext("示范田"),
    p.PLOT_OBSERVATION: lazy_gettext("田间观察"),
    p.PHOTO: lazy_gettext("照片"),
}
LINE_NAMES = {
    ledger.WAITING: lazy_gettext("未同步"),
    ledger.MERGED: lazy_gettext("合并为重复农户"),
    ledger.REFUSED: lazy_gettext("被拒"),
    ledger.HELD: lazy_gettext("暂存待关联"),
    ledger.DELETED: lazy_gettext("已删除"),
    ledger.NOT_PULLED: lazy_gettext("服务器上较新、本机尚未拉取"),
    ledger.UNEXPLAINED: lazy_gettext("未解释"),
}
# What each line's listed records say beside them.
LINE_NOTES = {
    ledger.MERGED: lazy_gettext("服务器按同一人计一次，合并到："),
    ledger.REFUSED: lazy_gettext("拒收原因："),
    ledger.HELD: lazy_gettext("等待尚未到达的记录："),
    ledger.DELETED: lazy_gettext("删除者设备："),
}


@bp.get("/")
@requires(*ANYONE)
def index() -> Any:
    """An envoy goes to their own ledger; the bureau picks an envoy."""
    own = held_to(signed_in(), None)
    if own is not None:
        return redirect(url_for("ledger.envoy", envoy_id=own))
    # A user with an area picks among its envoys only.
    area = reader_area(signed_in())
    mine = {row["id"] for row in listings.envoys(get_db(), area)} if area else None
    listed = [
        row
        for row in ledger.envoys_with_devices(get_db())
        if mine is None or row["envoy_id"] in mine
    ]
    return render_template("ledger_index.html", envoys=listed)


def farmer_names(db: Any, found: Any) -> dict[str, str]:
    """A check-in is listed by its farmer's name, not the farmer's id it stores."""
    ids = {
        record.shown
        for device in found.devices
        for kind in device.kinds
        if kind.kind == p.ATTENDANCE
        for line in kind.lines
        for record in line.records
        if record.shown
    }
    names: dict[str, str] = {}
    for chunk, marks in in_chunks(sorted(ids)):
        names.update(db.execute(f"SELECT id, name FROM farmers WHERE id IN ({marks})", chunk))
    return names


@bp.get("/<envoy_id>")
@requires(*ANYONE)
def envoy(envoy_id: str) -> Any:
    held_to(signed_in(), envoy_id)
    envoy_of_area(signed_in(), envoy_id)
    db = get_db()
    found = ledger.ledger(db, envoy_id)
    return render_template(
        "ledger.html",
        found=found,
        farmer_names=farmer_names(db, found),
        kind_names=KIND_NAMES,
        line_names=LINE_NAMES,
        line_notes=LINE_NOTES,
        explained=[key for key in LINE_NAMES if key != ledger.UNEXPLAINED],
    )
