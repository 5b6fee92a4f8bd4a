"""What the README documents, read back for tests (as sqlite-utils' test_docs does)."""

from __future__ import annotations

import re
from pathlib import Path

import click

README = Path(__file__).resolve().parent.parent / "README.md"
_COMMAND_WORD = re.compile(r"^[a-z][a-z-]*$")


def command_paths(command: click.Command, path: tuple[str, ...] = ()) -> list[str]:
    """Every command a person can run, as typed after the program's name ("session new").

    A group that runs without a subcommand (`checkin --session ...`) counts as a command too.
    """
    found = []
    if path and (not isinstance(command, click.Group) or command.invoke_without_command):
        found.append(" ".join(path))
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += command_paths(sub, (*path, name))
    return found


def readme_commands(program: str) -> list[str]:
    """The commands the README's table for `program` lists (first cell of each row).

    The table is the one under the heading that starts with "### `program"; a row's command is
    the leading lowercase words of its first cell, before any argument or option.
    """
    text = README.read_text(encoding="utf-8")
    heading = re.search(rf"^### `{re.escape(program)}\b.*$", text, re.MULTILINE)
    assert heading, f"README has no section for {program}"
    section = text[heading.end() :]
    end = re.search(r"^##", section, re.MULTILINE)
    section = section[: end.start()] if end else section
    commands = []
    for cell in re.findall(r"^\| `([^`]+)`", section, re.MULTILINE):
        words = []
        for word in cell.split():
            if not _COMMAND_WORD.match(word):
                break
            words.append(word)
        commands.append(" ".join(words))
    return commands
