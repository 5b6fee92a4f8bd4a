"""The year's targets: for a unit (county, township, village) or an envoy, set one by one or loaded
from CSV, XLSX or YAML, absolute or as growth on last year.

A target is a row of `targets` (synced down to devices as reference data): `value` with a
comparator (">" strictly more than, e.g. 超过; ">=" at least, e.g. 不少于/以上), or, when
`basis` is 'growth', `growth_percent` on last year's actual for the same unit or envoy
("同比增长 10%": at least 110% of last year's figure).

Loading from files: server/plan/target_files.py; the monthly profile: server/plan/profiles.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema
from sqlite_utils import Database

from server.accounts import audit
from server.store.db import in_chunks, next_server_seq, write_transaction
from server.store.province_rows import check_not_owned
from shared import protocol as p
from shared.errors import TianjianError
from shared.indicators import BY_KEY, COMPARATORS, INDICATOR_KEYS, INDICATORS, growth_target
from shared.schemas.types import DivisionCode, Id

if TYPE_CHECKING:
    from server.accounts.users import User

GROWTH = "growth"
VALUE = "value"


class InvalidTarget(TianjianError):
    """A target (or a line of a targets file, or a profile) cannot be accepted; nothing was saved."""

    status = 422
    message = "目标有误，未保存 / invalid target, nothing saved"

    def __init__(self, message: str | None = None, errors: dict[str, Any] | None = None) -> None:
        # Given only the fields' reasons, the message names each field and why, so a page's
        # banner, a CLI line and an API body all say what to fix, not just "invalid target".
        if message is None and errors:
            message = f"目标有误，未保存：{reasons_text(errors)} / invalid target, nothing saved"
        super().__init__(message, errors)


def check_not_provincial(db: Database, ids: list[str]) -> None:
    """ProvinceOwned for the first of these targets the province set (server/store/province_rows.py)."""
    check_not_owned(db, p.TARGET, ids)


# Each target field as a person calls it, for messages (the reasons say the rest in both).
FIELD_WORDS = {
    "year": ("年度", "year"),
    "indicator": ("指标", "indicator"),
    "comparator": ("比较", "comparator"),
    "value": ("目标值", "value"),
    "growth_percent": ("同比增长", "growth percent"),
    "unit_code": ("单位代码", "unit code"),
    "envoy_id": ("特派员", "envoy"),
}


# Words a bureau's plan uses for each comparator ("超过3000人次", "不少于5000份", "8次以上").
COMPARATOR_WORDS = {
    ">": ">",
    "＞": ">",
    "超过": ">",
    "大于": ">",
    "多于": ">",
    ">=": ">=",
    "≥": ">=",
    "＞＝": ">=",
    "不少于": ">=",
    "不低于": ">=",
    "以上": ">=",
    "至少": ">=",
    "达到": ">=",
}


def reasons_text(errors: dict[str, Any]) -> str:
    """Each bad field by its Chinese name with its reason: "目标值：目标值应为数字 / ..."."""
    return "；".join(
        f"{FIELD_WORDS.get(name, (name, name))[0]}：{reason}" for name, reason in errors.items()
    )


LABELS = {indicator.label_zh: indicator.key for indicator in INDICATORS}
LABELS.update({indicator.label_zh.split("（")[0]: indicator.key for indicator in INDICATORS})
GROWTH_TEXT = re.compile(r"^(?:同比)?(?:增长|增加|提高|\+)\s*([0-9]+(?:\.[0-9]+)?)\s*[%％]$")


def _indicator(value: Any) -> Any:
    if value is None:
        return None
    text = str(value).strip()
    return LABELS.get(text, text)


class TargetInputSchema(Schema):
    """One target as a page form, a file line or an API body gives it."""

    year = fields.Integer(
        required=True,
        validate=validate.Range(2000, 2200, error="年度应在 2000-2200 之间 / year out of range"),
        error_messages={"required": "请填写年度 / year is required"},
    )
    indicator = fields.String(
        required=True,
        validate=validate.OneOf(INDICATOR_KEYS, error="未知的指标 / unknown indicator"),
        error_messages={"required": "请选择指标 / indicator is required"},
    )
    comparator = fields.String(
        load_default=">=",
        validate=validate.OneOf(COMPARATORS, error="比较应为 > 或 >= / comparator must be > or >="),
    )
    value = fields.Float(
        allow_none=True,
        load_default=None,
        validate=validate.Range(0, 1e12, error="目标值应为非负数 / value must be 0 or more"),
        error_messages={"invalid": "目标值应为数字 / value must be a number"},
    )
    growth_percent = fields.Float(
        allow_none=True,
        load_default=None,
        validate=validate.Range(-100, 10_000, error="增长率超出范围 / growth out of range"),
        error_messages={"invalid": "增长率应为数字 / growth must be a number"},
    )
    unit_code = DivisionCode(allow_none=True, load_default=None)
    envoy_id = Id(allow_none=True, load_default=None)

    @pre_load
    def _words(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if v not in ("", None)}
        if "indicator" in data:
            data["indicator"] = _indicator(data["indicator"])
        if "comparator" in data:
            data["comparator"] = COMPARATOR_WORDS.get(
                str(data["comparator"]).strip(), data["comparator"]
            )
        value = data.get("value")
        if isinstance(value, str):
            text = value.strip().replace(",", "").replace("，", "")
            growth = GROWTH_TEXT.match(text)
            if growth:
                data.pop("value")
                data["growth_percent"] = growth.group(1)
            else:
                data["value"] = text
        percent = data.get("growth_percent")
        if isinstance(percent, str):
            # A 同比增长 column may say "10%", "同比增长 10%" or just "10".
            text = percent.strip()
            growth = GROWTH_TEXT.match(text)
            data["growth_percent"] = growth.group(1) if growth else text.rstrip("%％").strip()
        return data

    @validates_schema
    def _one_of_each(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, str] = {}
        if (data.get("unit_code") is None) == (data.get("envoy_id") is None):
            errors["unit_code"] = (
                "请填写单位代码或特派员（二选一） / give a unit code or an envoy, not both"
            )
        if (data.get("value") is None) == (data.get("growth_percent") is None):
            errors["value"] = (
                "请填写目标值或同比增长率（二选一） / give a value or a growth percent, not both"
            )
        if errors:
            raise ValidationError(errors)


@dataclass(frozen=True)
class Target:
    """One stored target (basis 'value' or 'growth')."""

    id: str
    year: int
    indicator: str
    comparator: str
    value: float | None
    basis: str = VALUE
    growth_percent: float | None = None
    unit_code: str | None = None
    envoy_id: str | None = None

    def resolved(self, last_year_actual: float | None) -> float | None:
        """The number to reach: the value, or last year's actual grown by the percent."""
        if self.basis != GROWTH:
            return self.value
        return growth_target(last_year_actual, self.growth_percent)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "year": self.year,
            "indicator": self.indicator,
            "label_zh": BY_KEY[self.indicator].label_zh,
            "comparator": self.comparator,
            "value": self.value,
            "basis": self.basis,
            "growth_percent": self.growth_percent,
            "unit_code": self.unit_code,
            "envoy_id": self.envoy_id,
        }


