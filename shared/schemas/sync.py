"""Schemas of the sync wire: enrolment, push batches and their answers, pull pages."""

from __future__ import annotations

import re

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from shared import protocol as p
from shared.schemas.types import Name


class EnrolmentRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=validate.Length(4, 20))
    device_name = Name(load_default="field device", validate=validate.Length(1, 80))


class EnrolmentResponseSchema(Schema):
    device_id = fields.String(required=True)
    token = fields.String(required=True)
    envoy = fields.Dict(required=True)
    server_hlc = fields.String(required=True)
    protocol = fields.Integer(required=True)
    # Signs the device's check-in posters (HMAC); absent from older servers.
    checkin_key = fields.String()


_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


class ChangeSchema(Schema):
    """One change: q = device sequence, k = kind, i = record id (derived for a check-in),
    h = clock stamp without the device part, b = stamp of the version edited, f = fields set."""

    class Meta:
        unknown = RAISE

    q = fields.Integer(required=True, strict=True, validate=validate.Range(1, 2**62))
    k = fields.String(required=True, validate=validate.OneOf(p.PULLED_KINDS))
    # Ids and stamps are never typed text: no NUL (PostgreSQL's text cannot hold one) or other
    # control character.
    i = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(_NO_CONTROL))
    h = fields.String(required=True, validate=validate.Length(19, 19))
    b = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(_NO_CONTROL))
    f = fields.Dict(
        required=True,
        metadata={"description": "the record's fields, as its kind's schema names them"},
    )


_CHANGE_KEYS = frozenset("qkihbf")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Kinds that only flow down are named too, so pushing one refuses that change, not the batch.
_KINDS = frozenset(p.PULLED_KINDS)


def canonical_change(change: object) -> dict[str, object] | None:
    """The change itself when it is already what ChangeSchema would load (an absent "i" or
    "b" reads as None); else None.

    A push carries thousands of changes; checking the common, well-formed case in plain Python
    and leaving only odd ones to the schema (which names what is wrong) keeps pushes fast.
    """
    if type(change) is not dict or not change.keys() <= _CHANGE_KEYS:
        return None
    seq, kind, stamp = change.get("q"), change.get("k"), change.get("h")
    if type(seq) is not int or not 1 <= seq < 2**62 or type(kind) is not str or kind not in _KINDS:
        return None
    if type(stamp) is not str or len(stamp) != 19 or type(change.get("f")) is not dict:
        return None
    record_id, base = change.get("i"), change.get("b")
    if (record_id is not None and (type(record_id) is not str or _CONTROL.search(record_id))) or (
        base is not None and (type(base) is not str or _CONTROL.search(base))
    ):
        return None
    return change


class PushRequestSchema(Schema):
    """A push: {"changes": [Change, ...]}. The server checks each change itself (a quick path
    for the usual ones); this schema describes the body and names what is missing."""

    class Meta:
        unknown = EXCLUDE

    changes = fields.List(
        fields.Nested(ChangeSchema),
        required=True,
        metadata={
            "description": "每个变更的序号 q 在一批中只出现一次 / each change's sequence number q "
            "appears once in a batch (a batch with a repeated q is answered 422)"
        },
    )


class PushAnswerSchema(Schema):
    q = fields.Integer(required=True)
    s = fields.String(required=True, validate=validate.OneOf(p.STATUSES))
    r = fields.String()
    e = fields.Dict()
    c = fields.List(fields.String())
    x = fields.Dict()


class PushResponseSchema(Schema):
    # Ranges [first, last] of sequences applied as sent; everything else is answered one by one.
    applied = fields.List(fields.List(fields.Integer()), required=True)
    answers = fields.List(fields.Nested(PushAnswerSchema), required=True)
    server_hlc = fields.String(required=True)
    device_max_seq = fields.Integer(required=True)


class PullQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    cursor = fields.Integer(load_default=0, validate=validate.Range(0, 2**62))
    limit = fields.Integer(load_default=p.DEFAULT_PULL_PAGE, validate=validate.Range(1, 5000))
    include_own = fields.Boolean(load_default=False)


class PullResponseSchema(Schema):
    records = fields.List(fields.Dict(), required=True)
    cursor = fields.Integer(required=True)
    more = fields.Boolean(required=True)
    full_resync = fields.Boolean(required=True)
    device_max_seq = fields.Integer(required=True)
    server_hlc = fields.String(required=True)
    # Last page only: changes the server holds for this device, and how many in all.
    held = fields.List(fields.Dict())
    held_count = fields.Integer()
    # Sent with a page holding other envoys' farmers: the key of the hash beside their masked
    # mobiles, so the device can check a typed number against it.
    mobile_key = fields.String()
    # Only when the device asked for it (HEADER_WANT_CHECKIN_KEY).
    checkin_key = fields.String()
