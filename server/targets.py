"""The year's targets: for a unit (county, township, village) or an envoy, set one by one or loaded
from CSV, XLSX or YAML, absolute or as growth on last year; and the monthly profile of the work.

A target is a row of `targets` (synced down to devices as reference data): `value` with a
comparator (">" strictly more than, e.g. 超过; ">=" at least, e.g. 不少于/以上), or, when
`basis` is 'growth', `growth_percent` on last year's actual for the same unit or envoy
("同比增长 10%": at least 110% of last year's figure).

The monthly profile says what share of the year's work should be done by the end of each month
(12 cumulative shares, the last 1). Admins set one per year, for every indicator or for one;
without one the work is expected evenly through the year, day by day.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema
from sqlite_utils import Database

from server.db import next_server_seq, write_transaction
from shared.clock import CHINA, to_iso, utc_now
from shared.errors import TianjianError
from shared.indicators import BY_KEY, COMPARATORS, INDICATOR_KEYS, INDICATORS
from shared.schemas.types import DivisionCode, Id

GROWTH = "growth"
VALUE = "value"


class InvalidTarget(TianjianError):
    """A target (or a line of a targets file, or a profile) cannot be accepted; nothing was saved."""

    status = 422
    message = "目标有误，未保存 / invalid target, nothing saved"


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
        if last_year_actual is None or self.growth_percent is None:
            return None
        return round(last_year_actual * (1 + self.growth_percent / 100), 2)

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
        raise InvalidTarget(errors={"unit_code": "没有这个单位 / no such unit"})
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
            "INSERT OR REPLACE INTO targets (id, year, unit_code, indicator, comparator, value, "
            "basis, growth_percent, envoy_id, server_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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


def set_target(db: Database, data: dict[str, Any]) -> Target:
    """Set (or replace) one target from a page's form; InvalidTarget names each bad field."""
    loaded = validate_target(db, data)
    with write_transaction(db):
        [target] = _write(db, [loaded])
    return target


def delete_target(db: Database, target_id_: str) -> bool:
    """Remove one target; False when there was none. Devices drop it on their next full pull."""
    with write_transaction(db):
        cursor = db.execute("DELETE FROM targets WHERE id = ?", [target_id_])
    return cursor.rowcount > 0


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


def list_targets(db: Database, year: int) -> list[Target]:
    return [
        _from_row(row)
        for row in db.query(
            "SELECT * FROM targets WHERE year = ? ORDER BY unit_code, envoy_id, indicator", [year]
        )
    ]


# ---------------------------------------------------------------- files


# Column headers a county's spreadsheet uses, with the English ones also accepted.
HEADERS = {
    "年度": "year",
    "年份": "year",
    "year": "year",
    "指标": "indicator",
    "indicator": "indicator",
    "比较": "comparator",
    "comparator": "comparator",
    "目标值": "value",
    "目标": "value",
    "value": "value",
    "单位代码": "unit_code",
    "unit_code": "unit_code",
    "特派员": "envoy",
    "envoy": "envoy",
    "同比增长": "growth_percent",
    "growth_percent": "growth_percent",
}


def _rows_of_table(path: str) -> list[dict[str, Any]]:
    if path.lower().endswith(".xlsx"):
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        lines = [list(row) for row in sheet.iter_rows(values_only=True)]
        book.close()
    else:
        raw = Path(path).read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            # Excel on a Chinese Windows PC saves "CSV" as GBK.
            raise InvalidTarget(
                "不是 UTF-8 编码，请另存为 CSV UTF-8 / not UTF-8: save as CSV UTF-8",
                {"file": "encoding"},
            ) from exc
        lines = [list(row) for row in csv.reader(io.StringIO(text))]
    lines = [line for line in lines if any(cell not in (None, "") for cell in line)]
    if not lines:
        return []
    header = [HEADERS.get(str(cell or "").strip(), str(cell or "").strip()) for cell in lines[0]]
    unknown = [name for name in header if name and name not in HEADERS.values()]
    if unknown or "indicator" not in header:
        raise InvalidTarget(
            "表头应为 指标, 比较, 目标值, 单位代码（可加 年度, 特派员） / headers must be "
            f"指标, 比较, 目标值, 单位代码 (and optionally 年度, 特派员); found {header}",
            {"header": f"unknown columns: {unknown}" if unknown else "no 指标 column"},
        )
    rows = []
    for line in lines[1:]:
        row = {}
        for name, cell in zip(header, line, strict=False):
            if name and cell not in (None, ""):
                # Spreadsheets hand codes over as numbers; the schema wants text.
                row[name] = (
                    str(int(cell))
                    if isinstance(cell, float) and cell.is_integer()
                    else str(cell).strip()
                )
        rows.append(row)
    return rows