def _field_errors(exc: ValidationError) -> dict[str, str]:
    messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
    out = {}
    for name, reasons in messages.items():
        out[str(name)] = (
            "; ".join(str(r) for r in reasons) if isinstance(reasons, list) else str(reasons)
        )
    return out


def validate_target(db: Database, data: dict[str, Any]) -> dict[str, Any]:
    """A target's fields checked (schema, then that its unit or envoy exists); InvalidTarget if not."""
    try:
        loaded: dict[str, Any] = TargetInputSchema().load(data)
    except ValidationError as exc:
        raise InvalidTarget(errors=_field_errors(exc)) from exc
    if (
        loaded["unit_code"]
        and not db.execute("SELECT 1 FROM units WHERE code = ?", [loaded["unit_code"]]).fetchone()
    ):
        raise InvalidTarget(
            errors={"unit_code": f"没有这个单位 {loaded['unit_code']} / no such unit"}
        )
    if (
        loaded["envoy_id"]
        and not db.execute("SELECT 1 FROM envoys WHERE id = ?", [loaded["envoy_id"]]).fetchone()
    ):
        raise InvalidTarget(errors={"envoy_id": "没有这位特派员 / no such envoy"})
    return loaded


def target_id(loaded: dict[str, Any]) -> str:
    if loaded.get("envoy_id"):
        return f"{loaded['year']}:envoy:{loaded['envoy_id']}:{loaded['indicator']}"
    return f"{loaded['year']}:{loaded['unit_code']}:{loaded['indicator']}"


def _write(db: Database, targets: list[dict[str, Any]]) -> list[Target]:
    """Upsert validated targets inside the caller's write transaction."""
    seq = next_server_seq(db, len(targets))
    stored = []
    for offset, loaded in enumerate(targets):
        basis = GROWTH if loaded["growth_percent"] is not None else VALUE
        target = Target(
            id=target_id(loaded),
            year=loaded["year"],
            indicator=loaded["indicator"],
            comparator=loaded["comparator"],
            value=loaded["value"],
            basis=basis,
            growth_percent=loaded["growth_percent"],
            unit_code=loaded["unit_code"],
            envoy_id=loaded["envoy_id"],
        )
        db.execute(
            "INSERT INTO targets (id, year, unit_code, indicator, comparator, value, basis, "
            "growth_percent, envoy_id, server_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET year = excluded.year, unit_code = excluded.unit_code, "
            "indicator = excluded.indicator, comparator = excluded.comparator, "
            "value = excluded.value, basis = excluded.basis, "
            "growth_percent = excluded.growth_percent, envoy_id = excluded.envoy_id, "
            "server_seq = excluded.server_seq",
            [
                target.id,
                target.year,
                target.unit_code,
                target.indicator,
                target.comparator,
                target.value,
                target.basis,
                target.growth_percent,
                target.envoy_id,
                seq + offset,
            ],
        )
        stored.append(target)
    return stored


