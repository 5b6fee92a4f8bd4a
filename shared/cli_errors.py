"""Named exceptions turned into one clear line and exit status 1 on either command line."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import click

# A message is a template (`{exc}` is the exception) or a function of the exception.
Describe = str | Callable[[Any], str]


def friendly_errors(
    messages: Mapping[type[Exception], Describe],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a click command so the listed exceptions never reach the user as a traceback.

    The first matching entry wins, so list specific exceptions before their bases.
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except tuple(messages) as exc:
                describe = next(d for kind, d in messages.items() if isinstance(exc, kind))
                text = describe.format(exc=exc) if isinstance(describe, str) else describe(exc)
                raise click.ClickException(text) from exc

        return wrapper

    return decorate
