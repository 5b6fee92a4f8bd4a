"""Every server command, group and option explains itself Chinese first (中文 / English)."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from server.cli import cli


def _walk(command: click.Command, name: str) -> Iterator[tuple[str, click.Command]]:
    yield name, command
    if isinstance(command, click.Group):
        for sub, child in command.commands.items():
            yield from _walk(child, f"{name} {sub}")


ALL_COMMANDS = list(_walk(cli, "tianjian-server"))


def _chinese_first(text: str) -> bool:
    first = text.strip()[:1]
    return bool(first) and ("\u4e00" <= first <= "\u9fff" or first in "（“《")


@pytest.mark.parametrize(("name", "command"), ALL_COMMANDS, ids=[n for n, _ in ALL_COMMANDS])
def test_help_texts_are_chinese_first(name: str, command: click.Command) -> None:
    if name != "tianjian-server":  # the root's help names the product in both scripts already
        assert _chinese_first(command.help or ""), f"{name}: {command.help!r}"
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help" and param.help:
            assert _chinese_first(param.help), f"{name} {param.opts}: {param.help!r}"
