"""Reading a page's query string or form through a marshmallow schema, with errors named by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError

from shared.errors import TianjianError
from shared.marshmallow_zh import bilingual, one_line


class InvalidInput(TianjianError):
    status = 422
    message = "输入有误 / invalid input"


def load(schema: Schema, values: Mapping[str, Any]) -> dict[str, Any]:
    """Blank fields count as not given; the CSRF token is not part of any schema."""
    data = {key: value for key, value in values.items() if key != "csrf_token" and value != ""}
    try:
        return dict(schema.load(data))
    except ValidationError as exc:
        messages = bilingual(exc.normalized_messages())
        raise InvalidInput(f"输入有误 / invalid input: {one_line(messages)}", messages) from exc
