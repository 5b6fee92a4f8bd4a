"""Push and pull: how field devices send their changes and fetch everyone else's."""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import ValidationError

from server.api.protocol import (
    DEVICE_TOKEN,
    Blueprint,
    add_protocol_headers,
    authenticate_device,
    gzip_if_accepted,
    note_contact,
    note_report,
    read_json_body,
    server_hlc,
)
from server.quality import flags
from server.store.db import get_db
from server.sync import HeldLimits, ResyncRequired, apply_push, pull_page
from server.sync.devices import checkin_key
from shared import protocol as p
from shared.schemas.sync import (
    ChangeSchema,
    PullQuerySchema,
    PullResponseSchema,
    PushRequestSchema,
    PushResponseSchema,
    canonical_change,
)

blp = Blueprint("sync", __name__, description="设备同步 / Device sync")
blp.before_request(authenticate_device)
blp.after_request(add_protocol_headers)
blp.after_request(gzip_if_accepted)

_change_schema = ChangeSchema()
_pull_query = PullQuerySchema()
# One push applied at a time in this process. Pushes serialise on SQLite's write lock anyway;
# waiting here instead, before the body is even parsed, hands over the moment the previous
# push commits (SQLite's busy wait sleeps in steps of up to 100 ms) and keeps a waiting push
# from competing with the running one for the interpreter, when several devices push at once.
_applying = threading.Lock()


def _checked_changes(body: Any) -> list[dict[str, Any]]:
    try:
        if isinstance(body, dict) and isinstance(body.get("changes"), list):
            changes = body["changes"]
        else:
            changes = PushRequestSchema().load(
                body if isinstance(body, dict) else {"changes": None}
            )["changes"]
    except ValidationError as exc:
        abort(
            422, message='推送格式错误 / push body must be {"changes": [...]}', errors=exc.messages
        )
    limit = current_app.config["MAX_BATCH_CHANGES"]
    if len(changes) > limit:
        abort(413, message=f"一次最多推送 {limit} 条变更 / at most {limit} changes per push")
    errors: dict[str, Any] = {}
    loaded = []
    for index, change in enumerate(changes):
        canonical = canonical_change(change)
        if canonical is not None:
            loaded.append(canonical)
            continue
        try:
            loaded.append(_change_schema.load(change))
        except ValidationError as exc:
            errors[str(index)] = exc.messages
    if errors:
        # The envelope itself is broken, so no change can be trusted to be what it says.
        abort(422, message="变更的格式错误 / malformed change envelope", errors=errors)
    seqs = [c["q"] for c in loaded]
    if len(set(seqs)) != len(seqs):
        abort(422, message="同一批次中序号重复 / a sequence number appears twice in one batch")
    return loaded


@blp.route("/push")
class Push(MethodView):
    @blp.doc(
        security=[{DEVICE_TOKEN: []}],
        requestBody={
            "required": True,
            "description": "这台设备的一批变更 / a batch of this device's changes, usually sent "
            "gzip'd (Content-Encoding: gzip); at most MAX_BATCH_CHANGES of them",
            "content": {"application/json": {"schema": PushRequestSchema}},
        },
    )
    @blp.response(200, PushResponseSchema)
    def post(self) -> dict[str, Any]:
        """Apply a batch of a device's changes, answering each change on its own."""
        with _applying:
            note_contact()
            changes = _checked_changes(read_json_body())
            limits = HeldLimits(
                current_app.config["MAX_HELD_CHANGES"], current_app.config["MAX_HELD_BYTES"]
            )
            rules = flags.rules_of(current_app.config)
            outcome = apply_push(get_db(), g.device, changes, limits, rules)
            note_report()
        return {
            "applied": _runs(outcome["applied"]),
            "answers": outcome["answers"],
            "server_hlc": outcome["server_hlc"],
            "device_max_seq": outcome["device_max_seq"],
        }


def _runs(seqs: list[int]) -> list[list[int]]:
    """Sorted sequence numbers as [first, last] runs: a big push is answered in a few."""
    runs: list[list[int]] = []
    current = [0, -2]
    for seq in seqs:
        if seq == current[1] + 1:
            current[1] = seq
        else:
            current = [seq, seq]
            runs.append(current)
    return runs


@blp.route("/pull")
class Pull(MethodView):
    @blp.doc(security=[{DEVICE_TOKEN: []}])
    # An instance, not the class: webargs would make a schema for every request.
    @blp.arguments(_pull_query, location="query")
    @blp.response(200, PullResponseSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Records changed after the cursor that this device should hold, one page at a time."""
        note_contact()
        note_report()
        limit = min(query["limit"], current_app.config["MAX_PULL_PAGE"])
        try:
            page = pull_page(
                get_db(), g.device, query["cursor"], limit, query["include_own"], g.standing
            )
        except ResyncRequired:
            page = {
                "records": [],
                "cursor": 0,
                "more": True,
                "full_resync": True,
                "device_max_seq": 0,
            }
        page.setdefault("full_resync", False)
        if "server_hlc" not in page:  # a page brings the clock read with it
            page["server_hlc"] = server_hlc()
        if request.headers.get(p.HEADER_WANT_CHECKIN_KEY):
            page["checkin_key"] = checkin_key(get_db(), g.device.id)
        return page
