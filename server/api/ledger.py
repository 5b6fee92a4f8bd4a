"""The ledger of one envoy as JSON: each device's report against the server's counts, every
difference explained (server/sync/envoy_ledger.py; docs/report.md gives the identity)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields

from server.accounts.access import report_reader, require_report_reader
from server.api.protocol import API_TOKEN, Blueprint
from server.api.scope import envoy_of_area, held_to, year_of
from server.store.db import get_db
from server.sync import envoy_ledger as ledger

blp = Blueprint("envoy_ledger", __name__, description="特派员台账 / Per-envoy ledger")
blp.before_request(require_report_reader)


class LedgerRecordSchema(Schema):
    record_id = fields.String(allow_none=True)
    shown = fields.String(
        allow_none=True, metadata={"description": "农户姓名、培训名称等 / name, title ..."}
    )
    detail = fields.String(
        allow_none=True,
        metadata={"description": "拒收原因、所等记录、合并到谁 / reason, waited for, merged into"},
    )
    at = fields.String(allow_none=True)
    counted = fields.Boolean(metadata={"description": "计入该行数目 / makes part of the count"})


class LedgerLineSchema(Schema):
    key = fields.String(
        metadata={"description": "waiting, merged, refused, held, deleted, not_pulled, unexplained"}
    )
    label = fields.String()
    count = fields.Integer(
        metadata={"description": "设备因此多出的数目 / how many more the device holds for this"}
    )
    records = fields.List(fields.Nested(LedgerRecordSchema))
    more = fields.Integer(metadata={"description": "未列出的记录数 / records not listed"})


class KindLedgerSchema(Schema):
    kind = fields.String()
    device = fields.Integer(
        allow_none=True, metadata={"description": "设备持有 / held on the device"}
    )
    live = fields.Integer(allow_none=True)
    refused_kept = fields.Integer(allow_none=True)
    waiting = fields.Integer(allow_none=True)
    new = fields.Integer(allow_none=True)
    gone = fields.Integer(allow_none=True)
    server = fields.Integer(metadata={"description": "服务器计数 / counted by the server"})
    tombstones = fields.Integer()
    lines = fields.List(fields.Nested(LedgerLineSchema))
    unexplained = fields.Integer()
    balanced = fields.Boolean()


class DeviceLedgerSchema(Schema):
    device_id = fields.String()
    device = fields.String()
    last_seen_at = fields.String(allow_none=True)
    reported_at = fields.String(allow_none=True)
    reported = fields.Boolean()
    cursor = fields.Integer(allow_none=True)
    waiting = fields.Integer(allow_none=True)
    kinds = fields.List(fields.Nested(KindLedgerSchema))


class LedgerSchema(Schema):
    year = fields.Integer()
    envoy_id = fields.String()
    envoy = fields.String()
    server = fields.Dict(keys=fields.String(), values=fields.Integer())
    devices = fields.List(fields.Nested(DeviceLedgerSchema))
    balanced = fields.Boolean()


@blp.route("/<int:year>/ledger/<envoy_id>")
class Ledger(MethodView):
    @blp.doc(security=[{API_TOKEN: []}])
    @blp.response(200, LedgerSchema)
    def get(self, year: int, envoy_id: str) -> dict[str, Any]:
        """What each of the envoy's devices holds against what the server counts, with every
        difference explained. An envoy user may read only their own."""
        held_to(report_reader(), envoy_id)
        envoy_of_area(report_reader(), envoy_id)
        return {"year": year_of(year), **ledger.as_json(ledger.ledger(get_db(), envoy_id))}
