"""A page's table shown, or downloaded as CSV or XLSX (?format=csv|xlsx), masked by role."""

from __future__ import annotations

import io
from typing import Any

from flask import render_template, request, send_file
from werkzeug.wrappers import Response

from server.accounts.access import current_user
from server.files.page_tables import Table
from server.files.spreadsheets import table_csv, table_xlsx
from server.web.forms import InvalidInput

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def shown(table: Table) -> Table:
    """Mobile numbers in full for admins only."""
    user = current_user()
    return table.masked(bool(user and user.is_admin))


def download(table: Table, fmt: str) -> Response:
    from server.files.page_tables import file_stem

    table = shown(table).for_files()
    if fmt == "csv":
        data, mimetype = table_csv(table).encode("utf-8"), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        data, mimetype = table_xlsx(table), XLSX
    else:
        raise InvalidInput("导出格式须为 csv 或 xlsx / format must be csv or xlsx", {"format": fmt})
    return send_file(
        io.BytesIO(data),
        mimetype=mimetype,
        as_attachment=True,
        download_name=f"{file_stem(table)}.{fmt}",
    )


def table_page(template: str, tables: dict[str, Table], **context: Any) -> Any:
    """Render the page, or send one of its tables as a file when ?format= asks for it."""
    fmt = request.args.get("format")
    if fmt:
        name = request.args.get("table") or next(iter(tables))
        if name not in tables:
            raise InvalidInput("没有这个表 / no such table", {"table": name})
        return download(tables[name], fmt)
    return render_template(
        template, tables={key: shown(value) for key, value in tables.items()}, **context
    )
