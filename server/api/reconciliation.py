"""Reconciliation of a unit's year as JSON: leaflet stock per envoy and title, headcounts."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from server.accounts.access import require_report_reader
from server.api.protocol import API_TOKEN, Blueprint
from server.api.scope import ScopeQuerySchema, api_scope
from server.quality import flags, reconciliation
from server.store.db import get_db
from shared.clock import utc_now

blp = Blueprint("reconciliation", __name__, description="数据核对 / Reconciliation of figures")
blp.before_request(require_report_reader)


class ReconciliationQuerySchema(ScopeQuerySchema):
    margin = fields.Integer(
        load_default=None,
        validate=validate.Range(0, 7 * 24 * 60),
        metadata={"description": "签到时间允许偏差（分钟）/ check-in margin in minutes"},
    )


class LeafletLineSchema(Schema):
    envoy_id = fields.String(metadata={"description": "特派员 / envoy id"})
    envoy = fields.String(metadata={"description": "特派员姓名 / envoy's name"})
    title_id = fields.String()
    title = fields.String(metadata={"description": "资料名称 / leaflet title"})
    received = fields.Integer(metadata={"description": "截至年底领取份数 / received to year end"})
    handed_out = fields.Integer(metadata={"description": "截至年底发放份数 / handed out"})
    in_hand = fields.Integer(metadata={"description": "结存 / received minus handed out"})
    over = fields.Boolean(metadata={"description": "超发 / handed out more than received"})


class SessionHeadcountSchema(Schema):
    session_id = fields.String()
    title = fields.String()
    kind = fields.String()
    unit_code = fields.String()
    starts_at = fields.String()
    envoy_id = fields.String()
    envoy = fields.String()
    reported = fields.Integer(allow_none=True, metadata={"description": "上报人数 / headcount"})
    checked_in = fields.Integer(metadata={"description": "实名签到人数 / named check-ins"})
    verified_share = fields.Float(allow_none=True, metadata={"description": "核实比例"})
    doubtful = fields.Boolean(metadata={"description": "上报人数远高于签到 / far above names"})


class EnvoyHeadcountSchema(Schema):
    envoy_id = fields.String()
    envoy = fields.String()
    sessions = fields.Integer()
    reported = fields.Integer()
    checked_in = fields.Integer()
    verified_share = fields.Float(allow_none=True)
    doubtful_sessions = fields.Integer()


class HeadcountsSchema(Schema):
    sessions = fields.List(fields.Nested(SessionHeadcountSchema))
    envoys = fields.List(fields.Nested(EnvoyHeadcountSchema))
    factor = fields.Float(metadata={"description": "超过签到人数的倍数即列出 / listing factor"})


class CheckinLineSchema(Schema):
    attendance_id = fields.String()
    session_id = fields.String()
    session = fields.String(metadata={"description": "培训名称 / session title"})
    envoy_id = fields.String()
    envoy = fields.String()
    farmer_id = fields.String()
    checked_in_at = fields.String()
    starts_at = fields.String()
    ends_at = fields.String(allow_none=True)
    reason = fields.String(
        metadata={
            "description": "outside_window 时间窗外 / deleted_session 场次已删除 / "
            "shared_phone 多人同一手机 (many farmers from one phone)"
        }
    )
    minutes_off = fields.Integer(allow_none=True, metadata={"description": "超出分钟数"})
    phone = fields.String(
        allow_none=True,
        metadata={
            "description": "shared_phone：签到手机 cookie 的摘要，不是手机号 / "
            "hash of the phone's check-in cookie, never a phone number"
        },
    )
    phone_farmers = fields.Integer(
        allow_none=True,
        metadata={
            "description": "shared_phone：该手机在本场签到的不同农户数 / "
            "distinct farmers this phone checked in at the session"
        },
    )


class DeviceLineSchema(Schema):
    device_id = fields.String()
    device = fields.String()
    envoy_id = fields.String()
    envoy = fields.String()
    last_seen_at = fields.String(
        allow_none=True, metadata={"description": "最后联系 / last contact"}
    )
    days_silent = fields.Integer(metadata={"description": "未联系天数 / days silent"})
    waiting = fields.Integer(
        allow_none=True,
        metadata={
            "description": "设备上次报告的待发送变更数 / changes the device last reported "
            "waiting in its outbox (null: it never reported)"
        },
    )
    reported_at = fields.String(
        allow_none=True, metadata={"description": "上次报告时间 / when it last reported (UTC)"}
    )


class FlagSchema(Schema):
    kind = fields.String(
        metadata={
            "description": "plot_area 面积异常 / headcount 上报人数异常 / handout_copies 发放份数异常"
            " / empty_session 无签到无人数 / yield_vs_target 亩产远离目标"
            " / shared_address 同一地址多人签到 / checkin_burst 签到快于排队"
            " / one_time_farmers 农户多为一次性"
        }
    )
    record_kind = fields.String(metadata={"description": "记录类别（同步协议）/ protocol kind"})
    record_id = fields.String(metadata={"description": "记录 id / record id"})
    envoy_id = fields.String(metadata={"description": "特派员 / the record's envoy"})
    reason = fields.String(metadata={"description": "原因（中文 / English），含数值与常见范围"})
    review = fields.String(
        allow_none=True,
        metadata={"description": "审核状态 approved/questioned/returned/corrected，未审核为 null"},
    )
    envoy = fields.String(metadata={"description": "特派员姓名 / envoy's name"})
    unit_code = fields.String(allow_none=True, metadata={"description": "村或单位 / unit code"})
    at = fields.String(allow_none=True, metadata={"description": "记录日期或时间 / record's date"})
    value = fields.Float(allow_none=True, metadata={"description": "被标记的数值 / the value"})
    z = fields.Float(allow_none=True, metadata={"description": "全县修正 z 分数 / county z-score"})
    note = fields.String(
        allow_none=True,
        metadata={
            "description": "曾被标记、现已不再突出时的说明（审核前一直列出）/ a flag once raised "
            "that no longer stands out says so here (listed until reviewed); null otherwise"
        },
    )


class ReconciliationSchema(Schema):
    year = fields.Integer()
    unit = fields.String(allow_none=True)
    envoy_id = fields.String(allow_none=True)
    leaflets = fields.List(fields.Nested(LeafletLineSchema))
    headcounts = fields.Nested(HeadcountsSchema)
    checkins = fields.List(fields.Nested(CheckinLineSchema))
    devices = fields.List(fields.Nested(DeviceLineSchema))
    flags = fields.List(
        fields.Nested(FlagSchema),
        metadata={
            "description": "疑似有误的记录，列出待审核，从不拒收 / records flagged, never refused"
        },
    )


@blp.route("/<int:year>")
class Reconciliation(MethodView):
    @blp.doc(security=[{API_TOKEN: []}])
    @blp.arguments(ReconciliationQuerySchema, location="query")
    @blp.response(200, ReconciliationSchema)
    def get(self, query: dict[str, Any], year: int) -> dict[str, Any]:
        """Leaflets received, handed out and in hand per envoy and title; headcounts beside
        named check-ins. An envoy user sees only their own rows."""
        scope = api_scope(year)
        margin = query["margin"]
        if margin is None:
            margin = current_app.config["CHECKIN_MARGIN_MINUTES"]
        return reconciliation.reconcile(
            get_db(),
            scope.figures(),
            margin,
            current_app.config["SILENT_DEVICE_DAYS"],
            utc_now(),
            flags.rules_of(current_app.config),
            shared_phone_farmers=current_app.config["CHECKIN_SHARED_PHONE_FARMERS"],
        )