def _rows_of_yaml(path: str) -> list[dict[str, Any]]:
    text = Path(path).read_text(encoding="utf-8-sig")
    try:
        raw = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidTarget(f"不是有效的 YAML/JSON / not valid YAML/JSON: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("targets"), list):
        raise InvalidTarget(
            "文件应有 year, unit_code, targets / the file needs year, unit_code and targets",
            {"targets": "required"},
        )
    rows = []
    for line in raw["targets"]:
        row = {
            "year": raw.get("year"),
            "unit_code": raw.get("unit_code"),
            "envoy": raw.get("envoy"),
        }
        row.update(line if isinstance(line, dict) else {"indicator": line})
        rows.append(row)
    return rows


def _envoy_id(db: Database, text: str) -> str | None:
    row = db.execute("SELECT id FROM envoys WHERE id = ? OR name = ?", [text, text]).fetchone()
    return row[0] if row else None


def load_targets_file(db: Database, path: str, year: int | None = None) -> int:
    """Load a targets file (.csv / .xlsx with Chinese headers, or .yaml / .json); all or nothing.

    Every line is checked before any is written; InvalidTarget lists each bad line and field."""
    if path.lower().endswith((".csv", ".xlsx")):
        rows = _rows_of_table(path)
        first_line = 2
    else:
        rows = _rows_of_yaml(path)
        first_line = 1
    good, problems = [], {}
    for number, row in enumerate(rows, start=first_line):
        row = dict(row)
        envoy = row.pop("envoy", None)
        if envoy:
            found = _envoy_id(db, str(envoy))
            if found is None:
                problems[f"line {number}"] = f"envoy: 没有这位特派员 / no such envoy: {envoy}"
                continue
            row["envoy_id"] = found
            row.pop("unit_code", None)
        if row.get("year") in (None, "") and year is not None:
            row["year"] = year
        try:
            good.append(validate_target(db, row))
        except InvalidTarget as exc:
            problems[f"line {number}"] = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
    if problems:
        raise InvalidTarget(
            f"{path}: " + "; ".join(f"{k}: {v}" for k, v in list(problems.items())[:20]), problems
        )
    if not good:
        raise InvalidTarget(f"{path}: 文件中没有目标 / no targets in the file", {"file": "empty"})
    with write_transaction(db):
        return len(_write(db, good))


# ---------------------------------------------------------------- the monthly profile


def even_profile(year: int) -> list[float]:
    """Share of the year passed at the end of each month, day by day (the default profile)."""
    start = datetime(year, 1, 1, tzinfo=CHINA)
    length = (datetime(year + 1, 1, 1, tzinfo=CHINA) - start).days
    shares = []
    for month in range(1, 13):
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=CHINA)
        shares.append(round((end - start).days / length, 6))
    return shares


class ProfileSchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(2000, 2200))
    indicator = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(INDICATOR_KEYS, error="未知的指标 / unknown indicator"),
    )
    shares = fields.List(
        fields.Float(validate=validate.Range(0, 100)),
        required=True,
        validate=validate.Length(equal=12, error="应有 12 个月的数值 / give 12 monthly shares"),
    )

    @pre_load
    def _label(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and data.get("indicator"):
            data = {**data, "indicator": _indicator(data["indicator"])}
        return data

    @validates_schema
    def _cumulative(self, data: dict[str, Any], **_: Any) -> None:
        shares = data["shares"]
        # Percent or fraction; what matters is the shape.
        if any(b < a for a, b in zip(shares, shares[1:], strict=False)):
            raise ValidationError(
                "各月累计比例应逐月不减 / shares must not fall from month to month", "shares"
            )
        if shares[-1] <= 0:
            raise ValidationError(
                "12 月的累计比例应为全年 / December must hold the whole year", "shares"
            )


def set_profile(
    db: Database, year: int, shares: list[float], indicator: str | None = None
) -> list[float]:
    """Set the cumulative share expected by each month's end (in % or fractions; scaled so
    December is the whole year), for every indicator or one. Returns the stored fractions."""
    try:
        loaded = ProfileSchema().load({"year": year, "shares": shares, "indicator": indicator})
    except ValidationError as exc:
        raise InvalidTarget(
            "月度进度比例有误 / invalid monthly profile", _field_errors(exc)
        ) from exc
    last = loaded["shares"][-1]
    fractions = [round(share / last, 6) for share in loaded["shares"]]
    with write_transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO target_profiles (year, indicator, shares, set_at) VALUES (?, ?, ?, ?)",
            [year, loaded["indicator"] or "", json.dumps(fractions), to_iso(utc_now())],
        )
    return fractions


def clear_profile(db: Database, year: int, indicator: str | None = None) -> None:
    with write_transaction(db):
        db.execute(
            "DELETE FROM target_profiles WHERE year = ? AND indicator = ?", [year, indicator or ""]
        )


def profiles_for(db: Database, year: int) -> dict[str, list[float]]:
    """Each indicator's profile for a year: its own, else the year's, else even through the year."""
    stored = {
        row[0]: json.loads(row[1])
        for row in db.execute(
            "SELECT indicator, shares FROM target_profiles WHERE year = ?", [year]
        )
    }
    default = stored.get("", even_profile(year))
    return {key: stored.get(key, default) for key in INDICATOR_KEYS}


def expected_share(profile: list[float], year: int, now: datetime) -> float:
    """The share of the year's work the profile expects by `now` (linear within a month)."""
    local = now.astimezone(CHINA)
    if local.year < year:
        return 0.0
    if local.year > year:
        return 1.0
    month = local.month
    start = datetime(year, month, 1, tzinfo=CHINA)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=CHINA)
    before = profile[month - 2] if month > 1 else 0.0
    within = (local - start) / (end - start)
    return round(before + (profile[month - 1] - before) * within, 6)
