"""Targets from files: CSV or XLSX with a county's Chinese headers (指标, 比较, 目标值, 单位代码,
and 年度, 特派员 if wanted), or today's YAML/JSON; every line checked before any is written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from server.accounts import audit
from server.files import file_limits
from server.plan.targets import (
    InvalidTarget,
    _write,
    audit_file,
    check_not_provincial,
    reasons_text,
    target_id,
    target_text,
    validate_target,
)
from server.store.db import write_transaction

if TYPE_CHECKING:
    from server.accounts.users import User

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


def _rows_of_table(path: str, name: str) -> list[dict[str, Any]]:
    lines: list[list[Any]] = file_limits.table_rows(path, name)
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


def _rows_of_yaml(path: str, name: str) -> list[dict[str, Any]]:
    raw = file_limits.read_structured(path, name)
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


def load_targets_file(
    db: Database,
    path: str,
    year: int | None = None,
    by: User | str = audit.SYSTEM,
    source: str | None = None,
) -> int:
    """Load a targets file (.csv / .xlsx with Chinese headers, or .yaml / .json); all or nothing.

    Every line is checked before any is written; InvalidTarget lists each bad line and field.
    One audit entry names the file (`source`, else `path`) and every target it set."""
    if path.lower().endswith((".csv", ".xlsx")):
        rows = _rows_of_table(path, source or path)
        first_line = 2
    else:
        rows = _rows_of_yaml(path, source or path)
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
            problems[f"line {number}"] = reasons_text(exc.errors)
    if problems:
        raise InvalidTarget(
            f"目标文件有误，未保存 / bad file, nothing saved: {source or path}: "
            + "; ".join(f"{k}: {v}" for k, v in list(problems.items())[:20]),
            problems,
        )
    if not good:
        raise InvalidTarget(
            f"{source or path}: 文件中没有目标 / no targets in the file", {"file": "empty"}
        )
    with write_transaction(db):
        check_not_provincial(db, [target_id(t) for t in good])
        audit_file(db, by, source or path, {target_id(t): target_text(t) for t in good})
        return len(_write(db, good))
