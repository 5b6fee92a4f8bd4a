"""What every tianjian-field command shares: the error map, the root group's behaviour, coded
choices typed in Chinese, and the context holding the device's store."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import click
import requests

from field_client.listing import Listing
from field_client.store import FieldStore
from field_client.sync import DeviceRevoked, SyncFailed
from shared import cli_errors
from shared.choices import (
    CHECKIN_METHOD_LABELS,
    GENDER_LABELS,
    PLOT_STAGE_LABELS,
    RECORD_KINDS,
    SESSION_KIND_LABELS,
    InvalidChoice,
    parse_choice,
    words,
)
from shared.errors import InvalidRecord, TianjianError
from shared.marshmallow_zh import one_line


def errors_text(errors: Mapping[str, object]) -> str:
    return one_line(dict(errors))


FRIENDLY_ERRORS: dict[type[Exception], Callable[[Any], str]] = {
    InvalidRecord: lambda exc: (
        f"{words(RECORD_KINDS, exc.kind).zh}无效 / invalid {exc.kind}: {errors_text(exc.errors)}"
    ),
    # Its message says what happened and that nothing was lost, in both languages.
    SyncFailed: str,
    DeviceRevoked: lambda exc: f"设备已被撤销，请重新登记 / device revoked: {exc}",
    TianjianError: str,
    UnicodeError: lambda exc: (
        f"文字含无法保存的字符 / the text has characters that cannot be stored: {exc.reason}"
    ),
    sqlite3.Error: lambda exc: (
        f"无法打开或读写本机数据库（--db） / cannot use the database file: {exc}"
    ),
    OSError: lambda exc: f"无法读写文件 / cannot read or write a file: {exc}",
    requests.RequestException: lambda exc: f"无法连接服务器 / cannot reach the server: {exc}",
}


class FieldGroup(cli_errors.BilingualGroup):
    """The root group: `--json` may come anywhere, and every command's errors are one line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `tianjian-field list farmers --json` as well as `tianjian-field --json list farmers`.
        end = args.index("--") if "--" in args else len(args)
        if "--json" in args[:end]:
            args = ["--json", *(a for i, a in enumerate(args) if a != "--json" or i >= end)]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        return cli_errors.friendly_errors(FRIENDLY_ERRORS)(super().invoke)(ctx)


class Labelled(click.ParamType):
    """A coded choice typed as its Chinese name or its code (进村培训 or village_training)."""

    def __init__(self, labels: Mapping[str, str], field: str) -> None:
        self.labels = labels
        self.field = field
        self.name = field

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self.labels.values()) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return parse_choice(self.labels, str(value), self.field)
        except InvalidChoice as exc:
            self.fail(str(exc), param, ctx)


KIND = Labelled(SESSION_KIND_LABELS, "kind")
GENDER = Labelled(GENDER_LABELS, "gender")
STAGE = Labelled(PLOT_STAGE_LABELS, "stage")
METHOD = Labelled(CHECKIN_METHOD_LABELS, "method")
TIME_HELP = "如 2026-11-20 09:00、2026/11/20 9:00、11月20日 9:00（中国时间）"
DAY_HELP = "如 2026-11-20、11月20日、今天"


class Context:
    def __init__(self, db_path: str, as_json: bool) -> None:
        self.db_path = db_path
        self.as_json = as_json
        self._store: FieldStore | None = None

    @property
    def store(self) -> FieldStore:
        if self._store is None:
            self._store = FieldStore(self.db_path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def out(self, data: Any, text: str) -> None:
        click.echo(json.dumps(data, ensure_ascii=False) if self.as_json else text)


pass_ctx = click.make_pass_decorator(Context)


def printed_id(ctx: Context, record_id: str) -> None:
    ctx.out({"id": record_id}, record_id)


def table_text(table: Listing) -> str:
    headers = [header for _key, header in table.columns]
    cells = [[row.get(key, "") for key, _header in table.columns] for row in table.rows]
    widths = [
        max(_width(text) for text in [header, *(line[i] for line in cells)])
        for i, header in enumerate(headers)
    ]
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(text + " " * (widths[i] - _width(text)) for i, text in enumerate(line)).rstrip()
        for line in lines
    )


def _width(text: str) -> int:
    """Columns a text takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
