"""The README documents every command of tianjian-field, and no command that does not exist."""

from __future__ import annotations

from field_client.cli import cli
from tests.docs import command_paths, readme_commands


def test_readme_lists_every_field_command_once() -> None:
    documented = readme_commands("tianjian-field")
    assert sorted(documented) == sorted(set(documented)), "a command is listed twice"
    assert set(documented) == set(command_paths(cli))
