"""Named exceptions turned into one clear line and exit status 1 on either command line."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import click

# A message is a template (`{exc}` is the exception) or a function of the exception.
Describe = str | Callable[[Any], str]


def describe(messages: Mapping[type[Exception], Describe], exc: Exception) -> str:
    """The message of the first entry `exc` is an instance of."""
    template = next(d for kind, d in messages.items() if isinstance(exc, kind))
    return template.format(exc=exc) if isinstance(template, str) else template(exc)


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
                raise click.ClickException(describe(messages, exc)) from exc

        return wrapper

    return decorate


def friendly_group(messages: Mapping[type[Exception], Describe]) -> type[click.Group]:
    """A click.Group class whose every command, however deeply nested, answers the listed
    exceptions with one clear line (`@click.group(cls=friendly_group(MESSAGES))` on the root).

    The first matching entry wins, so list specific exceptions before their bases.
    """

    class FriendlyGroup(click.Group):
        def invoke(self, ctx: click.Context) -> Any:
            try:
                return super().invoke(ctx)
            except tuple(messages) as exc:
                raise click.ClickException(describe(messages, exc)) from exc

    return FriendlyGroup
