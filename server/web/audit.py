"""The audit log page: every staff action, newest first, who, when (China time), what, and what
changed (before → after); filtered by action and by user. Staff and admins only; a user with
an area sees what that area's users did (server/api/scope.py)."""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext
from marshmallow import Schema, fields, validate

from server.accounts import audit
from server.accounts.access import BUREAU, requires, signed_in
from server.api.scope import area_users
from server.store.db import get_db
from server.web import forms
from server.web.formatting import chosen_words, local_datetime, role_label
from server.web.review import KIND_LABELS, STATUS_LABELS
from shared.choices import COMPARATORS
from shared.indicators import BY_KEY

bp = Blueprint("audit", __name__)
PAGE_SIZE = 50

ACTION_LABELS = {
    audit.REVIEW: lazy_gettext("审核记录"),
    audit.REVIEW_CORRECTED: lazy_gettext("特派员已更正退回的记录"),
    audit.FARMER_MERGE: lazy_gettext("合并农户"),
    audit.CANDIDATE_DISMISS: lazy_gettext("标为不同的人"),
    audit.TARGET_SET: lazy_gettext("设定目标"),
    audit.TARGET_DELETE: lazy_gettext("删除目标"),
    audit.TARGET_UPLOAD: lazy_gettext("导入目标文件"),
    audit.TARGET_PROFILE: lazy_gettext("设定月度进度"),
    audit.DEVICE_REVOKE: lazy_gettext("撤销设备"),
    audit.HELD_DROP: lazy_gettext("删除暂存的变更"),
    audit.USER_ADD: lazy_gettext("添加用户"),
    audit.USER_DISABLE: lazy_gettext("停用用户"),
    audit.USER_ENABLE: lazy_gettext("恢复用户"),
    audit.USER_PASSWORD: lazy_gettext("重设密码"),
    audit.USER_AREA: lazy_gettext("设置查看范围"),
    audit.TOKEN_ISSUE: lazy_gettext("开设接口令牌"),
    audit.TOKEN_REVOKE: lazy_gettext("撤销接口令牌"),
}
TARGET_LABELS = {
    **KIND_LABELS,
    "merge_candidate": lazy_gettext("疑似重复农户"),
    "target": lazy_gettext("目标"),
    "targets_file": lazy_gettext("目标文件"),
    "target_profile": lazy_gettext("月度进度"),
    "device": lazy_gettext("设备"),
    "held": lazy_gettext("暂存的变更"),
    "user": lazy_gettext("用户"),
    "api_token": lazy_gettext("接口令牌"),
}
KEY_LABELS = {
    "status": lazy_gettext("审核结果"),
    "note": lazy_gettext("说明"),
    "record_deleted": lazy_gettext("记录已删除"),
    "farmer": lazy_gettext("农户"),
    "merged_into": lazy_gettext("合并到"),
    "candidate": lazy_gettext("疑似对编号"),
    "resolution": lazy_gettext("处理结果"),
    "a": lazy_gettext("甲"),
    "b": lazy_gettext("乙"),
    "year": lazy_gettext("年度"),
    "indicator": lazy_gettext("指标"),
    "unit_code": lazy_gettext("单位代码"),
    "envoy_id": lazy_gettext("特派员"),
    "comparator": lazy_gettext("比较"),
    "value": lazy_gettext("目标值"),
    "growth_percent": lazy_gettext("同比增长 %"),
    "shares": lazy_gettext("各月累计比例"),
    "device": lazy_gettext("设备"),
    "envoy": lazy_gettext("特派员"),
    "revoked_at": lazy_gettext("撤销时间"),
    "held": lazy_gettext("暂存的变更"),
    "count": lazy_gettext("条数"),
    "name": lazy_gettext("名称"),
    "role": lazy_gettext("角色"),
    "disabled_at": lazy_gettext("停用时间"),
    "password_reset": lazy_gettext("密码已重设"),
    "label": lazy_gettext("名称"),
}
VALUE_WORDS = {
    "different_people": lazy_gettext("不同的人"),
    "even": lazy_gettext("全年均匀"),
    True: lazy_gettext("是"),
    False: lazy_gettext("否"),
}


