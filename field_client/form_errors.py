"""Every refusal of a form's fields gathered into one error, so five bad fields take one save."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from field_client.names import AmbiguousName, UnknownName
from shared.errors import InvalidRecord, TianjianError
from shared.schemas.field import validate_fields

T = TypeVar("T")


@dataclass
class Gathered:
    """The refusals met while turning a form's text into a record's values, by field."""

    kind: str
    errors: dict[str, object] = field(default_factory=dict)
    first: TianjianError | None = None
    # The values whose reading failed: left out of the schema's check.
    failed: set[str] = field(default_factory=set)

    def take(self, name: str, make: Callable[..., T], *args: Any) -> T | None:
        """make(*args), or None with its refusal noted under the field(s) it names."""
        try:
            return make(*args)
        except TianjianError as exc:
            self.first = self.first or exc
            self.failed.add(name)
            # A name not found or fitting several says which in its message; others per field.
            whole = isinstance(exc, (UnknownName, AmbiguousName))
            for key, why in (exc.errors or {name: exc.message}).items():
                self.errors.setdefault(key, exc.message if whole else why)
            return None

    def raise_any(self, values: dict[str, Any]) -> None:
        """Raise every refusal at once: those noted, and the schema's on the values read."""
        if not self.errors:
            return
        rest = {k: v for k, v in values.items() if k not in self.failed and v is not None}
        try:
            validate_fields(self.kind, rest)
        except InvalidRecord as exc:
            for key, why in exc.errors.items():
                self.errors.setdefault(key, why)
        else:
            if len(self.errors) == 1 and self.first is not None:
                # One refusal alone keeps its own words (the matches of an ambiguous name).
                raise self.first
        raise InvalidRecord(self.kind, self.errors)
