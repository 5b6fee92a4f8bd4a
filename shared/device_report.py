"""What a device says it holds, sent with every sync request: written by the field client, read
(and refused when malformed) by the server. One compact text, so a no-op sync stays under 1 KB.

    c=1234,session=12/1/1,attendance=300/5/4/1/2

`c` is the device's pull cursor when it counted; each field kind has up to five numbers
separated by "/", trailing zeros left out: live (records of the device's own envoy it holds,
not deleted), waiting (unsent changes of the kind in its outbox), new (live records among them
the server has never had: their create is unsent), gone (records deleted on the device whose
deletion is unsent: the server still counts them) and refused (new records the server refused,
kept in the device's rejected list). A kind with all five zero is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared import protocol as p
from shared.errors import TianjianError

# The numbers of each kind, in the order they are sent.
PARTS: Final = ("live", "waiting", "new", "gone", "refused")
# A report longer than this is refused: eight kinds of five ten-digit numbers fit inside.
MAX_LENGTH: Final = 640
MAX_COUNT: Final = 10**9
CURSOR: Final = "c"
# The header's grammar as a regular expression, for the API's document: the cursor first, then
# the kinds in the order encode() writes them, each at most once. Stricter than decode() (which
# takes any order and spaces around items), never looser: tests/shared/test_device_report.py.
_COUNT = "(1000000000|[0-9]{1,9})"
PATTERN: Final = (
    f"^{CURSOR}=[0-9]{{1,18}}"
    + "".join(f"(,{kind}={_COUNT}(/{_COUNT}){{0,4}})?" for kind in p.FIELD_KINDS)
    + "$"
)


@dataclass(frozen=True)
class KindCounts:
    """One field kind's numbers in a device's report (see the module's docstring)."""

    live: int = 0
    waiting: int = 0
    new: int = 0
    gone: int = 0
    refused: int = 0

    def numbers(self) -> tuple[int, int, int, int, int]:
        return (self.live, self.waiting, self.new, self.gone, self.refused)

    @property
    def holds(self) -> int:
        """What the device holds of the kind: its live records and the refused new ones it keeps."""
        return self.live + self.refused


@dataclass(frozen=True)
class DeviceReport:
    """A device's report: its pull cursor and the numbers of each field kind."""

    cursor: int = 0
    kinds: dict[str, KindCounts] = field(default_factory=dict)

    def of(self, kind: str) -> KindCounts:
        return self.kinds.get(kind, KindCounts())

    @property
    def waiting(self) -> int:
        """Every change waiting in the outbox, all kinds."""
        return sum(counts.waiting for counts in self.kinds.values())

    def encode(self) -> str:
        items = [f"{CURSOR}={self.cursor}"]
        for kind in p.FIELD_KINDS:
            numbers = list(self.of(kind).numbers())
            while numbers and numbers[-1] == 0:
                numbers.pop()
            if numbers:
                items.append(f"{kind}={'/'.join(str(n) for n in numbers)}")
        return ",".join(items)

    def as_dict(self) -> dict[str, object]:
        return {
            "cursor": self.cursor,
            "kinds": {
                kind: dict(zip(PARTS, counts.numbers(), strict=True))
                for kind, counts in self.kinds.items()
            },
        }


class BadDeviceReport(TianjianError):
    """The report header is not what a field client sends."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"设备报告头 {p.HEADER_DEVICE_REPORT} 无效 / {p.HEADER_DEVICE_REPORT} header is "
            f"malformed: {reason}",
            {p.HEADER_DEVICE_REPORT: [reason]},
        )


_TOO_BIG = f"每个数至多 {MAX_COUNT} / each number at most {MAX_COUNT}"


def _kind_field() -> fields.List[int]:
    return fields.List(
        fields.Integer(strict=True, validate=validate.Range(0, MAX_COUNT, error=_TOO_BIG)),
        validate=validate.Length(
            1, len(PARTS), error=f"至多 {len(PARTS)} 个数 / at most {len(PARTS)} numbers"
        ),
    )


class DeviceReportSchema(Schema):
    """The header's items, once split: the cursor and each kind's numbers."""

    class Meta:
        unknown = RAISE

    c = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(0, 2**62, error="游标过大 / cursor too large"),
        error_messages={
            "required": "缺少游标 c / the cursor c is missing",
            "invalid": "游标须为一个整数 / the cursor must be one whole number",
        },
    )
    farmer = _kind_field()
    session = _kind_field()
    attendance = _kind_field()
    leaflet_receipt = _kind_field()
    leaflet_handout = _kind_field()
    plot = _kind_field()
    plot_observation = _kind_field()
    photo = _kind_field()


_schema = DeviceReportSchema()


def decode(text: str) -> DeviceReport:
    """The report a header carries, or BadDeviceReport naming what is wrong with it."""
    if len(text) > MAX_LENGTH:
        raise BadDeviceReport(f"超过 {MAX_LENGTH} 个字符 / longer than {MAX_LENGTH} characters")
    if not text.isascii():
        raise BadDeviceReport("只能是 ASCII 字符 / ASCII characters only")
    raw: dict[str, object] = {}
    for item in text.split(","):
        key, sign, value = item.strip().partition("=")
        if not sign or not key:
            raise BadDeviceReport(f"应为 名称=数值 / expected name=value, not {item[:40]!r}")
        if key in raw:
            raise BadDeviceReport(f"{key} 出现两次 / {key} appears twice")
        if key not in _schema.fields:
            raise BadDeviceReport(f"未知的项 / unknown item {key[:40]!r}")
        numbers: list[object] = []
        for part in value.split("/"):
            if not (part.isdigit() and 0 < len(part) <= 19):
                raise BadDeviceReport(f"{key}: 须为非负整数 / must be whole numbers, not {value!r}")
            numbers.append(int(part))
        raw[key] = numbers[0] if key == CURSOR and len(numbers) == 1 else numbers
    try:
        loaded = _schema.load(raw)
    except ValidationError as exc:
        messages = exc.messages
        name, reasons = (
            next(iter(messages.items())) if isinstance(messages, dict) else ("", messages)
        )
        raise BadDeviceReport(f"{name}: {_first_reason(reasons)}") from exc
    kinds = {
        kind: KindCounts(*(list(loaded[kind]) + [0] * len(PARTS))[: len(PARTS)])
        for kind in p.FIELD_KINDS
        if kind in loaded
    }
    return DeviceReport(int(loaded["c"]), kinds)


def _first_reason(reasons: object) -> str:
    """The first message of marshmallow's (possibly nested) messages for one item."""
    while isinstance(reasons, dict | list) and reasons:
        reasons = next(iter(reasons.values())) if isinstance(reasons, dict) else reasons[0]
    return str(reasons)