def shown(key: str, value: Any, names: dict[str, str] | None = None) -> str:
    """A logged value in words: statuses and resolutions named, times in China time, envoys
    and units by name (`names`: id or code -> name)."""
    if value is None or value == []:
        return "—"
    names = names or {}
    if key in ("envoy_id", "envoy", "unit_code") and isinstance(value, str) and value in names:
        return names[value]
    if _target_key(key) and isinstance(value, str):
        # A target as the targets file logs it: ">= 5000".
        comparator, _, amount = value.partition(" ")
        if comparator in COMPARATORS:
            return f"{chosen_words(COMPARATORS[comparator])} {amount}"
    if key == "status":
        return str(STATUS_LABELS.get(value, value))
    if key == "role":
        return role_label(str(value))
    if key == "indicator" and value in BY_KEY:
        return chosen_words((BY_KEY[value].label_zh, BY_KEY[value].label_en))
    if key == "comparator" and value in COMPARATORS:
        return chosen_words(COMPARATORS[value])
    if isinstance(value, bool) or (isinstance(value, str) and value in VALUE_WORDS):
        return str(VALUE_WORDS[value])
    if isinstance(value, str) and key.endswith("_at"):
        return local_datetime(value)
    if isinstance(value, dict) and "name" in value:
        return "，".join(str(value[k]) for k in ("name", "village") if value.get(k))
    if isinstance(value, dict) and "waiting_for" in value:
        return f"{value.get('device_id')} #{value.get('seq')} → {value['waiting_for']}"
    if isinstance(value, list):
        return "、".join(shown(key, item) for item in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _target_key(key: str) -> list[str] | None:
    """A target's key as logged, split into year, unit code or envoy id, and indicator:
    "2026:530326000000:trainee_attendances" or "2026:envoy:<id>:demo_plots"; else None."""
    parts = key.split(":")
    if len(parts) == 4 and parts[1] == "envoy":
        parts = [parts[0], parts[2], parts[3]]
    return parts if len(parts) == 3 and parts[2] in BY_KEY and parts[0].isdigit() else None


def key_label(key: str, names: dict[str, str]) -> str:
    """What a logged key is, in words: 2026 年 会泽县 培训人次 for a target's key."""
    parts = _target_key(key)
    if parts:
        year, unit, indicator = parts
        label = chosen_words((BY_KEY[indicator].label_zh, BY_KEY[indicator].label_en))
        return f"{year} {names.get(unit, unit)} {label}"
    return str(KEY_LABELS.get(key, key))


def actor(name: str | None) -> str:
    """Who acted: a user's name, or the system or command line in words."""
    if not name:
        return ""
    if name == audit.SYSTEM:
        return str(lazy_gettext("系统"))
    if name == "cli" or name.startswith("cli:"):
        return f"{lazy_gettext('命令行')} {name[4:]}".strip()
    return name


def change_lines(
    entry: audit.Entry, names: dict[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """(what, before, after) for each thing the action changed."""
    names = names or {}
    order = {key: number for number, key in enumerate(KEY_LABELS)}
    changes = sorted(entry.changes(), key=lambda change: order.get(change[0], len(order)))
    return [
        (key_label(key, names), shown(key, old, names), shown(key, new, names))
        for key, old, new in changes
    ]


def names_of(db: Any) -> dict[str, str]:
    """Units by code, envoys and devices by id, to name them in the log."""
    found = {code: name for code, name in db.execute("SELECT code, name FROM units")}
    found.update({envoy_id: name for envoy_id, name in db.execute("SELECT id, name FROM envoys")})
    found.update({key: name for key, name in db.execute("SELECT id, name FROM devices")})
    return found


def target_text(entry: audit.Entry, names: dict[str, str]) -> str | None:
    """What an action was done to, in words where the log keeps a key or an id."""
    target = str(entry.target_id or "")
    if _target_key(target):
        return key_label(target, names)
    return names.get(target)


class LogArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    action = fields.String(
        load_default=None,
        validate=validate.OneOf(
            (*audit.ACTIONS, "review", "farmer", "target", "device", "held", "user", "token"),
            error="没有这种操作 / no such action",
        ),
    )
    user = fields.String(load_default=None, validate=validate.Length(1, 60))


@bp.get("/audit")
@requires(*BUREAU)
def log() -> Any:
    args = forms.load(LogArgs(), {k: v for k, v in request.args.items() if k in LogArgs().fields})
    db = get_db()
    page = args["page"]
    among = area_users(signed_in())
    found = audit.entries(
        db, PAGE_SIZE, (page - 1) * PAGE_SIZE, args["action"], args["user"], among
    )
    names = names_of(db)
    return render_template(
        "audit.html",
        entries=found,
        total=audit.count(db, args["action"], args["user"], among),
        page=page,
        page_size=PAGE_SIZE,
        args=args,
        users=[name for name in audit.user_names(db) if among is None or name in among],
        action_labels=ACTION_LABELS,
        target_labels=TARGET_LABELS,
        record_kinds=KIND_LABELS,
        change_lines=functools.partial(change_lines, names=names),
        target_text=functools.partial(target_text, names=names),
        actor=actor,
    )
