"""Reading a page's query string or form through a marshmallow schema, with errors named by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError

from shared.errors import TianjianError
from shared.marshmallow_zh import bilingual


class InvalidInput(TianjianError):
    status = 422
    message = "输入有误 / invalid input"


def load(schema: Schema, values: Mapping[str, Any]) -> dict[str, Any]:
    """Blank fields count as not given; the CSRF token is not part of any schema."""
    data = {key: value for key, value in values.items() if key != "csrf_token" and value != ""}
    try:
        return dict(schema.load(data))
    except ValidationError as exc:
        english = exc.normalized_messages()
        listed = "; ".join(f"{field}: {reason}" for field, reason in english.items())
        # The page shows the message's Chinese half and each field's reason in its language.
        raise InvalidInput(f"输入有误 / invalid input: {listed}", bilingual(english)) from exc