def target_text(target: dict[str, Any]) -> str:
    """A target in a few characters for the audit log: ">= 3000" or "+10%" (growth)."""
    if target.get("growth_percent") is not None:
        return f"+{target['growth_percent']:g}%"
    value = target.get("value")
    return f"{target.get('comparator')} {value:g}" if value is not None else "—"


def _logged(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    keys = ("year", "indicator", "unit_code", "envoy_id", "comparator", "value", "growth_percent")
    return {key: row.get(key) for key in keys}


def _stored(db: Database, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for chunk, marks in in_chunks(ids):
        found.update(
            (row["id"], row)
            for row in db.query(f"SELECT * FROM targets WHERE id IN ({marks})", chunk)
        )
    return found


def audit_file(db: Database, by: User | str, source: str, new: dict[str, str]) -> None:
    """Log a targets file about to be written (`new`: target id -> target_text), with the
    targets it replaces, inside the caller's write transaction: one entry per file."""
    old = {key: target_text(row) for key, row in _stored(db, list(new)).items()}
    audit.record(db, by, audit.TARGET_UPLOAD, "targets_file", source, old or None, new)


def set_target(db: Database, data: dict[str, Any], by: User | str = audit.SYSTEM) -> Target:
    """Set (or replace) one target from a page's form; InvalidTarget names each bad field."""
    loaded = validate_target(db, data)
    with write_transaction(db):
        check_not_provincial(db, [target_id(loaded)])
        before = _stored(db, [target_id(loaded)]).get(target_id(loaded))
        [target] = _write(db, [loaded])
        audit.record(
            db,
            by,
            audit.TARGET_SET,
            "target",
            target.id,
            _logged(before),
            _logged(target.as_dict()),
        )
    return target


def delete_target(db: Database, target_id_: str, by: User | str = audit.SYSTEM) -> bool:
    """Remove one target; False when there was none (nothing logged). Devices drop it on their
    next full pull."""
    with write_transaction(db):
        before = _stored(db, [target_id_]).get(target_id_)
        if before is None:
            return False
        check_not_provincial(db, [target_id_])
        db.execute("DELETE FROM targets WHERE id = ?", [target_id_])
        audit.record(db, by, audit.TARGET_DELETE, "target", target_id_, _logged(before), None)
    return True


def _from_row(row: dict[str, Any]) -> Target:
    return Target(
        id=row["id"],
        year=row["year"],
        indicator=row["indicator"],
        comparator=row["comparator"],
        value=row["value"],
        basis=row.get("basis") or VALUE,
        growth_percent=row.get("growth_percent"),
        unit_code=row["unit_code"],
        envoy_id=row.get("envoy_id"),
    )


def targets_for(
    db: Database, year: int, unit_code: str | None = None, envoy_id: str | None = None
) -> dict[str, Target]:
    """The targets set for exactly this unit (or envoy) in a year, by indicator."""
    if envoy_id:
        rows = db.query("SELECT * FROM targets WHERE year = ? AND envoy_id = ?", [year, envoy_id])
    else:
        rows = db.query(
            "SELECT * FROM targets WHERE year = ? AND unit_code = ? AND envoy_id IS NULL",
            [year, unit_code],
        )
    return {row["indicator"]: _from_row(row) for row in rows}


def targets_by_owner(
    db: Database, year: int, owners: list[str], envoys: bool = False
) -> dict[str, dict[str, Target]]:
    """Targets of many units (or envoys) at once, for a breakdown: {owner: {indicator: target}}."""
    column = "envoy_id" if envoys else "unit_code"
    out: dict[str, dict[str, Target]] = {}
    for start in range(0, len(owners), 500):
        chunk = owners[start : start + 500]
        marks = ",".join("?" * len(chunk))
        extra = "" if envoys else " AND envoy_id IS NULL"
        for row in db.query(
            f"SELECT * FROM targets WHERE year = ? AND {column} IN ({marks}){extra}", [year, *chunk]
        ):
            out.setdefault(row[column], {})[row["indicator"]] = _from_row(row)
    return out


def target_by_id(db: Database, target_id_: str) -> Target | None:
    """One stored target, or None."""
    row = _stored(db, [target_id_]).get(target_id_)
    return _from_row(row) if row else None


def list_targets(db: Database, year: int) -> list[Target]:
    return [
        _from_row(row)
        for row in db.query(
            "SELECT * FROM targets WHERE year = ? ORDER BY unit_code, envoy_id, indicator", [year]
        )
    ]
